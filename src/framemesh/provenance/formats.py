"""Which files can carry a manifest here, by extension. Pure.

c2pa itself knows more types (PDF, HEIC, ...); these are the ones framemesh emits
and tests: images from AI pipelines, MP4 (plain and fragmented) from the transcoder
and video pipelines, audio from speech pipelines.
"""

from __future__ import annotations

from pathlib import Path

from .errors import UnsupportedFormat

MIME_TYPES: dict[str, str] = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".m4a": "audio/mp4",
    ".mov": "video/quicktime",
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
}


def supported() -> str:
    """The supported extensions, for messages."""
    return ", ".join(sorted(MIME_TYPES))


def mime_type(path: Path) -> str:
    """The MIME type c2pa is told for `path`; UnsupportedFormat if none."""
    suffix = Path(path).suffix.lower()
    try:
        return MIME_TYPES[suffix]
    except KeyError:
        what = f"{suffix!r} files" if suffix else "files without an extension"
        raise UnsupportedFormat(
            f"{Path(path).name}: {what} cannot carry a C2PA manifest here; supported: {supported()}"
        ) from None
