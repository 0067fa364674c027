"""CPU seconds read from /proc (Linux), for benchmarks whose processes share the cores:
a node and every process under it (its worker pools, their forkserver), and the whole
machine's busy time (which includes other people's work on a shared machine)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def _fields(pid: int) -> list[str] | None:
    """/proc/PID/stat after the command name (which may hold spaces): state is [0]."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # gone since it was listed
        return None
    return text[text.rindex(")") + 2:].split()


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit() and (fields := _fields(int(name))) is not None:
            children.setdefault(int(fields[1]), []).append(int(name))
    return children


def tree_cpu(roots: Iterable[int]) -> float:
    """User + system seconds of each root and everything under it, including children
    already reaped (their time is in their parent's cutime/cstime, so none is lost or
    counted twice when a worker exits between two readings)."""
    children = _children()
    todo, seen, ticks = list(roots), set(), 0
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        fields = _fields(pid)
        if fields is not None:
            ticks += sum(int(x) for x in fields[11:15])  # utime, stime, cutime, cstime
        todo += children.get(pid, [])
    return ticks / TICK


def own_cpu() -> float:
    """This process's user + system seconds, all its threads."""
    times = os.times()
    return times.user + times.system


def machine_busy() -> float:
    """Seconds of CPU the whole machine spent busy (all cores), since boot."""
    values = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return (sum(values[:8]) - idle) / TICK  # guest time is already in user
