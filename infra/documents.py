"""Where generated documents (invoice PDFs) are kept: a local folder, or an S3 bucket in the cloud."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any


class LocalDocuments:
    def __init__(self, folder: Path) -> None:
        self._folder = folder

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")  # two writers never share one
        temporary.write_bytes(data)
        temporary.replace(path)  # readers never see half a file

    def get(self, key: str) -> bytes | None:
        path = self._path(key)
        return path.read_bytes() if path.is_file() else None

    def _path(self, key: str) -> Path:
        path = (self._folder / key).resolve()
        if not path.is_relative_to(self._folder.resolve()):
            raise ValueError("a document key stays inside the documents folder")
        return path


class S3Documents:
    def __init__(self, bucket: str, client: Any) -> None:
        self._bucket = bucket
        self._s3 = client

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self._s3.put_object(Bucket=self._bucket, Key=key, Body=data, ContentType=content_type)

    def get(self, key: str) -> bytes | None:
        try:
            return self._s3.get_object(Bucket=self._bucket, Key=key)["Body"].read()  # type: ignore[no-any-return]
        except self._s3.exceptions.NoSuchKey:
            return None
