"""An S3-compatible object store through boto3 (SeaweedFS, MinIO, Ceph, R2, AWS): boto3
signs every request; nothing here builds a signature by hand.

Credentials come from boto3's usual sources (`AWS_ACCESS_KEY_ID`,
`AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, a profile). Connection failures and 5xx
answers become StoreUnreachable (try again later), anything else StoreError.
"""

from __future__ import annotations

from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, ConnectionClosedError

from framemesh.storage.content import content_type
from framemesh.storage.errors import StoreError, StoreUnreachable
from framemesh.storage.location import StoreLocation

# Uploads of one file at once: outputs are segments and images (MBs), never multipart-sized.
_SINGLE_PUT = 64 * 1024 * 1024


class S3Store:
    remote = True

    def __init__(self, location: StoreLocation) -> None:
        self.location = location
        self.bucket = location.bucket
        # Short timeouts and boto3's own retries off: the gateway's uploader retries with
        # back-off and keeps the file on disk meanwhile, so a dead store must fail fast.
        config = Config(
            connect_timeout=5, read_timeout=30, retries={"max_attempts": 1, "mode": "standard"},
            s3={"addressing_style": "path"}, signature_version="s3v4",
        )
        self.client = boto3.session.Session().client(
            "s3", endpoint_url=location.endpoint, region_name=location.region, config=config,
        )

    def describe(self) -> str:
        return str(self.location)

    def _key(self, key: str) -> str:
        return self.location.prefix + key

    def _fail(self, what: str, exc: Exception) -> StoreError:
        where = self.describe()
        if isinstance(exc, ClientError):
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            code = exc.response.get("Error", {}).get("Code", "?")
            if status >= 500:
                return StoreUnreachable(f"{what} on {where}: the store failed ({status} {code}); retried later")
            if code in ("NoSuchBucket",):
                return StoreError(f"{what} on {where}: bucket {self.bucket!r} does not exist; create it first")
            if code in ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
                return StoreError(f"{what} on {where}: refused ({code}); check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY")
            return StoreError(f"{what} on {where}: {status} {code}")
        if isinstance(exc, (EndpointConnectionError, ConnectionClosedError, BotoCoreError, OSError)):
            return StoreUnreachable(f"{what} on {where}: the store is unreachable ({exc}); retried later")
        return StoreError(f"{what} on {where}: {exc}")

    def check(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except Exception as exc:
            raise self._fail("checking the bucket", exc) from exc

    def put(self, key: str, path: Path) -> None:
        if path.stat().st_size > _SINGLE_PUT:
            put = lambda: self.client.upload_file(str(path), self.bucket, self._key(key))  # noqa: E731
        else:
            body = path.read_bytes()
            put = lambda: self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=body,  # noqa: E731
                                                 ContentType=content_type(key))
        try:
            put()
        except Exception as exc:
            raise self._fail(f"storing {key!r}", exc) from exc

    def get(self, key: str) -> bytes:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except Exception as exc:
            raise self._fail(f"reading {key!r}", exc) from exc

    def url(self, key: str) -> str | None:
        # Presigning is local (no request): it works while the store is down too.
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": self._key(key)}, ExpiresIn=self.location.expires,
        )

    def delete(self, prefix: str) -> int:
        deleted = 0
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self._key(prefix))
            for page in pages:
                keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
                if keys:
                    self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True})
                    deleted += len(keys)
        except Exception as exc:
            raise self._fail(f"deleting {prefix!r}", exc) from exc
        return deleted
