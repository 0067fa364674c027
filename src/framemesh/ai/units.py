"""Pricing units: how much work a request is, counted the same way by gateway and
orchestrator (Livepeer's units), so a price per unit gives one price on both sides.

| pipeline        | unit                                           |
| --------------- | ---------------------------------------------- |
| text-to-image   | output pixels: height × width × images         |
| image-to-image  | output pixels: height × width × images         |
| image-to-video  | output pixels: height × width × frames × videos |
| upscale         | input pixels: height × width of the input image (× frames of a video) |
| mux             | milliseconds of the output                     |
| audio-to-text   | milliseconds of input audio                    |
| text-to-speech  | characters of input text                       |
| llm             | tokens (prompt + completion), see below        |

LLM: the gateway cannot count tokens (it has no model's tokenizer) and cannot know the
completion's length in advance, so an LLM job is paid for a bound and charged for what
it used. Both sides compute the bound the same way, from the request alone:

    prompt bound = Σ over messages (UTF-8 bytes of role + UTF-8 bytes of content
                                     + LLM_MESSAGE_OVERHEAD) + LLM_PROMPT_OVERHEAD
    units bound  = prompt bound + max_tokens

A byte-level tokenizer (GPT-2, Llama 3, Qwen, framemesh's tiny one) never makes more
tokens of a text than it has bytes, and the overheads cover the chat template's markup.
The gateway pays price × units bound up front; the orchestrator counts the tokens with
the model's own tokenizer (`usage` in the answer) and charges
price × min(prompt_tokens + completion_tokens, units bound); the rest stays the
gateway's credit at that orchestrator, and the answer carries the credit left so the
gateway's mirror of it stays equal.

Pure: no I/O, no model imports. The callers measure the inputs (image size, audio
duration) with `framemesh.ai.media`, which both nodes use.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

LIVE_PIXELS_PER_SECOND = 1280 * 720 * 30  # Livepeer's live meter: 27,648 pixels per ms
LLM_MESSAGE_OVERHEAD = 8  # tokens a chat template may add around one message
LLM_PROMPT_OVERHEAD = 64  # and around the whole prompt: BOS, a default system prompt, the reply's header


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


def llm_prompt_bound(messages: Iterable[tuple[str, str]]) -> int:
    """The most tokens a prompt of these (role, content) messages can take, any tokenizer
    that is byte-level: the model-independent rule both nodes share."""
    return LLM_PROMPT_OVERHEAD + sum(
        len(role.encode()) + len(content.encode()) + LLM_MESSAGE_OVERHEAD for role, content in messages
    )


def llm_units_bound(messages: Iterable[tuple[str, str]], max_tokens: int) -> int:
    """The units an LLM job is paid for up front: the prompt bound plus max_tokens."""
    return llm_prompt_bound(messages) + _positive(max_tokens, "max_tokens")


def llm_charged_units(prompt_tokens: int, completion_tokens: int, bound: int) -> int:
    """The units an orchestrator charges: the tokens it used, never more than the bound paid."""
    return min(llm_units(prompt_tokens, completion_tokens), bound)


def live_units(seconds: float) -> int:
    """Live AI is paid by wall-clock time at a fixed pixel rate, whatever the stream's
    real size (as Livepeer meters it): units = whole milliseconds x pixels per ms."""
    millis = round(seconds * 1000)
    if millis < 0:
        raise ValueError(f"a duration cannot be negative, got {seconds}")
    return millis * LIVE_PIXELS_PER_SECOND // 1000


def _positive(value: int, name: str) -> int:
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return value
