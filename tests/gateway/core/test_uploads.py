"""The gateway's uploads to the object store, against a real S3 server (SeaweedFS): a
durable "to upload" row per output, stored byte for byte, and a store that does not
answer costs nothing but time: one clear error, back-off, the file kept on disk."""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from pathlib import Path

import pytest

from framemesh.gateway.core.uploads import Uploader, UploadStore, backoff
from framemesh.storage import LocalFolder, open_store


def _outputs(tmp_path: Path) -> tuple[Path, list[Path]]:
    root = tmp_path / "outputs"
    files = []
    for rel, data in (("job1/index.m3u8", b"#EXTM3U\n"), ("job1/720p/seg_00000.mp4", b"\x00\x01" * 5000),
                      ("ai/j2/image-0.png", b"\x89PNG")):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        files.append(path)
    return root, files


def _dead_endpoint() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def test_backoff_doubles_up_to_its_most() -> None:
    assert [backoff(n, 1.0, 10.0) for n in (0, 1, 2, 3, 4, 5)] == [1.0, 1.0, 2.0, 4.0, 8.0, 10.0]


def test_every_output_is_stored_byte_for_byte(s3_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bucket = s3_server.bucket(f"u-{uuid.uuid4().hex[:12]}")
    root, files = _outputs(tmp_path)
    records = UploadStore(tmp_path / "gateway.sqlite")
    uploader = Uploader(open_store(s3_server.location(bucket), root), records, root)

    async def go() -> None:
        await uploader.add(files)
        assert records.waiting() == 3 and not uploader.stored("job1/index.m3u8")
        assert await uploader.pass_once() > 0  # nothing due afterwards: it sleeps until woken

    asyncio.run(go())
    client = s3_server.client()
    for path in files:
        key = path.relative_to(root).as_posix()
        assert uploader.stored(key)
        assert client.get_object(Bucket=bucket, Key=key)["Body"].read() == path.read_bytes()
    assert records.waiting() == 0 and uploader.uploaded == 3


def test_a_store_that_is_down_keeps_the_files_and_uploads_them_once_back(
    s3_server, tmp_path: Path, caplog: pytest.LogCaptureFixture,  # type: ignore[no-untyped-def]
) -> None:
    bucket = s3_server.bucket(f"u-{uuid.uuid4().hex[:12]}")
    root, files = _outputs(tmp_path)
    records = UploadStore(tmp_path / "gateway.sqlite")
    down = open_store(f"s3://{bucket}?endpoint={_dead_endpoint()}", root)
    uploader = Uploader(down, records, root, first_delay=0.5, max_delay=4.0)

    async def outage() -> list[float]:
        await uploader.add(files)
        return [await uploader.pass_once() for _ in range(4)]

    with caplog.at_level(logging.ERROR, logger="framemesh.gateway"):
        pauses = asyncio.run(outage())
    assert pauses == [0.5, 1.0, 2.0, 4.0]  # backed off, never past its most
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 4 and "unreachable" in errors[0] and "3 output(s) wait on local disk" in errors[0]
    assert all(path.is_file() for path in files) and records.waiting() == 3
    assert not any(uploader.stored(p.relative_to(root).as_posix()) for p in files)

    # A new gateway on the same file (a restart while the store was down), the store back.
    again = Uploader(open_store(s3_server.location(bucket), root), UploadStore(tmp_path / "gateway.sqlite"), root)
    asyncio.run(again.pass_once())
    assert again.records.waiting() == 0 and again.uploaded == 3
    assert s3_server.client().get_object(Bucket=bucket, Key="ai/j2/image-0.png")["Body"].read() == b"\x89PNG"


def test_a_file_gone_before_upload_is_dropped_with_a_warning(
    s3_server, tmp_path: Path, caplog: pytest.LogCaptureFixture,  # type: ignore[no-untyped-def]
) -> None:
    bucket = s3_server.bucket(f"u-{uuid.uuid4().hex[:12]}")
    root, files = _outputs(tmp_path)
    uploader = Uploader(open_store(s3_server.location(bucket), root), UploadStore(tmp_path / "g.sqlite"), root)

    async def go() -> None:
        await uploader.add(files)
        files[0].unlink()
        await uploader.pass_once()

    with caplog.at_level(logging.WARNING, logger="framemesh.gateway"):
        asyncio.run(go())
    assert uploader.records.waiting() == 0 and uploader.uploaded == 2
    assert "job1/index.m3u8 is no longer on disk" in caplog.text


def test_the_local_folder_uploads_nothing(tmp_path: Path) -> None:
    root, files = _outputs(tmp_path)
    records = UploadStore(tmp_path / "g.sqlite")
    uploader = Uploader(LocalFolder(root), records, root)
    asyncio.run(uploader.add(files))
    assert records.waiting() == 0 and not uploader.stored("job1/index.m3u8")


def test_the_upload_records_on_both_back_ends(records_db: Path | str) -> None:
    records = UploadStore(records_db)
    records.add(["a/b.mp4", "a/c.mp4", "ab/d.mp4"], now=1.0)
    assert records.waiting() == 3 and records.next_due() == 1.0
    records.failed("a/c.mp4", "unreachable", next_try=5.0)
    assert [(p.key, p.attempts) for p in records.due(2.0, 10)] == [("a/b.mp4", 0), ("ab/d.mp4", 0)]
    assert [(p.key, p.attempts, p.error) for p in records.due(5.0, 10)][-1] == ("a/c.mp4", 1, "unreachable")
    records.done("a/b.mp4", now=2.0)
    assert records.stored("a/b.mp4") and records.waiting() == 2
    records.add(["a/b.mp4"], now=3.0)  # rewritten: it goes up again
    assert not records.stored("a/b.mp4") and "a/b.mp4" in [p.key for p in records.due(3.0, 10)]
    records.forget("a/")
    assert records.waiting() == 1 and not records.stored("a/b.mp4"), "only the keys under a/ (not ab/)"
    records.close()


def test_retention_deletes_the_stores_copies_of_a_deleted_directory(s3_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from framemesh.gateway.core.retention import Janitor, Kept

    bucket = s3_server.bucket(f"u-{uuid.uuid4().hex[:12]}")
    root, files = _outputs(tmp_path)
    uploader = Uploader(open_store(s3_server.location(bucket), root), UploadStore(tmp_path / "g.sqlite"), root)

    async def go() -> None:
        await uploader.add(files)
        await uploader.pass_once()

    asyncio.run(go())

    class Ended:  # job1 ended long ago
        def delete_ended(self, before: float) -> list[str]:
            return ["job1"]

    janitor = Janitor([Kept(Ended(), lambda job_id: [root / job_id, tmp_path / "jobs" / job_id])],
                      retention=1.0, interval=1.0, forget=uploader.forget)
    assert janitor.sweep().jobs == 1
    listed = s3_server.client().list_objects_v2(Bucket=bucket).get("Contents", [])
    assert [o["Key"] for o in listed] == ["ai/j2/image-0.png"]
    assert not uploader.stored("job1/index.m3u8") and uploader.stored("ai/j2/image-0.png")
    assert not (root / "job1").exists()


def test_two_gateways_upload_their_own_files_and_fetch_each_others(s3_server, records_db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Several gateways on one database: each uploads what is on its disk (a row of
    another's is not its to drop), and fetches what another machine wrote, outputs and
    jobs' inputs (under work/) alike."""
    bucket = s3_server.bucket(f"u-{uuid.uuid4().hex[:12]}")

    def gateway(name: str) -> Uploader:
        root = tmp_path / name
        return Uploader(open_store(s3_server.location(bucket), root / "outputs"), UploadStore(records_db, holder=name),
                        root / "outputs", work_dir=root / "jobs")

    a, b = gateway("a"), gateway("b")
    output = a.outputs_dir / "ai" / "j1" / "image.png"
    source = a.work_dir / "j2" / "source.mp4"  # type: ignore[operator]
    for path, data in ((output, b"\x89PNG-a"), (source, b"source-a")):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    assert a.key(source) == "work/j2/source.mp4" and b.key(b.work_dir / "j2" / "source.mp4") == a.key(source)  # type: ignore[operator]

    async def go() -> None:
        await a.add([output, source])
        assert b.records.waiting() == 0, "a's rows are not b's to upload"
        await b.pass_once()
        assert a.records.waiting() == 2, "b left a's rows alone"
        await a.pass_once()

    asyncio.run(go())
    assert a.records.waiting() == 0 and a.uploaded == 2 and b.uploaded == 0
    here = b.outputs_dir / "ai" / "j1" / "image.png"
    assert b.fetch(here) and here.read_bytes() == b"\x89PNG-a"
    there = b.work_dir / "j2" / "source.mp4"  # type: ignore[operator]
    assert b.fetch(there) and there.read_bytes() == b"source-a"
    assert not b.fetch(b.outputs_dir / "ai" / "j1" / "other.png"), "nothing stored under that name"
    b.forget(b.work_dir / "j2")  # type: ignore[operator]
    assert b.records.keys("work/") == []
