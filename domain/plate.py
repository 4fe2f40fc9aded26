"""Chinese licence plates: normalise what an owner typed, or say exactly what is wrong.

Shapes (GA 36-2018):
- ordinary, 7 characters: province, issuing-authority letter, 5 of A-Z/0-9;
- new-energy, 8 characters: province, letter, then D/F and 5 more (small
  cars: D/F, a letter or digit, 4 digits) or 5 digits and D/F (large cars);
- special, 7 characters: province, letter, 4 of A-Z/0-9, and one of
  学 (driving school), 警 (police), 挂 (trailer), 港/澳 (cross-border),
  领 (consulate), 使 (embassy).
I and O are never used: they would read as 1 and 0.
"""

from __future__ import annotations

import re
import unicodedata

from domain.errors import InvalidPlate

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
SPECIAL_SUFFIXES = "学警挂港澳领使"
_SEPARATORS = re.compile(r"[\s·•・.\-_]+")
_SERIAL = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
_SMALL_NEW_ENERGY = re.compile(r"[DF][A-HJ-NP-Z0-9][0-9]{4}")
_LARGE_NEW_ENERGY = re.compile(r"[0-9]{5}[DF]")


def normalise_plate(text: str) -> str:
    """Return the plate as stored (upper case, no spaces or dots), or raise InvalidPlate naming the problem."""
    # NFKC turns full-width letters and digits (common from Chinese keyboards) into ASCII ones.
    plate = _SEPARATORS.sub("", unicodedata.normalize("NFKC", text)).upper()
    if not plate:
        raise InvalidPlate("plate_empty")
    if plate[0] not in PROVINCES:
        raise InvalidPlate("plate_province", found=plate[0])
    if len(plate) < 2 or not ("A" <= plate[1] <= "Z"):
        raise InvalidPlate("plate_authority")
    for found, meant in (("I", "1"), ("O", "0")):
        if found in plate[2:]:
            raise InvalidPlate("plate_letter", found=found, meant=meant)
    if len(plate) == 7:
        return _seven(plate)
    if len(plate) == 8:
        return _new_energy(plate)
    raise InvalidPlate("plate_length", length=len(plate))


def plate_part(text: str) -> str:
    """Any part of a plate as plates are stored (`粤b 123` -> `粤B123`): for finding plates that contain it."""
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", text)).upper()


def _seven(plate: str) -> str:
    body, last = plate[2:6], plate[6]
    bad = [c for c in body if c not in _SERIAL]
    if bad:
        raise InvalidPlate("plate_serial", found=bad[0])
    if last not in _SERIAL and last not in SPECIAL_SUFFIXES:
        raise InvalidPlate("plate_suffix", suffixes="".join(SPECIAL_SUFFIXES), found=last)
    return plate


def _new_energy(plate: str) -> str:
    serial = plate[2:]
    if _SMALL_NEW_ENERGY.fullmatch(serial) or _LARGE_NEW_ENERGY.fullmatch(serial):
        return plate
    raise InvalidPlate("plate_new_energy")
