"""The worker processes a node runs CPU work in (encoding, checks, C2PA), one way.

forkserver: a worker must not inherit the server's threads and locks. Each worker
watches the node that started it and exits when the node is gone: a node that dies
(SIGKILL, a crash) must not leave its workers behind holding memory, as the
executor's own machinery would (they block for ever on a queue nobody writes to).
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor

WATCH_SECONDS = 2.0


def worker_pool(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context("forkserver"), initializer=_watch_node, initargs=(os.getpid(),)
    )


def _watch_node(node: int) -> None:
    def watch() -> None:
        while True:
            time.sleep(WATCH_SECONDS)
            try:
                os.kill(node, 0)
            except ProcessLookupError:
                os._exit(0)  # the node is gone: nothing will ever ask this worker for work again
            except PermissionError:
                pass  # the pid exists (reused by another user's process): keep waiting

    threading.Thread(target=watch, name="node-watch", daemon=True).start()
