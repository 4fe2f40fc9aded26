"""The local stack's snapshot file is replaced in one step: a crash at any moment leaves a whole snapshot."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from infra.dynamodb import snapshot

BEFORE: snapshot.Tables = {"cards": [{"card_id": {"S": "card-1"}, "valid_until": {"S": "2026-12-03"}}]}
AFTER: snapshot.Tables = {"cards": [{"card_id": {"S": "card-1"}, "valid_until": {"S": "2027-03-03"}}]}


def _saved(folder: Path) -> Any:
    return json.loads((folder / snapshot.FILE_NAME).read_text(encoding="utf-8"))


def test_a_crash_before_the_new_snapshot_is_on_disk_leaves_the_old_one_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert snapshot.write(tmp_path, BEFORE) == 1

    def power_cut(fd: int) -> None:
        raise OSError("the disk went away")

    monkeypatch.setattr(os, "fsync", power_cut)
    with pytest.raises(OSError, match="went away"):
        snapshot.write(tmp_path, AFTER)
    assert _saved(tmp_path) == {"format": snapshot.FORMAT, "tables": BEFORE}
    assert [p.name for p in tmp_path.iterdir()] == [snapshot.FILE_NAME]  # the half-written copy is gone too


def test_the_new_snapshot_is_flushed_to_disk_before_it_takes_the_old_ones_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    snapshot.write(tmp_path, BEFORE)
    steps: list[str] = []
    fsync, replace = os.fsync, os.replace

    def noting_fsync(fd: int) -> None:
        steps.append("flush folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "flush file")
        fsync(fd)

    def noting_replace(source: Any, target: Any) -> None:
        new = json.loads(Path(source).read_text(encoding="utf-8"))
        steps.append(f"rename over {Path(target).name}" if new["tables"] == AFTER else "rename something else")
        replace(source, target)

    monkeypatch.setattr(os, "fsync", noting_fsync)
    monkeypatch.setattr(os, "replace", noting_replace)
    snapshot.write(tmp_path, AFTER)
    assert steps == ["flush file", f"rename over {snapshot.FILE_NAME}", "flush folder"]
    assert _saved(tmp_path)["tables"] == AFTER


def test_a_first_snapshot_makes_its_folder_and_counts_the_items(tmp_path: Path) -> None:
    folder = tmp_path / "new" / "data"
    assert snapshot.write(folder, {"cards": AFTER["cards"] * 3, "lots": []}) == 3
    assert _saved(folder)["tables"]["cards"] == AFTER["cards"] * 3
