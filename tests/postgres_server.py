"""A real PostgreSQL server for the tests, from Debian's `postgresql` package.

Started once per test session in a temporary directory (initdb, then pg_ctl): its data
directory and unix socket there, TCP on loopback at a free port, trust authentication
for the one superuser `framemesh`, and no fsync (a test server's data dies with it).
PostgreSQL refuses to run as root: as root, both commands run as the `postgres`
system user the package creates (runuser), who owns the temporary directory.
Each test gets a schema of its own (`fresh_url`), so tests never see each other's rows.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

USER = "framemesh"


def find_bin(name: str) -> Path | None:
    """A PostgreSQL server program: on PATH, or in Debian's versioned directory (newest)."""
    found = shutil.which(name)
    if found:
        return Path(found)
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    return Path(candidates[-1]) if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PostgresServer:
    root: Path
    port: int
    _run_as: list[str]
    _pg_ctl: Path

    @property
    def url(self) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/postgres"

    @classmethod
    def start(cls) -> PostgresServer:
        initdb, pg_ctl = find_bin("initdb"), find_bin("pg_ctl")
        if initdb is None or pg_ctl is None:
            raise FileNotFoundError("no initdb/pg_ctl: apt-get install postgresql")
        root = Path(tempfile.mkdtemp(prefix="framemesh-pg-"))
        run_as: list[str] = []
        if os.geteuid() == 0:  # postgres will not run as root: as the package's system user
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError("running as root and no `postgres` user to run PostgreSQL as "
                                   "(Debian's postgresql package creates it)") from None
            os.chown(root, owner.pw_uid, owner.pw_gid)
            run_as = ["runuser", "-u", "postgres", "--"]
        server = cls(root, _free_port(), run_as, pg_ctl)
        try:
            server._run([str(initdb), "-D", str(root / "data"), "-U", USER, "-A", "trust", "--no-sync",
                         "--locale=C", "-E", "UTF8"])
            options = (f"-c listen_addresses=127.0.0.1 -p {server.port} -k {root} -c fsync=off"
                       " -c synchronous_commit=off -c full_page_writes=off -c max_connections=300")
            server._run([str(pg_ctl), "start", "-w", "-t", "60", "-D", str(root / "data"), "-l", str(root / "log"),
                         "-o", options])
        except BaseException:
            server.stop()
            raise
        return server

    def _run(self, command: list[str]) -> None:
        done = subprocess.run([*self._run_as, *command], capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            log = (self.root / "log").read_text() if (self.root / "log").exists() else ""
            raise RuntimeError(f"{command[0]} failed ({done.returncode}): {done.stderr.strip()}\n{log[-2000:]}")

    def fresh_url(self) -> str:
        """The URL of an empty schema of its own (the stores' tables go there)."""
        import psycopg

        schema = "t_" + uuid.uuid4().hex[:16]
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        return f"{self.url}?options=-csearch_path%3D{schema}"

    def stop(self) -> None:
        if (self.root / "data" / "postmaster.pid").exists():
            subprocess.run([*self._run_as, str(self._pg_ctl), "stop", "-m", "immediate", "-D", str(self.root / "data")],
                           capture_output=True, timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)
