"""Pricing units: how much work a request is, counted the same way by gateway and
orchestrator (Livepeer's units), so a price per unit gives one price on both sides.

| pipeline        | unit                                           |
| --------------- | ---------------------------------------------- |
| text-to-image   | output pixels: height × width × images         |
| image-to-image  | output pixels: height × width × images         |
| image-to-video  | output pixels: height × width × frames × videos |
| upscale         | input pixels: height × width of the input image |
| audio-to-text   | milliseconds of input audio                    |
| text-to-speech  | characters of input text                       |
| llm             | tokens (prompt + completion)                   |

Pure: no I/O, no model imports. The callers measure the inputs (image size, audio
duration) with `framemesh.ai.media`, which both nodes use.
"""

from __future__ import annotations

import math


def image_units(width: int, height: int, num_images: int = 1) -> int:
    """Output pixels of an image job."""
    return _positive(width, "width") * _positive(height, "height") * _positive(num_images, "num_images")


def video_units(width: int, height: int, num_frames: int, num_videos: int = 1) -> int:
    """Output pixels of a video job: every frame of every video."""
    return image_units(width, height, num_images=num_videos) * _positive(num_frames, "num_frames")


def upscale_units(input_width: int, input_height: int) -> int:
    """Input pixels of an upscale job (the output size follows from the model)."""
    return image_units(input_width, input_height)


def audio_units(duration_seconds: float) -> int:
    """Milliseconds of input audio, rounded up (a started millisecond counts)."""
    if duration_seconds < 0 or math.isnan(duration_seconds):
        raise ValueError(f"duration must be >= 0 seconds, got {duration_seconds}")
    return math.ceil(duration_seconds * 1000 - 1e-9)


def speech_units(text: str) -> int:
    """Characters of text to speak (Unicode code points, as Python counts them)."""
    return len(text)


def llm_units(prompt_tokens: int, completion_tokens: int) -> int:
    """Tokens read plus tokens written."""
    if prompt_tokens < 0 or completion_tokens < 0:
        raise ValueError("token counts must be >= 0")
    return prompt_tokens + completion_tokens


def _positive(value: int, name: str) -> int:
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return value
