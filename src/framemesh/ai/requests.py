"""Request and result types of every pipeline, with their input checks and units.

Field names and defaults follow the Livepeer AI API, so the gateway maps a Livepeer
request onto these one to one. `check()` refuses what cannot run, with a message that
says what is wrong and what is allowed; it is pure apart from reading the headers of
the images and audio a request carries, so the gateway runs it before sending a job
and the worker runs it again before touching a model. `units()` is the work to bill.

framemesh extras: `num_inference_steps=None` lets the network choose the steps from
the prompt's complexity; `num_frames=None` takes the model's default; an LLM request
may carry a `seed` (Livepeer's has none) for a repeatable answer. An LLM request's
`units()` is the bound it is paid for up front (see `framemesh.ai.units`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from framemesh.ai import media, units
from pydantic import TypeAdapter, ValidationError

from framemesh.ai.errors import InvalidRequest, UnknownModel


@dataclass(frozen=True)
class Limits:
    """What one node accepts. Sizes are multiples of 8 because latents are 1/8 size."""

    max_side: int = 2048
    max_pixels: int = 2048 * 2048
    max_prompt_chars: int = 2000
    max_images: int = 8
    max_steps: int = 200
    max_frames: int = 64
    max_input_pixels: int = 4096 * 4096
    max_audio_seconds: float = 3600.0
    max_speech_chars: int = 10_000
    max_llm_messages: int = 256
    max_llm_chars: int = 32_000  # all messages' content together
    max_llm_tokens: int = 4096  # max_tokens


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class TextToImageRequest:
    prompt: str
    model_id: str = ""
    height: int = 576
    width: int = 1024
    guidance_scale: float = 7.5
    negative_prompt: str = ""
    safety_check: bool = True
    seed: int | None = None
    num_inference_steps: int | None = 50
    num_images_per_prompt: int = 1

    def check(self, limits: Limits = DEFAULT_LIMITS) -> None:
        _check_prompt(self.prompt, limits, "prompt", required=True)
        _check_prompt(self.negative_prompt, limits, "negative_prompt")
        _check_size(self.width, self.height, limits)
        _check_common(self, limits)

    def units(self) -> int:
        return units.image_units(self.width, self.height, self.num_images_per_prompt)


@dataclass(frozen=True)
class ImageToImageRequest:
    prompt: str
    image: bytes = field(repr=False)
    model_id: str = ""
    strength: float = 0.8
    guidance_scale: float = 7.5
    image_guidance_scale: float = 1.5
    negative_prompt: str = ""
    safety_check: bool = True
    seed: int | None = None
    num_inference_steps: int | None = 100
    num_images_per_prompt: int = 1

    def check(self, limits: Limits = DEFAULT_LIMITS) -> None:
        _check_prompt(self.prompt, limits, "prompt", required=True)
        _check_prompt(self.negative_prompt, limits, "negative_prompt")
        if not 0.0 < self.strength <= 1.0:
            raise InvalidRequest(f"strength must be in (0, 1], got {self.strength}")
        width, height = output_size(self.image)
        _check_size(width, height, limits, what="image (rounded down to multiples of 8)")
        _check_common(self, limits)

    def units(self) -> int:
        width, height = output_size(self.image)
        return units.image_units(width, height, self.num_images_per_prompt)


@dataclass(frozen=True)
class ImageToVideoRequest:
    image: bytes = field(repr=False)
    model_id: str = ""
    height: int = 576
    width: int = 1024
    fps: int = 6
    motion_bucket_id: int = 127
    noise_aug_strength: float = 0.02
    safety_check: bool = True
    seed: int | None = None
    num_inference_steps: int | None = 25
    num_frames: int | None = None
    num_videos: int = 1

    def check(self, limits: Limits = DEFAULT_LIMITS) -> None:
        _check_size(self.width, self.height, limits)
        media.image_size(self.image)
        if not 1 <= self.fps <= 60:
            raise InvalidRequest(f"fps must be 1..60, got {self.fps}")
        if self.num_frames is not None and not 2 <= self.num_frames <= limits.max_frames:
            raise InvalidRequest(f"num_frames must be 2..{limits.max_frames}, got {self.num_frames}")
        if not 1 <= self.num_videos <= limits.max_images:
            raise InvalidRequest(f"num_videos must be 1..{limits.max_images}, got {self.num_videos}")
        _check_steps_seed(self, limits)

    def units(self, default_frames: int = 14) -> int:
        frames = self.num_frames or default_frames
        return units.video_units(self.width, self.height, frames, self.num_videos)


@dataclass(frozen=True)
class UpscaleRequest:
    """An image (Livepeer's field), or, framemesh's extra, a video upscaled frame by frame."""

    image: bytes = field(default=b"", repr=False)
    prompt: str = ""
    model_id: str = ""
    safety_check: bool = True
    seed: int | None = None
    num_inference_steps: int | None = 75
    video: bytes = field(default=b"", repr=False)

    def check(self, limits: Limits = DEFAULT_LIMITS) -> None:
        _check_prompt(self.prompt, limits, "prompt")
        if bool(self.image) == bool(self.video):
            raise InvalidRequest("upscale takes an image (or, instead, a video): send exactly one of them")
        if self.video:
            info = media.video_info(self.video)
            width, height, what = info.width, info.height, "video"
            if info.frames > limits.max_frames:
                raise InvalidRequest(f"video has {info.frames} frames; upscale takes at most {limits.max_frames}")
        else:
            (width, height), what = media.image_size(self.image), "image"
        if width * height > limits.max_input_pixels // 16:
            raise InvalidRequest(
                f"{what} is {width}x{height}; upscale takes at most "
                f"{limits.max_input_pixels // 16} input pixels (the output is up to 16x that)"
            )

    def units(self) -> int:
        if self.video:
            info = media.video_info(self.video)
            return units.upscale_units(info.width, info.height) * info.frames
        return units.upscale_units(*media.image_size(self.image))


@dataclass(frozen=True)
class MuxRequest:
    """framemesh: a video and an audio track made into one MP4 (e.g. a generated clip
    and its narration). `fit="audio"` holds the last frame until the audio ends;
    `fit="video"` cuts the audio where the video ends."""

    video: bytes = field(repr=False)
    audio: bytes = field(repr=False)
    model_id: str = ""
    fit: str = "audio"

    def check(self, limits: Limits = DEFAULT_LIMITS) -> None:
        if self.fit not in ("audio", "video"):
            raise InvalidRequest(f"fit must be 'audio' or 'video', got {self.fit!r}")
        info = media.video_info(self.video)
        if info.width * info.height > limits.max_pixels:
            raise InvalidRequest(f"video is {info.width}x{info.height}; the limit is {limits.max_pixels} pixels")
        if self.duration() > limits.max_audio_seconds:
            raise InvalidRequest(f"the result would be {self.duration():.0f} s long; the limit is {limits.max_audio_seconds:.0f} s")

    def duration(self) -> float:
        video = media.video_info(self.video).duration
        return max(video, media.decode_audio(self.audio).duration) if self.fit == "audio" else video

    def units(self) -> int:
        return units.audio_units(self.duration())


@dataclass(frozen=True)
class AudioToTextRequest:
    audio: bytes = field(repr=False)
    model_id: str = ""
    return_timestamps: str = "true"

    def check(self, limits: Limits = DEFAULT_LIMITS) -> None:
        if self.return_timestamps not in ("true", "false", "word"):
            raise InvalidRequest(
                f"return_timestamps must be 'true', 'false' or 'word', got {self.return_timestamps!r}"
            )
        duration = media.decode_audio(self.audio).duration
        if duration > limits.max_audio_seconds:
            raise InvalidRequest(
                f"audio is {duration:.0f} s long; the limit is {limits.max_audio_seconds:.0f} s"
            )

    def units(self) -> int:
        return units.audio_units(media.decode_audio(self.audio).duration)


@dataclass(frozen=True)
class TextToSpeechRequest:
    text: str
    model_id: str = ""
    description: str = ""

    def check(self, limits: Limits = DEFAULT_LIMITS) -> None:
        if not self.text.strip():
            raise InvalidRequest("text is empty: send the text to speak")
        if len(self.text) > limits.max_speech_chars:
            raise InvalidRequest(
                f"text is {len(self.text)} characters; the limit is {limits.max_speech_chars}"
            )

    def units(self) -> int:
        return units.speech_units(self.text)


LLM_ROLES = ("system", "user", "assistant")


@dataclass(frozen=True)
class LLMMessage:
    role: str
    content: str


@dataclass(frozen=True)
class LLMRequest:
    """Livepeer's LLMRequest (OpenAI-style chat messages), plus framemesh's `seed`."""

    messages: tuple[LLMMessage, ...]
    model: str = ""
    temperature: float = 0.7
    max_tokens: int = 256
    top_p: float = 1.0
    top_k: int = -1  # -1: off
    stream: bool = False
    seed: int | None = None

    @property
    def model_id(self) -> str:
        """Livepeer names the LLM's model `model`; the other pipelines say `model_id`."""
        return self.model

    def check(self, limits: Limits = DEFAULT_LIMITS) -> None:
        if not self.messages:
            raise InvalidRequest("messages is empty: send at least one {role, content} message")
        if len(self.messages) > limits.max_llm_messages:
            raise InvalidRequest(f"{len(self.messages)} messages; the limit is {limits.max_llm_messages}")
        for i, message in enumerate(self.messages):
            if message.role not in LLM_ROLES:
                raise InvalidRequest(
                    f"messages[{i}].role must be one of {', '.join(LLM_ROLES)}, got {message.role!r}"
                )
        chars = sum(len(m.content) for m in self.messages)
        if chars > limits.max_llm_chars:
            raise InvalidRequest(f"the messages hold {chars} characters; the limit is {limits.max_llm_chars}")
        if not any(m.content.strip() for m in self.messages):
            raise InvalidRequest("every message is empty: say something to the model")
        if not 1 <= self.max_tokens <= limits.max_llm_tokens:
            raise InvalidRequest(f"max_tokens must be 1..{limits.max_llm_tokens}, got {self.max_tokens}")
        if not 0.0 <= self.temperature <= 2.0:
            raise InvalidRequest(f"temperature must be 0..2 (0: always the likeliest token), got {self.temperature}")
        if not 0.0 < self.top_p <= 1.0:
            raise InvalidRequest(f"top_p must be in (0, 1], got {self.top_p}")
        if self.top_k != -1 and self.top_k < 1:
            raise InvalidRequest(f"top_k must be -1 (off) or >= 1, got {self.top_k}")
        if self.seed is not None and not 0 <= self.seed < 2**32:
            raise InvalidRequest(f"seed must be 0..2**32-1, got {self.seed}")

    def pairs(self) -> list[tuple[str, str]]:
        return [(m.role, m.content) for m in self.messages]

    def units(self) -> int:
        """The bound paid up front: prompt bound + max_tokens (framemesh.ai.units)."""
        return units.llm_units_bound(self.pairs(), self.max_tokens)


MAX_LIVE_SEGMENT = 32 << 20  # bytes: a few seconds of 1080p, with room


@dataclass(frozen=True)
class LiveVideoRequest:
    """One segment of a live stream, with the parameters in effect for it.

    `params` are the model's own (a prompt, a strength, an effect's setting); the
    pipeline checks them. `budget`: seconds of compute the segment may take (None: a
    share of its duration); `duration`: its media length when the sender knows it.
    """

    video: bytes = field(repr=False)  # the segment
    model_id: str = ""
    stream_id: str = ""
    seq: int = 0
    params: dict[str, Any] = field(default_factory=dict)
    duration: float | None = None
    budget: float | None = None
    max_fps: float = 30.0

    def check(self, limits: Limits = DEFAULT_LIMITS) -> None:
        del limits
        if not self.video:
            raise InvalidRequest("video is empty: send one segment of the stream")
        if len(self.video) > MAX_LIVE_SEGMENT:
            raise InvalidRequest(f"video is over {MAX_LIVE_SEGMENT >> 20} MiB; cut shorter segments")
        if not isinstance(self.params, dict) or not all(isinstance(k, str) for k in self.params):
            raise InvalidRequest("params must be a JSON object")
        if self.duration is None:
            raise InvalidRequest("duration is required: the segment's length in seconds, what it is paid by")
        for name, value, high in (("duration", self.duration, 60.0), ("budget", self.budget, 120.0)):
            if value is not None and not 0 < value <= high:
                raise InvalidRequest(f"{name} must be in (0, {high:g}] seconds, got {value}")
        if not 0 < self.max_fps <= 60:
            raise InvalidRequest(f"max_fps must be in (0, 60], got {self.max_fps}")

    def units(self) -> int:
        """Paid by time, at Livepeer's fixed pixel rate (`units.live_units`)."""
        return units.live_units(self.duration or 0.0)


# Results -------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageOutput:
    png: bytes = field(repr=False)
    seed: int
    nsfw: bool


@dataclass(frozen=True)
class ImagesResult:
    """text-to-image, image-to-image and upscale. `info` says which cost savers ran."""

    images: list[ImageOutput]
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class VideoOutput:
    frames: list[bytes] = field(repr=False)  # PNG per frame
    fps: int
    seed: int
    nsfw: bool


@dataclass(frozen=True)
class VideoResult:
    videos: list[VideoOutput]
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class VideoFileResult:
    """A finished MP4 (mux; upscale of a video)."""

    mp4: bytes = field(repr=False)
    seed: int = 0
    nsfw: bool = False
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TextChunk:
    timestamp: tuple[float, float]
    text: str


@dataclass(frozen=True)
class TextResult:
    text: str
    chunks: list[TextChunk]
    info: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The Livepeer response body: {"text", "chunks": [{"timestamp", "text"}]}."""
        return {
            "text": self.text,
            "chunks": [{"timestamp": list(c.timestamp), "text": c.text} for c in self.chunks],
        }


@dataclass(frozen=True)
class AudioResult:
    wav: bytes = field(repr=False)
    sample_rate: int
    duration: float
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LLMResult:
    """An LLM's answer; the token counts come from the model's own tokenizer."""

    text: str
    finish_reason: str  # "stop": the model ended its turn; "length": max_tokens reached
    prompt_tokens: int
    completion_tokens: int
    seed: int
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True)
class LiveVideoResult:
    """A processed live segment: a fragmented MP4, and how the model kept up."""

    mp4: bytes = field(repr=False)
    width: int
    height: int
    duration: float  # seconds of media
    frames_in: int  # frames decoded
    frames_out: int  # frames that went through the model (the rest held the last one)
    fps_in: float
    fps_out: float
    dropped: float  # share of frames_in not processed
    seconds: float  # wall time of the segment's processing
    seed: int = 0
    nsfw: bool = False
    info: dict[str, Any] = field(default_factory=dict)


def with_default_frames(request: Any, frames: int | None) -> Any:
    """An image-to-video request with `num_frames` filled in from the model's default,
    so that gateway and orchestrator bill the frames that will be made."""
    if isinstance(request, ImageToVideoRequest) and request.num_frames is None and frames:
        return dataclasses.replace(request, num_frames=frames)
    return request


def output_size(image: bytes) -> tuple[int, int]:
    """Output (width, height) of image-to-image: the input rounded down to multiples of 8."""
    width, height = media.image_size(image)
    return width - width % 8, height - height % 8


def _check_prompt(text: str, limits: Limits, name: str, required: bool = False) -> None:
    if required and not text.strip():
        raise InvalidRequest(f"{name} is empty: describe what to generate")
    if len(text) > limits.max_prompt_chars:
        raise InvalidRequest(
            f"{name} is {len(text)} characters; the limit is {limits.max_prompt_chars} "
            "(the text encoder reads only the first 77 tokens anyway)"
        )


def _check_size(width: int, height: int, limits: Limits, what: str = "width and height") -> None:
    for name, value in (("width", width), ("height", height)):
        if value < 8 or value > limits.max_side:
            raise InvalidRequest(f"{name} must be 8..{limits.max_side} pixels, got {value} ({what})")
        if value % 8:
            raise InvalidRequest(
                f"{name} must be a multiple of 8 (latents are 1/8 of the image), got {value}; "
                f"try {value - value % 8 or 8} or {value - value % 8 + 8}"
            )
    if width * height > limits.max_pixels:
        raise InvalidRequest(
            f"{width}x{height} is {width * height} pixels; the limit is {limits.max_pixels}"
        )


def _check_common(request: Any, limits: Limits) -> None:
    if not 1 <= request.num_images_per_prompt <= limits.max_images:
        raise InvalidRequest(
            f"num_images_per_prompt must be 1..{limits.max_images}, got {request.num_images_per_prompt}"
        )
    if not 0.0 <= request.guidance_scale <= 50.0:
        raise InvalidRequest(f"guidance_scale must be 0..50, got {request.guidance_scale}")
    _check_steps_seed(request, limits)


def _check_steps_seed(request: Any, limits: Limits) -> None:
    steps = request.num_inference_steps
    if steps is not None and not 1 <= steps <= limits.max_steps:
        raise InvalidRequest(
            f"num_inference_steps must be 1..{limits.max_steps} (or null to let the network "
            f"choose), got {steps}"
        )
    if request.seed is not None and not 0 <= request.seed < 2**32:
        raise InvalidRequest(f"seed must be 0..2**32-1, got {request.seed}")


# Each pipeline's request class, by the pipeline's name.
REQUEST_TYPES: dict[str, type] = {
    "text-to-image": TextToImageRequest,
    "image-to-image": ImageToImageRequest,
    "image-to-video": ImageToVideoRequest,
    "upscale": UpscaleRequest,
    "audio-to-text": AudioToTextRequest,
    "text-to-speech": TextToSpeechRequest,
    "llm": LLMRequest,
    "mux": MuxRequest,
    "live-video-to-video": LiveVideoRequest,
}


@cache
def _adapter(cls: type) -> TypeAdapter[Any]:
    return TypeAdapter(cls)


def build_request(pipeline: str, fields: dict[str, Any]) -> Any:
    """The request object for a pipeline from the JSON/multipart fields a client sent.

    Livepeer clients may send fields framemesh does not use: they are ignored, never
    refused. Missing or mistyped fields raise InvalidRequest naming the field; a
    pipeline that does not exist raises UnknownModel.
    """
    cls = REQUEST_TYPES.get(pipeline)
    if cls is None:
        raise UnknownModel(f"no pipeline {pipeline!r}; pipelines: {', '.join(REQUEST_TYPES)}")
    known = {f.name for f in dataclasses.fields(cls)}
    try:
        return _adapter(cls).validate_python({k: v for k, v in fields.items() if k in known})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}" for err in exc.errors()
        )
        errors = [{"loc": ["body", *err["loc"]], "msg": err["msg"], "type": err["type"]} for err in exc.errors()]
        raise InvalidRequest(f"{pipeline} request: {problems}", errors) from None


def checked_units(request: Any, limits: Limits = DEFAULT_LIMITS) -> int:
    """Check a request as every node does (reading its inputs' headers) and count its
    units, the quantity its price is per."""
    request.check(limits)
    return int(request.units())
