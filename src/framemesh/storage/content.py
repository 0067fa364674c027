"""The Content-Type of an output, by its name (what a player expects back from the store)."""

from __future__ import annotations

_TYPES = {".m3u8": "application/vnd.apple.mpegurl", ".mp4": "video/mp4", ".m4s": "video/iso.segment",
          ".ts": "video/mp2t", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
          ".webp": "image/webp", ".wav": "audio/wav", ".mp3": "audio/mpeg", ".json": "application/json"}


def content_type(key: str) -> str:
    """The Content-Type a player expects for an output, by its extension."""
    dot = key.rfind(".")
    return _TYPES.get(key[dot:].lower(), "application/octet-stream") if dot >= 0 else "application/octet-stream"
