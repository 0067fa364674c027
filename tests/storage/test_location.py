"""`--object-store` locations: parsed and checked, with errors that say what to write."""

from __future__ import annotations

import pytest

from framemesh.storage import parse_location
from framemesh.storage.content import content_type


def test_a_location_with_every_option() -> None:
    loc = parse_location("s3://fm-outputs?endpoint=http://127.0.0.1:8333/&region=eu-west-1&prefix=/gw1/&expires=600")
    assert (loc.bucket, loc.endpoint, loc.region, loc.prefix, loc.expires) == (
        "fm-outputs", "http://127.0.0.1:8333", "eu-west-1", "gw1/", 600)
    assert str(loc) == "s3://fm-outputs?endpoint=http://127.0.0.1:8333&prefix=gw1/"


def test_defaults_are_aws_and_an_hour() -> None:
    loc = parse_location("s3://fm-outputs")
    assert (loc.endpoint, loc.region, loc.prefix, loc.expires) == (None, "us-east-1", "", 3600)


@pytest.mark.parametrize("text, words", [
    ("http://bucket", "s3://BUCKET"),
    ("s3://B", "not a valid S3 bucket name"),
    ("s3://Upper-Case", "not a valid S3 bucket name"),
    ("s3://bucket/some/path", "?prefix=PATH"),
    ("s3://bucket?endpoint=ftp://x", "not an http(s) URL"),
    ("s3://bucket?secret=1", "unknown option"),
    ("s3://bucket?endpoint=http://key:secret@127.0.0.1:9000", "AWS_ACCESS_KEY_ID"),
    ("s3://bucket?expires=soon", "whole number"),
    ("s3://bucket?expires=10", "60 s to 7 days"),
    ("s3://bucket?expires=999999999", "60 s to 7 days"),
])
def test_a_bad_location_says_what_is_wrong(text: str, words: str) -> None:
    with pytest.raises(ValueError, match=None) as caught:
        parse_location(text)
    assert words in str(caught.value)


def test_content_types_players_expect() -> None:
    assert content_type("j/720p/index.m3u8") == "application/vnd.apple.mpegurl"
    assert content_type("j/720p/seg_00001.MP4") == "video/mp4"
    assert content_type("ai/j/image-0.png") == "image/png"
    assert content_type("noextension") == "application/octet-stream"
