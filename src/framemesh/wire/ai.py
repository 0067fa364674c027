"""AI messages: the Livepeer AI API a gateway serves, and what travels between a
gateway and an orchestrator for one AI job.

Public API (gateway): the request and response bodies of Livepeer's AI gateway, same
field names and defaults (its OpenAPI document, `livepeer/ai-runner`'s
`runner/openapi.yaml`), so its clients work unchanged. The request models document
the bodies; the gateway reads the fields itself so that nothing a Livepeer client
sends is refused (unknown fields, an empty-string seed).

Internal (gateway → orchestrator): `POST /ai/{pipeline}`, multipart, a `request`
part holding the job's fields as JSON and the input files (`image`, `audio`,
`video`: one for most pipelines, two for mux). The answer is one uncompressed tar: `result.json` (an `AIResult`), then the
output files it names, each with its size and SHA-256.

LLM (`POST /ai/llm`, the same form): the answer is `application/x-ndjson`, one JSON
object a line, sent as the model makes them: `{"delta": "text"}` for each piece of
the reply, then `{"done": LLMDone}` (usage, the units and price charged, the credit
left, the signature), or `{"error": {"msg", "code"}}` if the job failed after the
stream began. Text has no C2PA container: `LLMDone.signature` binds the answer
instead (see `llm_answer_digest`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from framemesh.wire.bundle import read_bundle, write_bundle

MEDIA_TYPE = "application/x-tar"
LLM_MEDIA_TYPE = "application/x-ndjson"
SSE_MEDIA_TYPE = "text/event-stream"
REQUEST_PART = "request"
FILE_PARTS = ("image", "audio", "video")  # video: upscale of a clip, mux (staged jobs)

# Public API: request bodies ------------------------------------------------------

_STEPS = (
    "Number of denoising steps. More steps usually lead to higher quality images but "
    "slower inference. framemesh: null lets the network choose from the prompt."
)
_SEED = "Seed for random number generation."
_SAFETY = "Perform a safety check to estimate if generated images could be offensive or harmful."
_GUIDANCE = "Encourages model to generate images closely linked to the text prompt."
_NEGATIVE = "Text prompt(s) to guide what to exclude from image generation."


class _Body(BaseModel):
    model_config = ConfigDict(extra="allow")


class TextToImageParams(_Body):
    model_id: str = Field("", description="The model to generate with; empty: the network's default.")
    loras: str = Field("", description="Accepted for compatibility; not used by framemesh.")
    prompt: str = Field(description="Text prompt(s) to guide image generation.")
    height: int = Field(576, description="The height in pixels of the generated image.")
    width: int = Field(1024, description="The width in pixels of the generated image.")
    guidance_scale: float = Field(7.5, description=_GUIDANCE)
    negative_prompt: str = Field("", description=_NEGATIVE)
    safety_check: bool = Field(True, description=_SAFETY)
    seed: int | None = Field(None, description=_SEED)
    num_inference_steps: int | None = Field(50, description=_STEPS)
    num_images_per_prompt: int = Field(1, description="Number of images to generate per prompt.")


class TextToSpeechParams(_Body):
    model_id: str = Field("", description="The voice model; empty: the network's default.")
    text: str = Field("", description="Text input for speech generation.")
    description: str = Field(
        "A male speaker delivers a slightly expressive and animated speech with a moderate speed and pitch.",
        description="Description of the speaker (accepted; a Piper voice has one speaker).",
    )


class ImageToImageForm(_Body):
    prompt: str = Field(description="Text prompt(s) to guide image generation.")
    image: bytes = Field(description="Uploaded image to modify with the pipeline.")
    model_id: str = ""
    loras: str = ""
    strength: float = Field(0.8, description="Degree of transformation applied to the reference image (0 to 1).")
    guidance_scale: float = Field(7.5, description=_GUIDANCE)
    image_guidance_scale: float = 1.5
    negative_prompt: str = Field("", description=_NEGATIVE)
    safety_check: bool = Field(True, description=_SAFETY)
    seed: int | None = Field(None, description=_SEED)
    num_inference_steps: int | None = Field(100, description=_STEPS)
    num_images_per_prompt: int = 1


class ImageToVideoForm(_Body):
    image: bytes = Field(description="Uploaded image to generate a video from.")
    model_id: str = ""
    height: int = 576
    width: int = 1024
    fps: int = 6
    motion_bucket_id: int = 127
    noise_aug_strength: float = 0.02
    safety_check: bool = Field(True, description=_SAFETY)
    seed: int | None = Field(None, description=_SEED)
    num_inference_steps: int | None = Field(25, description=_STEPS)


class UpscaleForm(_Body):
    prompt: str = Field("", description="Text prompt(s) to guide upscaled image generation.")
    image: bytes = Field(description="Uploaded image to upscale.")
    model_id: str = ""
    safety_check: bool = Field(True, description=_SAFETY)
    seed: int | None = Field(None, description=_SEED)
    num_inference_steps: int | None = Field(75, description=_STEPS)


class AudioToTextForm(_Body):
    audio: bytes = Field(description="Uploaded audio file to be transcribed.")
    model_id: str = ""
    return_timestamps: str = Field("true", description="'true', 'false' or 'word'.")
    metadata: str = "{}"


class LLMMessage(BaseModel):
    role: str = Field(description="system, user or assistant.")
    content: str


class LLMParams(_Body):
    """Livepeer's LLMRequest (OpenAI-style chat), plus framemesh's optional seed."""

    messages: list[LLMMessage] = Field(description="The conversation so far, oldest first.")
    model: str = Field("", description="The model; empty: the network's default.")
    temperature: float = Field(0.7, description="Sampling temperature, 0..2; 0 always takes the likeliest token.")
    max_tokens: int = Field(256, description="The most tokens to generate.")
    top_p: float = Field(1.0, description="Nucleus sampling: the smallest set of tokens whose probability reaches top_p.")
    top_k: int = Field(-1, description="Sample among the k likeliest tokens; -1: all.")
    stream: bool = Field(False, description="Answer as text/event-stream, a chunk per piece of text.")
    seed: int | None = Field(None, description="framemesh: the same seed gives the same answer.")


# Public API: responses -----------------------------------------------------------


class Media(BaseModel):
    url: str = Field(description="The URL where the media can be accessed.")
    seed: int = Field(description="The seed used to generate the media.")
    nsfw: bool = Field(description="Whether the media was flagged as NSFW.")


class ImageResponse(BaseModel):
    images: list[Media] = Field(description="The generated images (image-to-video: the videos, MP4).")


class MediaURL(BaseModel):
    url: str = Field(description="The URL where the media can be accessed.")


class AudioResponse(BaseModel):
    audio: MediaURL


class Chunk(BaseModel):
    timestamp: list[float] = Field(description="Start and end of the chunk, seconds.")
    text: str


class TextResponse(BaseModel):
    text: str
    chunks: list[Chunk]


class LLMTokenUsage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class LLMChoice(BaseModel):
    index: int
    finish_reason: str = Field("", description="stop, length, or empty while streaming.")
    delta: LLMMessage | None = Field(None, description="Streaming: this chunk's piece of text.")
    message: LLMMessage | None = Field(None, description="The whole answer (not streaming).")


class LLMResponse(BaseModel):
    """The answer (not streaming), and each `data:` chunk of a stream."""

    id: str
    model: str
    created: int
    usage: LLMTokenUsage
    choices: list[LLMChoice]


class APIError(BaseModel):
    msg: str = Field(description="The error message.")


class HTTPError(BaseModel):
    detail: APIError


class ValidationErrorItem(BaseModel):
    loc: list[str | int] = Field(description="Where: 'body', then the field.")
    msg: str
    type: str


class HTTPValidationError(BaseModel):
    """422: a field missing or of the wrong type (Livepeer's and FastAPI's shape)."""

    detail: list[ValidationErrorItem]


# Capabilities ----------------------------------------------------------------------


class AICapability(BaseModel):
    """One pipeline and model an orchestrator serves, as its /info advertises it."""

    pipeline: str
    model_id: str
    warm: bool = Field(description="A worker has the model loaded now.")
    capacity: int = Field(ge=1, description="Jobs it runs at once on this model.")
    admits: int | None = Field(
        None, ge=1, description="Jobs it takes at once, running or queued (one queued per worker hides the round trip); "
        "past that it answers 503 busy. Absent: `capacity`."
    )
    in_use: int = Field(ge=0)
    price_per_unit: int = Field(ge=0, description="Wei per unit (see framemesh.ai.units).")
    default_frames: int | None = Field(
        None, description="image-to-video: the frames the model makes when a request leaves num_frames out."
    )


# Gateway <-> orchestrator ------------------------------------------------------------


class AIProgress(BaseModel):
    """`GET /ai/progress/{job_id}` on an orchestrator: how far a running job is."""

    job_id: str
    done: int = Field(description="Denoising steps done in the current diffusers call.")
    total: int
    phase: int = Field(description="Which diffusers call of the job (layered generation makes two).")
    phases: int
    fraction: float = Field(ge=0, le=1, description="Of the whole job.")


class AIOutput(BaseModel):
    file: str = Field(description="Member name in the bundle.")
    kind: str = Field(description="image, video or audio")
    seed: int = 0
    nsfw: bool = False
    bytes: int
    sha256: str


class AIResult(BaseModel):
    """The first member of an AI result bundle."""

    pipeline: str
    model_id: str
    job_id: str
    units: int
    price: int = Field(description="Wei charged: price_per_unit x units (0 off-chain).")
    outputs: list[AIOutput] = []
    text: str | None = None
    chunks: list[Chunk] = []
    info: dict[str, object] = {}
    orchestrator: str
    elapsed: float

    def bundle_entries(self) -> list[AIOutput]:
        return self.outputs


class LLMDone(BaseModel):
    """The last line of an LLM answer from an orchestrator."""

    pipeline: str = "llm"
    model_id: str
    job_id: str
    text: str = Field(description="The whole answer: the deltas joined.")
    finish_reason: str
    usage: LLMTokenUsage = Field(description="Counted by the model's own tokenizer.")
    seed: int
    units_bound: int = Field(description="Units paid for up front (framemesh.ai.units.llm_units_bound).")
    units: int = Field(description="Units charged: min(usage.total_tokens, units_bound).")
    price: int = Field(description="Wei charged: price_per_unit x units (0 off-chain).")
    balance: str | None = Field(None, description="The gateway's credit left here, wei (a fraction n/d); null off-chain.")
    orchestrator: str
    address: str | None = Field(None, description="The orchestrator's account, which signed the answer.")
    signature: str | None = Field(None, description="0x hex: its personal-message signature of llm_answer_digest.")
    elapsed: float


def llm_request_sha256(fields: dict[str, object]) -> str:
    """SHA-256 of a request's fields as canonical JSON (sorted keys, no spaces)."""
    return hashlib.sha256(json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def llm_answer_digest(done: LLMDone, request_sha256: str) -> bytes:
    """The 32 bytes an orchestrator signs for an LLM answer: SHA-256 of canonical JSON of
    the job, model, request hash, answer text hash, finish reason, usage and price."""
    material = {
        "job_id": done.job_id, "model_id": done.model_id, "request_sha256": request_sha256,
        "text_sha256": hashlib.sha256(done.text.encode()).hexdigest(), "finish_reason": done.finish_reason,
        "usage": done.usage.model_dump(), "units": done.units, "price": done.price,
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True, separators=(",", ":")).encode()).digest()


def write_ai_bundle(result: AIResult, files: dict[str, Path], dest: Path) -> Path:
    return write_bundle(result, files, dest)


def read_ai_bundle(source: Path, out_dir: Path) -> tuple[AIResult, dict[str, Path]]:
    """Unpack an AI bundle into `out_dir`, each file checked against the manifest."""
    return read_bundle(source, out_dir, AIResult)
