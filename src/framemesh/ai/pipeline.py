"""The shape every pipeline has, and the registry that builds one from a ModelSpec.

    pipe = create_pipeline(spec)   # cheap: nothing loaded yet
    pipe.load()                    # read the model from its directory / package
    pipe.warmup()                  # one small run, so the first job is not slow
    result = pipe.run(request)     # request.check(), then the model
    result = pipe.run(request, emit)   # the same, and emit(piece) as output is made
                                       # (the LLM's text; other pipelines emit nothing)
    pipe.unload()

A pipeline is synchronous and CPU/GPU bound: it runs inside a worker process
(`framemesh.ai.worker`), never on the orchestrator's event loop.
"""

from __future__ import annotations

import gc
import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from framemesh.ai import requests as rq
from framemesh.ai.requests import REQUEST_TYPES
from framemesh.ai.config import ModelSpec
from framemesh.ai.errors import InvalidRequest, ModelLoadError

_CLASSES: dict[str, str] = {
    "text-to-image": "framemesh.ai.text_to_image:TextToImage",
    "image-to-image": "framemesh.ai.image_to_image:ImageToImage",
    "image-to-video": "framemesh.ai.image_to_video:ImageToVideo",
    "upscale": "framemesh.ai.upscale:Upscale",
    "audio-to-text": "framemesh.ai.audio_to_text:AudioToText",
    "text-to-speech": "framemesh.ai.text_to_speech:TextToSpeech",
    "llm": "framemesh.ai.llm:LLM",
    "mux": "framemesh.ai.mux:Mux",
    "live-video-to-video": "framemesh.ai.live_video:LiveVideoToVideo",
}


@dataclass(frozen=True)
class Progress:
    """How far a job is: step `done` of `total` of diffusers call `phase` of `phases`.
    Sent by a worker while it runs (a piece that is not text)."""

    done: int
    total: int
    phase: int = 1
    phases: int = 1

    @property
    def fraction(self) -> float:
        if self.total <= 0 or self.phases <= 0:
            return 0.0
        return min(1.0, max(0.0, (self.phase - 1 + self.done / self.total) / self.phases))


class Pipeline(ABC):
    """One model of one pipeline. Subclasses set `name` and implement load/_run."""

    name: ClassVar[str]

    def __init__(self, spec: ModelSpec, limits: rq.Limits = rq.DEFAULT_LIMITS) -> None:
        self.spec = spec
        self.limits = limits
        self.loaded = False
        self._emit: Callable[[Any], None] | None = None
        self._phase = 0
        self.phases = 1  # diffusers calls one job makes (for Progress)

    @property
    def request_type(self) -> type:
        return REQUEST_TYPES[self.name]

    @abstractmethod
    def load(self) -> None:
        """Load the model; raise ModelLoadError if it is missing or broken."""

    def warmup(self) -> None:
        """Run once on a small input; subclasses override with a real small request."""

    def run(self, request: Any, emit: Callable[[Any], None] | None = None) -> Any:
        if not isinstance(request, self.request_type):
            raise InvalidRequest(
                f"{self.name} takes a {self.request_type.__name__}, got {type(request).__name__}"
            )
        request.check(self.limits)
        if not self.loaded:
            self.load()
        self._emit, self._phase, self.phases = emit, 0, 1
        try:
            if emit is not None:
                return self._stream(request, emit)
            return self._run(request)
        finally:
            self._emit = None

    def step_callback(self) -> Callable[[Any, int, Any, dict[str, Any]], dict[str, Any]]:
        """diffusers' `callback_on_step_end`: reports each denoising step as `Progress`.
        A pipeline that makes several diffusers calls for one job sets `self.phases`."""

        def on_step(pipe: Any, step: int, timestep: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
            del timestep
            if step == 0:
                self._phase += 1  # the first step of another diffusers call
            if self._emit is not None:
                total = int(getattr(pipe, "num_timesteps", 0) or step + 1)
                self._emit(Progress(step + 1, total, self._phase, max(self.phases, self._phase)))
            return kwargs

        return on_step

    @abstractmethod
    def _run(self, request: Any) -> Any: ...

    def _stream(self, request: Any, emit: Callable[[Any], None]) -> Any:
        """Run, calling `emit` with each piece of output as it is made. A pipeline whose
        output comes whole (an image, a WAV) emits nothing: its result is the output."""
        return self._run(request)

    def unload(self) -> None:
        """Drop the model's memory; `load()` can be called again."""
        for attr in list(vars(self)):
            if attr.startswith("_m_"):
                setattr(self, attr, None)
        self.loaded = False
        gc.collect()


def create_pipeline(spec: ModelSpec, limits: rq.Limits = rq.DEFAULT_LIMITS) -> Pipeline:
    """The pipeline object for a spec (imports the model code; loads nothing yet)."""
    module_name, _, class_name = _CLASSES[spec.pipeline].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ModelLoadError(
            f"{spec.pipeline} needs the 'ai' extra (pip install 'framemesh[ai]'): {exc}"
        ) from None
    cls = getattr(module, class_name)
    return cls(spec, limits)
