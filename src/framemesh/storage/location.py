"""Where an object store is, as an operator writes it (`--object-store`): pure parsing,
no I/O.

    s3://BUCKET?endpoint=URL[&region=NAME][&prefix=PATH][&expires=SECONDS]

The endpoint is any S3-compatible service (SeaweedFS, MinIO, Ceph, R2, AWS itself);
without one, boto3's own default (AWS) is used. Credentials are never part of it: they
come from the usual `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` environment variables
(or boto3's other sources), so a location can be printed and logged as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

# S3's own rule for bucket names: 3 to 63 lowercase letters, digits, dots and hyphens.
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_KNOWN = {"endpoint", "region", "prefix", "expires"}
DEFAULT_EXPIRES = 3600


@dataclass(frozen=True)
class StoreLocation:
    bucket: str
    endpoint: str | None = None
    region: str = "us-east-1"
    prefix: str = ""  # every key under it ("" or "path/", ending in a slash)
    expires: int = DEFAULT_EXPIRES  # seconds a presigned URL stays valid

    def __str__(self) -> str:
        query = [f"endpoint={self.endpoint}"] if self.endpoint else []
        if self.prefix:
            query.append(f"prefix={self.prefix}")
        return f"s3://{self.bucket}" + ("?" + "&".join(query) if query else "")


def parse_location(text: str) -> StoreLocation:
    """An `s3://BUCKET?endpoint=URL` location, checked; ValueError names what is wrong."""
    parts = urlsplit(text)
    if parts.scheme != "s3":
        raise ValueError(f"object store {text!r}: write s3://BUCKET?endpoint=URL (an S3-compatible service)")
    bucket = parts.netloc
    if not _BUCKET.match(bucket):
        raise ValueError(f"object store {text!r}: bucket {bucket!r} is not a valid S3 bucket name "
                         "(3-63 lowercase letters, digits, dots, hyphens)")
    if parts.path not in ("", "/"):
        raise ValueError(f"object store {text!r}: give a key prefix as ?prefix=PATH, not as a path")
    query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    unknown = sorted(set(query) - _KNOWN)
    if unknown:
        raise ValueError(f"object store {text!r}: unknown option(s) {unknown}; known: {sorted(_KNOWN)}")
    endpoint = query.get("endpoint") or None
    if endpoint is not None and not endpoint.startswith(("http://", "https://")):
        raise ValueError(f"object store {text!r}: endpoint {endpoint!r} is not an http(s) URL")
    if endpoint is not None and "@" in urlsplit(endpoint).netloc:
        raise ValueError("object store: the endpoint carries credentials; give them as AWS_ACCESS_KEY_ID and "
                         "AWS_SECRET_ACCESS_KEY instead (a location is printed and logged)")
    prefix = query.get("prefix", "").strip("/")
    try:
        expires = int(query.get("expires", DEFAULT_EXPIRES))
    except ValueError:
        raise ValueError(f"object store {text!r}: expires must be a whole number of seconds") from None
    # S3 signs URLs for at most 7 days.
    if not 60 <= expires <= 7 * 86400:
        raise ValueError(f"object store {text!r}: expires must be 60 s to 7 days, got {expires}")
    return StoreLocation(
        bucket=bucket, endpoint=endpoint.rstrip("/") if endpoint else None,
        region=query.get("region") or "us-east-1", prefix=prefix + "/" if prefix else "", expires=expires,
    )
