"""Writing a benchmark's figures into its own section of BENCHMARKS.md."""

from __future__ import annotations

from pathlib import Path

BENCHMARKS_MD = Path(__file__).resolve().parent.parent / "BENCHMARKS.md"
HEADER = "# Benchmarks\n\nProduced by the scripts in `benchmarks/`; each section says the command that reproduces it.\n"


def update_section(key: str, title: str, body: str, path: Path = BENCHMARKS_MD) -> None:
    """Replace the section marked `key` (or append it under `title`), leaving the rest."""
    text = path.read_text() if path.exists() else HEADER
    start, end = f"<!-- {key}:start -->", f"<!-- {key}:end -->"
    block = f"{start}\n{body}\n{end}"
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip() + f"\n\n## {title}\n\n{block}\n"
    path.write_text(text)
