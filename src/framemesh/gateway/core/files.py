"""Files a client names by path (an output's provenance, a stream's segments): served
only from inside their folder, whatever the path says."""

from __future__ import annotations

from pathlib import Path


def file_under(root: Path, relative: str) -> Path | None:
    """The file at `relative` inside `root`, or None: a path that leads out (`..`, an
    absolute path, a symlink out of it), no file there, or a name no file can have (too
    long, a NUL byte). Blocking: call it off the event loop."""
    try:
        base = root.resolve()
        path = (base / relative).resolve()
        return path if path.is_relative_to(base) and path.is_file() else None
    except (OSError, ValueError):
        return None
