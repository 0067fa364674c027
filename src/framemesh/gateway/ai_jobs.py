"""AI jobs as the gateway keeps them: one Livepeer-style request, or a chain of stages
where each stage's output is the next stage's input, each stage run by whichever
orchestrator serves it best (so one job's stages run on different nodes).

    text-to-image 256x256 → upscale x2 → image-to-video    (layered, then animated)
    text-to-speech → audio-to-text                          (a round trip)

No I/O here: which stage may follow which, how an output feeds the next request, and
the states a job and a stage go through, as explicit tables (like `jobs` for
transcoding), so a bug shows up as an error, not as a job that goes back in time.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from framemesh.gateway.jobs import check_move


class AIJobState(str, Enum):
    QUEUED = "queued"  # accepted and committed, no stage started yet
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def terminal(self) -> bool:
        return self in (AIJobState.COMPLETED, AIJobState.FAILED)


class StageState(str, Enum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


_JOB_MOVES: dict[AIJobState, frozenset[AIJobState]] = {
    AIJobState.QUEUED: frozenset({AIJobState.RUNNING, AIJobState.FAILED}),
    # A restarted gateway re-enters running, hence the self-loop.
    AIJobState.RUNNING: frozenset({AIJobState.RUNNING, AIJobState.COMPLETED, AIJobState.FAILED}),
    AIJobState.COMPLETED: frozenset(),
    AIJobState.FAILED: frozenset(),
}

_STAGE_MOVES: dict[StageState, frozenset[StageState]] = {
    StageState.PENDING: frozenset({StageState.RUNNING, StageState.FAILED}),
    # Back to pending when the gateway restarts mid-stage: the stage runs again.
    StageState.RUNNING: frozenset({StageState.PENDING, StageState.DONE, StageState.FAILED}),
    StageState.DONE: frozenset(),  # a stage's output is delivered once
    StageState.FAILED: frozenset(),
}


def check_ai_job_move(old: AIJobState, new: AIJobState) -> None:
    check_move(_JOB_MOVES, "an AI job", old, new)


def check_stage_move(old: StageState, new: StageState) -> None:
    check_move(_STAGE_MOVES, "a stage", old, new)


# What each pipeline makes, and which request field takes each kind of output.
PRODUCES: dict[str, str] = {
    "text-to-image": "image",
    "image-to-image": "image",
    "upscale": "image",
    "image-to-video": "video",
    "text-to-speech": "audio",
    "audio-to-text": "text",
}
TAKES: dict[str, tuple[str, str]] = {  # pipeline → (kind of input, field it goes in)
    "image-to-image": ("image", "image"),
    "upscale": ("image", "image"),
    "image-to-video": ("image", "image"),
    "audio-to-text": ("audio", "audio"),
    "text-to-speech": ("text", "text"),
    "text-to-image": ("text", "prompt"),
}
# Fields that say how many outputs a stage makes: a stage that feeds another makes one.
_COUNT_FIELDS = ("num_images_per_prompt", "num_videos")
MAX_STAGES = 8


class InvalidPlan(ValueError):
    """The stages cannot run as given; the message says which stage and why."""


@dataclass(frozen=True)
class StagePlan:
    pipeline: str
    model_id: str  # "" until the gateway picks the network's default
    params: dict[str, Any]  # the request's fields, without the input that the previous stage fills


def parse_plan(raw: Any, pipelines: set[str] | None = None) -> list[StagePlan]:
    """The stages of a job from its JSON (`[{"pipeline", "model_id"?, "params"?}, ...]`).

    Checks the chain only: every pipeline known, each output of the kind the next stage
    takes, no fan-out before the last stage. Each stage's fields are checked when its
    request is built (`framemesh.ai.build_request`).
    """
    if not isinstance(raw, list) or not raw:
        raise InvalidPlan("stages must be a non-empty list of {pipeline, model_id, params}")
    if len(raw) > MAX_STAGES:
        raise InvalidPlan(f"a job has at most {MAX_STAGES} stages, got {len(raw)}")
    known = pipelines if pipelines is not None else set(PRODUCES)
    plans: list[StagePlan] = []
    for n, item in enumerate(raw):
        where = f"stages[{n}]"
        if not isinstance(item, dict):
            raise InvalidPlan(f"{where}: must be an object with pipeline, model_id and params")
        pipeline = item.get("pipeline")
        if pipeline not in known or pipeline not in PRODUCES:
            offered = ", ".join(sorted(known & set(PRODUCES)))
            raise InvalidPlan(f"{where}.pipeline: {pipeline!r} cannot be a stage; stages can be: {offered}")
        model_id = item.get("model_id") or ""
        params = item.get("params")
        params = {} if params is None else params
        if not isinstance(model_id, str):
            raise InvalidPlan(f"{where}.model_id: must be a string")
        if not isinstance(params, dict):
            raise InvalidPlan(f"{where}.params: must be an object of the pipeline's fields")
        plans.append(StagePlan(str(pipeline), model_id, dict(params)))
    for n, (before, after) in enumerate(zip(plans, plans[1:])):
        made = PRODUCES[before.pipeline]
        wanted = TAKES.get(after.pipeline)
        if wanted is None or wanted[0] != made:
            takes = f"takes {wanted[0]}" if wanted else "takes no input from another stage"
            raise InvalidPlan(
                f"stages[{n + 1}] ({after.pipeline}) {takes}, but stages[{n}] ({before.pipeline}) makes {made}"
            )
        if wanted[1] in after.params:
            raise InvalidPlan(f"stages[{n + 1}].params.{wanted[1]}: filled by stages[{n}]'s output; leave it out")
        for field in _COUNT_FIELDS:
            if int(before.params.get(field, 1) or 1) != 1:
                raise InvalidPlan(f"stages[{n}].params.{field}: a stage that feeds another makes one output")
    return plans


def first_stage_input(plan: StagePlan) -> str | None:
    """The uploaded file field the first stage needs (`image`, `audio`), if any."""
    kind = TAKES.get(plan.pipeline)
    if kind is None or kind[0] in ("text",):
        return None
    return kind[1]


def feed(plan: StagePlan, previous: dict[str, Any]) -> dict[str, Any]:
    """The fields of a stage's request, its input filled from the previous stage's output.

    `previous` holds the earlier stage's output: `file` (bytes of its first output) or
    `text` (audio-to-text's transcript).
    """
    kind, field = TAKES[plan.pipeline]
    value = previous.get("text") if kind == "text" else previous.get("file")
    if value is None or value == "" or value == b"":
        raise InvalidPlan(f"{plan.pipeline} needs {kind} from the previous stage, which made none")
    return {**plan.params, field: value}

