"""The object store's two back ends against the same checks: the local folder, and a
real S3 server (SeaweedFS, started by the suite's `s3_server` fixture)."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path

import httpx
import pytest

from framemesh.storage import LocalFolder, StoreError, StoreUnreachable, open_store, parse_location


@pytest.fixture()
def bucket(s3_server) -> str:  # type: ignore[no-untyped-def]
    return s3_server.bucket(f"t-{uuid.uuid4().hex[:12]}")


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path: Path):  # type: ignore[no-untyped-def]
    if request.param == "local":
        return LocalFolder(tmp_path / "store")
    server = request.getfixturevalue("s3_server")
    name = server.bucket(f"t-{uuid.uuid4().hex[:12]}")
    return open_store(server.location(name), tmp_path / "unused")


def _file(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / "src" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_put_then_get_gives_the_same_bytes(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = bytes(range(256)) * 1000
    store.check()
    store.put("job1/720p/seg_00000.mp4", _file(tmp_path, "a.mp4", data))
    assert store.get("job1/720p/seg_00000.mp4") == data
    store.put("job1/720p/seg_00000.mp4", _file(tmp_path, "b.mp4", b"replaced"))
    assert store.get("job1/720p/seg_00000.mp4") == b"replaced"


def test_delete_takes_every_object_under_a_prefix_and_nothing_else(store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for key in ("job1/a.mp4", "job1/720p/b.mp4", "job10/c.mp4"):
        store.put(key, _file(tmp_path, key.replace("/", "_"), key.encode()))
    assert store.delete("job1/") == 2
    assert store.get("job10/c.mp4") == b"job10/c.mp4"
    with pytest.raises(StoreError):
        store.get("job1/a.mp4")


def test_a_missing_object_is_an_error_naming_it(store) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(StoreError, match="nothing-here"):
        store.get("nothing-here.png")


def test_the_local_folder_keeps_keys_inside_it(tmp_path: Path) -> None:
    folder = LocalFolder(tmp_path / "store")
    with pytest.raises(StoreError, match="leads out"):
        folder.put("../escape.txt", _file(tmp_path, "x", b"x"))
    assert not (tmp_path / "escape.txt").exists()
    assert folder.url("a.png") is None and folder.remote is False


def test_a_presigned_url_fetches_the_object_and_a_bare_one_does_not(s3_server, bucket: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store = open_store(s3_server.location(bucket) + "&expires=120", tmp_path)
    store.put("ai/j/image-0.png", _file(tmp_path, "i.png", b"\x89PNG-bytes"))
    url = store.url("ai/j/image-0.png")
    assert url is not None and "X-Amz-Expires=120" in url and "X-Amz-Signature=" in url
    answer = httpx.get(url)
    assert answer.status_code == 200 and answer.content == b"\x89PNG-bytes"
    assert answer.headers["content-type"] == "image/png"


def test_a_store_that_does_not_answer_is_unreachable_and_says_where(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = open_store(f"s3://fm-down?endpoint=http://127.0.0.1:{port}", tmp_path)
    with pytest.raises(StoreUnreachable, match=f"127.0.0.1:{port}.*retried later"):
        store.put("a.png", _file(tmp_path, "a.png", b"a"))
    with pytest.raises(StoreUnreachable):
        store.check()
    assert store.url("a.png") is not None  # presigning needs no request


def test_a_bucket_that_does_not_exist_is_an_error_an_operator_can_fix(s3_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store = open_store(s3_server.location(f"missing-{uuid.uuid4().hex[:8]}"), tmp_path)
    with pytest.raises(StoreError) as caught:
        store.check()
    assert not isinstance(caught.value, StoreUnreachable)


def test_location_round_trips_through_open_store(s3_server, bucket: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store = open_store(s3_server.location(bucket) + "&prefix=gw1", tmp_path)
    assert store.describe() == str(parse_location(s3_server.location(bucket) + "&prefix=gw1"))
    store.put("k.txt", _file(tmp_path, "k", b"under a prefix"))
    assert s3_server.client().get_object(Bucket=bucket, Key="gw1/k.txt")["Body"].read() == b"under a prefix"
