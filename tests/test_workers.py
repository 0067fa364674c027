"""A node's worker processes exit when the node dies, however it dies."""

from __future__ import annotations

import os
import subprocess
import sys
import time

NODE = """
import os, signal, sys
from pathlib import Path
from framemesh.workers import worker_pool
if __name__ == "__main__":
    pool = worker_pool(2)
    Path(sys.argv[1]).write_text(str(pool.submit(os.getpid).result()))
    os.kill(os.getpid(), signal.SIGKILL)  # a crash: no shutdown, no atexit
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as fh:  # a zombie is gone in all but name
        return fh.read().split(")")[-1].split()[0] != "Z"


def test_workers_exit_when_their_node_is_killed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    script = tmp_path / "node.py"
    script.write_text(NODE)
    pid_file = tmp_path / "worker.pid"
    node = subprocess.Popen([sys.executable, str(script), str(pid_file)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert node.wait(60) == -9
    worker = int(pid_file.read_text())
    deadline = time.monotonic() + 30
    while _alive(worker):
        assert time.monotonic() < deadline, f"worker {worker} outlived its node"
        time.sleep(0.2)
