"""Where received files are kept: a small interface (put, open, get, exists) over the local file
system (MEDIA_ROOT, default instance/media) or an S3-compatible bucket (MEDIA_S3_BUCKET).

Files are content-addressed: the key is the hex SHA-256 of the bytes, so storing the same file twice
(a retried job, a file two customers forwarded) keeps one copy, and a stored file never changes."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO, Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from flask import current_app

KEY = re.compile(r"[0-9a-f]{64}")


class StorageError(RuntimeError):
    """The storage could not be written or read (a full disk, the bucket unreachable): worth retrying."""


def key_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _checked(key: str) -> str:
    if not KEY.fullmatch(key):
        raise StorageError(f"not a media key: {key[:80]!r}")
    return key


class MediaStorage(Protocol):
    def put(self, data: bytes, mime_type: str) -> str:
        """Store the bytes (once); their key."""

    def open(self, key: str) -> BinaryIO:
        """The stored file, to read from (the caller closes it)."""

    def get(self, key: str) -> bytes:
        """The stored bytes."""

    def exists(self, key: str) -> bool: ...

    def local_path(self, key: str) -> Path | None:
        """The file on this machine's disk, when it is there (served with byte ranges); None otherwise."""


class LocalStorage:
    """Files named by their key in one folder; written to a temporary name, then renamed (a reader never
    sees half a file)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / _checked(key)

    def put(self, data: bytes, mime_type: str) -> str:
        key = key_of(data)
        path = self._path(key)
        if path.exists():
            return key
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.root, prefix=".incoming-")
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            os.replace(temporary, path)
        except OSError as exc:
            raise StorageError(f"could not store media in {self.root}: {exc}") from None
        return key

    def open(self, key: str) -> BinaryIO:
        try:
            return self._path(key).open("rb")
        except OSError as exc:
            raise StorageError(f"could not read media {key}: {exc}") from None

    def get(self, key: str) -> bytes:
        with self.open(key) as file:
            return file.read()

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def local_path(self, key: str) -> Path | None:
        return self._path(key)


class S3Storage:
    """Objects named by their key in one bucket of S3 or an S3-compatible service."""

    def __init__(self, bucket: str, *, endpoint_url: str = "", region: str = "") -> None:
        self.bucket = bucket
        self.client = boto3.client("s3", endpoint_url=endpoint_url or None, region_name=region or None,
                                   config=Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 2}))

    def put(self, data: bytes, mime_type: str) -> str:
        key = key_of(data)
        if self.exists(key):
            return key
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=mime_type)
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"could not store media in bucket {self.bucket}: {exc}") from None
        return key

    def open(self, key: str) -> BinaryIO:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=_checked(key))["Body"]
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"could not read media {key} from bucket {self.bucket}: {exc}") from None

    def get(self, key: str) -> bytes:
        with self.open(key) as body:
            return body.read()

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=_checked(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise StorageError(f"could not look up media {key} in bucket {self.bucket}: {exc}") from None
        except BotoCoreError as exc:
            raise StorageError(f"could not look up media {key} in bucket {self.bucket}: {exc}") from None
        return True

    def local_path(self, key: str) -> Path | None:
        return None


def storage() -> MediaStorage:
    """The app's media storage (made once per app, from the MEDIA_* settings)."""
    found = current_app.extensions.get("media.storage")
    if found is None:
        config = current_app.config
        if config.get("MEDIA_S3_BUCKET"):
            found = S3Storage(config["MEDIA_S3_BUCKET"], endpoint_url=config.get("MEDIA_S3_ENDPOINT_URL", ""),
                              region=config.get("MEDIA_S3_REGION", ""))
        else:
            root = Path(config.get("MEDIA_ROOT") or Path(current_app.instance_path) / "media")
            found = LocalStorage(root.resolve())
        current_app.extensions["media.storage"] = found
    return found
