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

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from framemesh.gateway.core.states import WORK_MOVES, check_move
from framemesh.wire.states import AIJobState, WorkState


# A stage is one kind of work sent to one orchestrator at a time.
StageState = WorkState


_JOB_MOVES: dict[AIJobState, frozenset[AIJobState]] = {
    AIJobState.QUEUED: frozenset({AIJobState.RUNNING, AIJobState.FAILED, AIJobState.CANCELLED}),
    # A restarted gateway re-enters running, hence the self-loop.
    AIJobState.RUNNING: frozenset({AIJobState.RUNNING, AIJobState.COMPLETED, AIJobState.FAILED, AIJobState.CANCELLED}),
    AIJobState.COMPLETED: frozenset(),
    AIJobState.FAILED: frozenset(),
    AIJobState.CANCELLED: frozenset(),
}

def check_ai_job_move(old: AIJobState, new: AIJobState) -> None:
    check_move(_JOB_MOVES, "an AI job", old, new)


def check_stage_move(old: StageState, new: StageState) -> None:
    check_move(WORK_MOVES, "a stage", old, new)


# What each pipeline makes (upscale: what it is given, an image or a video).
PRODUCES: dict[str, str] = {
    "text-to-image": "image",
    "image-to-image": "image",
    "upscale": "image",
    "image-to-video": "video",
    "text-to-speech": "audio",
    "audio-to-text": "text",
    "mux": "video",
}
# Each pipeline's inputs: slots, each filled by one of its fields (field → kind). The
# first slot is the one a stage fills from the stage before it when the job does not
# say otherwise.
INPUTS: dict[str, tuple[dict[str, str], ...]] = {
    "text-to-image": ({"prompt": "text"},),
    "image-to-image": ({"image": "image"},),
    "upscale": ({"image": "image", "video": "video"},),
    "image-to-video": ({"image": "image"},),
    "audio-to-text": ({"audio": "audio"},),
    "text-to-speech": ({"text": "text"},),
    "mux": ({"video": "video"}, {"audio": "audio"}),
}
FILE_KINDS = ("image", "audio", "video")  # what a client uploads; text comes in params
# Fields that say how many outputs a stage makes: a stage that feeds another makes one.
_COUNT_FIELDS = ("num_images_per_prompt", "num_videos")
MAX_STAGES = 8
_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")


class InvalidPlan(ValueError):
    """The stages cannot run as given; the message says which stage and why."""


@dataclass(frozen=True)
class StagePlan:
    pipeline: str
    model_id: str  # "" until the gateway picks the network's default
    params: dict[str, Any]  # the request's fields, without the inputs other stages fill
    inputs: dict[str, int] = field(default_factory=dict)  # input field → index of the stage that fills it
    name: str = ""  # the client's name for the stage, if it gave one
    uploads: tuple[str, ...] = ()  # input fields filled by the client's uploaded files

    def produces(self) -> str:
        if self.pipeline == "upscale" and "video" in (*self.inputs, *self.uploads):
            return "video"
        return PRODUCES[self.pipeline]

    def kind_of(self, field_name: str) -> str:
        return next(slot[field_name] for slot in INPUTS[self.pipeline] if field_name in slot)


def parse_plan(raw: Any, uploaded: Collection[str] = (), pipelines: set[str] | None = None) -> list[StagePlan]:
    """The stages of a job from its JSON: `[{"pipeline", "model_id"?, "params"?, "id"?, "inputs"?}, ...]`.

    A graph: `inputs` maps a stage's input field to the earlier stage (its `id` or
    index) whose output fills it; without `inputs`, a stage's first input is filled by
    the stage before it (a chain). A file input no stage fills is read from the
    client's upload of that name (`uploaded`: the names it sent); a text input from
    `params`. Stages that wait on nothing unfinished run side by side.
    Checks the graph only: every pipeline known, each input from an earlier stage that
    makes that kind of output, every file input filled, no fan-out from a stage that
    feeds another. Each stage's fields are checked when its request is built
    (`framemesh.ai.build_request`).
    """
    if not isinstance(raw, list) or not raw:
        raise InvalidPlan("stages must be a non-empty list of {pipeline, model_id, params, id, inputs}")
    if len(raw) > MAX_STAGES:
        raise InvalidPlan(f"a job has at most {MAX_STAGES} stages, got {len(raw)}")
    known = (pipelines if pipelines is not None else set(PRODUCES)) & set(PRODUCES)
    plans: list[StagePlan] = []
    names: dict[str, int] = {}
    for n, item in enumerate(raw):
        plan = _parse_stage(n, item, known, names, plans, set(uploaded))
        if plan.name:
            names[plan.name] = n
        plans.append(plan)
    for n in sorted({source for plan in plans for source in plan.inputs.values()}):
        for count in _COUNT_FIELDS:
            if int(plans[n].params.get(count, 1) or 1) != 1:
                raise InvalidPlan(f"stages[{n}].params.{count}: a stage that feeds another makes one output")
    return plans


def _parse_stage(
    n: int, item: Any, known: set[str], names: dict[str, int], earlier: list[StagePlan], uploaded: set[str]
) -> StagePlan:
    where = f"stages[{n}]"
    if not isinstance(item, dict):
        raise InvalidPlan(f"{where}: must be an object with pipeline, model_id, params, id and inputs")
    pipeline = item.get("pipeline")
    if not isinstance(pipeline, str) or pipeline not in known:
        raise InvalidPlan(f"{where}.pipeline: {pipeline!r} cannot be a stage; stages can be: {', '.join(sorted(known))}")
    model_id = item.get("model_id") or ""
    params = item.get("params")
    params = {} if params is None else params
    name = item.get("id") or ""
    if not isinstance(model_id, str):
        raise InvalidPlan(f"{where}.model_id: must be a string")
    if not isinstance(params, dict):
        raise InvalidPlan(f"{where}.params: must be an object of the pipeline's fields")
    if name and (not isinstance(name, str) or not _ID.match(name) or name in names):
        raise InvalidPlan(f"{where}.id: {name!r} must be unique, a letter then up to 31 letters, digits, - or _")
    slots = INPUTS[pipeline]
    takes = {key: kind for slot in slots for key, kind in slot.items()}
    raw_inputs = item.get("inputs")
    if raw_inputs is None:
        raw_inputs = _default_input(n, pipeline, slots, params, earlier)
    if not isinstance(raw_inputs, dict):
        raise InvalidPlan(f"{where}.inputs: must map input fields to earlier stages")
    inputs: dict[str, int] = {}
    for key, ref in raw_inputs.items():
        if key not in takes:
            raise InvalidPlan(f"{where}.inputs.{key}: {pipeline} has no such input; it takes {', '.join(takes)}")
        source = names.get(ref) if isinstance(ref, str) else ref
        if not isinstance(source, int) or isinstance(source, bool) or not 0 <= source < n:
            raise InvalidPlan(f"{where}.inputs.{key}: {ref!r} is not an earlier stage (an id or index before {n})")
        made = earlier[source].produces()
        if made != takes[key]:
            raise InvalidPlan(
                f"{where}.inputs.{key}: {pipeline} takes {takes[key]} there, but stages[{source}] "
                f"({earlier[source].pipeline}) makes {made}"
            )
        if key in params:
            raise InvalidPlan(f"{where}.params.{key}: filled by stages[{source}]'s output; leave it out")
        inputs[key] = source
    from_uploads: list[str] = []
    for slot in slots:
        filled = [key for key in slot if key in inputs or key in params]
        if len(filled) > 1:
            raise InvalidPlan(f"{where} ({pipeline}): give one of {' or '.join(slot)}, not {' and '.join(filled)}")
        files = [key for key in slot if slot[key] in FILE_KINDS]
        if filled or not files:
            continue  # a text input left empty is refused by the request's own check
        sent = [key for key in files if key in uploaded]
        if not sent:
            either = " or ".join(f"'{key}'" for key in files)
            raise InvalidPlan(
                f"{where} ({pipeline}) needs {' or '.join(slot[k] for k in files)}: upload it as the multipart file "
                f"{either}, or name an earlier stage in its inputs"
            )
        from_uploads.append(sent[0])
    return StagePlan(str(pipeline), model_id, dict(params), inputs, name, tuple(from_uploads))


def _default_input(
    n: int, pipeline: str, slots: tuple[dict[str, str], ...], params: dict[str, Any], earlier: list[StagePlan]
) -> dict[str, int]:
    """Without `inputs`: the stage before fills the first slot params leave open."""
    open_slots = [slot for slot in slots if not any(key in params for key in slot)]
    if n == 0 or not open_slots:
        return {}
    slot, made = open_slots[0], earlier[n - 1].produces()
    for key, kind in slot.items():
        if kind == made:
            return {key: n - 1}
    wanted = " or ".join(f"{kind} as {key}" for key, kind in slot.items())
    raise InvalidPlan(
        f"stages[{n}] ({pipeline}) takes {wanted}, but stages[{n - 1}] ({earlier[n - 1].pipeline}) makes {made}; "
        f'say where its input comes from with "inputs": {{"{next(iter(slot))}": <id or index of an earlier stage>}}'
    )


def uploads(plans: list[StagePlan]) -> dict[str, list[int]]:
    """The files a job reads from the client's uploads: field → the stages that read it."""
    needed: dict[str, list[int]] = {}
    for n, plan in enumerate(plans):
        for key in plan.uploads:
            needed.setdefault(key, []).append(n)
    return needed


def sinks(plans: list[StagePlan]) -> list[int]:
    """The stages whose outputs no other stage takes: the job's results."""
    fed = {source for plan in plans for source in plan.inputs.values()}
    return [n for n in range(len(plans)) if n not in fed]


def feed(plan: StagePlan, outputs: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """A stage's request fields, each input filled from the output of the stage it names.

    `outputs[n]` holds stage n's output: `file` (its first output file: a path, read
    by the caller when it builds the request, or its bytes) or `text` (audio-to-text's
    transcript).
    """
    fields = dict(plan.params)
    for key, source in plan.inputs.items():
        made = outputs[source]
        value = made.get("text") if plan.kind_of(key) == "text" else made.get("file")
        if value is None or value == "" or value == b"":
            raise InvalidPlan(f"{plan.pipeline} needs {key} from stages[{source}], which made none")
        fields[key] = value
    return fields
