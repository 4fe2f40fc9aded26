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
        raise InvalidPlate("the plate is empty")
    if plate[0] not in PROVINCES:
        raise InvalidPlate(f"a plate starts with a province character such as 粤 or 京, not {plate[0]!r}")
    if len(plate) < 2 or not ("A" <= plate[1] <= "Z"):
        raise InvalidPlate("the second character is the issuing authority's letter (A-Z)")
    for found, meant in (("I", "1"), ("O", "0")):
        if found in plate[2:]:
            raise InvalidPlate(f"plates never use the letter {found}; did you mean {meant}?")
    if len(plate) == 7:
        return _seven(plate)
    if len(plate) == 8:
        return _new_energy(plate)
    raise InvalidPlate(f"a plate has 7 characters (8 for new-energy cars), not {len(plate)}")


def _seven(plate: str) -> str:
    body, last = plate[2:6], plate[6]
    bad = [c for c in body if c not in _SERIAL]
    if bad:
        raise InvalidPlate(f"{bad[0]!r} cannot appear in a plate's serial (letters A-Z and digits only)")
    if last not in _SERIAL and last not in SPECIAL_SUFFIXES:
        raise InvalidPlate(f"a plate ends with a letter, a digit or one of {SPECIAL_SUFFIXES}, not {last!r}")
    return plate


def _new_energy(plate: str) -> str:
    serial = plate[2:]
    if _SMALL_NEW_ENERGY.fullmatch(serial) or _LARGE_NEW_ENERGY.fullmatch(serial):
        return plate
    raise InvalidPlate(
        "an 8-character (new-energy) plate has D or F third followed by a letter or digit and 4 digits, "
        "or 5 digits followed by D or F"
    )
