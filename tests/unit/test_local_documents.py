"""The local documents folder (invoices' PDFs): whole files only, and two writers of one key at once both land."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from infra.documents import LocalDocuments


def test_the_same_document_written_at_once_by_many_is_stored_whole_and_no_writer_fails(tmp_path: Path) -> None:
    """Found by a double-clicked manual invoice: both writers used one temporary name, so one rename failed."""
    docs = LocalDocuments(tmp_path)
    body = b"%PDF-1.4 " + b"x" * 100_000
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: docs.put("invoices/lot-a/o-1/0001.pdf", body, "application/pdf"), range(64)))
    assert docs.get("invoices/lot-a/o-1/0001.pdf") == body
    assert [p.name for p in (tmp_path / "invoices/lot-a/o-1").iterdir()] == ["0001.pdf"]  # nothing left behind


def test_a_key_cannot_leave_the_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        LocalDocuments(tmp_path / "docs").put("../outside.pdf", b"%PDF", "application/pdf")
