"""Files a client names by path (an output's provenance, a stream's segments): served
only from inside their folder, whatever the path says."""

from __future__ import annotations

from pathlib import Path


def file_under(root: Path, relative: str) -> Path | None:
    """The file at `relative` inside `root`, or None: a path that leads out (`..`, an
    absolute path, a symlink out of it), no file there, or a name no file can have (too
    long, a NUL byte). Blocking: call it off the event loop."""
    path = path_under(root, relative)
    try:
        return path if path is not None and path.is_file() else None
    except (OSError, ValueError):
        return None


def path_under(root: Path, relative: str) -> Path | None:
    """Where `relative` inside `root` is, whether a file is there or not (one another
    gateway's machine wrote, say); None for a path that leads out or cannot be."""
    try:
        base = root.resolve()
        path = (base / relative).resolve()
        return path if path.is_relative_to(base) else None
    except (OSError, ValueError):
        return None
