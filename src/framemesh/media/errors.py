"""Errors raised by `framemesh.media`.

One root, so a caller that only cares "did the media part fail?" catches one class,
and a finer split between "your input is bad" and "we failed on good input"::

    MediaError                  root of every error raised by framemesh.media
    ├── InvalidMediaError       the input is not a usable video (empty, truncated,
    │                           not a video container, no decodable video stream)
    ├── UnknownProfileError     a profile name is not one of PROFILES (also a
    │                           ValueError); the message lists the valid names
    └── TranscodeError          good-looking input that could not be encoded,
                                segmented or assembled

Servers map InvalidMediaError and UnknownProfileError to 4xx (the caller can fix
them) and TranscodeError to 5xx. Every message says what is wrong and what to do.
"""

from __future__ import annotations


class MediaError(Exception):
    """Root of every error raised by `framemesh.media`."""


class InvalidMediaError(MediaError):
    """The input is not a decodable video: send a different file."""


class UnknownProfileError(MediaError, ValueError):
    """A profile name is not known; the message lists the valid ones."""


class TranscodeError(MediaError):
    """Valid input that could not be processed (encoder, muxer or disk failure)."""
