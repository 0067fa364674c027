"""Staged AI jobs, the pure part: which stage may take which output, how outputs fill
a stage's request, which uploads a job needs, which stages are its results, and the
states a job and a stage may go through."""

from __future__ import annotations

import re

import pytest

from framemesh.gateway.ai.jobs import (
    AIJobState,
    InvalidPlan,
    StagePlan,
    StageState,
    check_ai_job_move,
    check_stage_move,
    feed,
    parse_plan,
    sinks,
    uploads,
)
from framemesh.gateway.core.states import IllegalTransition


def test_a_chain_fills_each_stage_from_the_one_before() -> None:
    plans = parse_plan([
        {"pipeline": "text-to-image", "params": {"prompt": "a lighthouse", "width": 256, "height": 256}},
        {"pipeline": "upscale", "model_id": "realesrgan/x2"},
        {"pipeline": "image-to-video", "params": {"fps": 6}},
    ])
    assert [p.pipeline for p in plans] == ["text-to-image", "upscale", "image-to-video"]
    assert [p.inputs for p in plans] == [{}, {"image": 0}, {"image": 1}]
    assert plans[1].model_id == "realesrgan/x2" and plans[0].model_id == ""
    assert sinks(plans) == [2] and uploads(plans) == {}


def test_a_graph_names_its_inputs_and_branches_run_apart() -> None:
    plans = parse_plan([
        {"id": "picture", "pipeline": "text-to-image", "params": {"prompt": "a harbour"}},
        {"id": "voice", "pipeline": "text-to-speech", "params": {"text": "The harbour at dawn."}},
        {"pipeline": "upscale", "inputs": {"image": "picture"}},
        {"pipeline": "audio-to-text", "inputs": {"audio": "voice"}},
        {"pipeline": "image-to-image", "inputs": {"image": 2}, "params": {"prompt": "in oil paint"}},
    ])
    assert [p.inputs for p in plans] == [{}, {}, {"image": 0}, {"audio": 1}, {"image": 2}]
    assert [p.name for p in plans[:2]] == ["picture", "voice"]
    assert sinks(plans) == [3, 4], "the results: the stages nothing else takes"


def test_uploads_are_the_file_inputs_no_stage_fills() -> None:
    plans = parse_plan(
        [
            {"pipeline": "upscale"},
            {"pipeline": "audio-to-text", "inputs": {}},
            {"pipeline": "image-to-video", "inputs": {"image": 0}},
        ],
        uploaded={"image", "audio"},
    )
    assert uploads(plans) == {"image": [0], "audio": [1]}
    assert uploads(parse_plan([{"pipeline": "text-to-image", "params": {"prompt": "x"}}])) == {}
    with pytest.raises(InvalidPlan, match=re.escape("stages[1] (audio-to-text) needs audio: upload it as the multipart file 'audio'")):
        parse_plan([{"pipeline": "upscale"}, {"pipeline": "audio-to-text", "inputs": {}}], uploaded={"image"})


def test_the_design_example_animates_upscales_and_narrates() -> None:
    """text-to-image → image-to-video → upscale, with text-to-speech audio muxed in."""
    plans = parse_plan([
        {"pipeline": "text-to-image", "params": {"prompt": "a lighthouse"}},
        {"pipeline": "image-to-video"},
        {"id": "big", "pipeline": "upscale"},
        {"id": "voice", "pipeline": "text-to-speech", "params": {"text": "The lighthouse at dusk."}},
        {"pipeline": "mux", "inputs": {"video": "big", "audio": "voice"}},
    ])
    assert [p.inputs for p in plans] == [{}, {"image": 0}, {"video": 1}, {}, {"video": 2, "audio": 3}]
    assert [p.produces() for p in plans] == ["image", "video", "video", "audio", "video"]
    assert sinks(plans) == [4] and uploads(plans) == {}


def test_a_chained_mux_takes_the_video_before_it_and_an_uploaded_track() -> None:
    plans = parse_plan([{"pipeline": "upscale"}, {"pipeline": "mux"}], uploaded={"video", "audio"})
    assert plans[0].uploads == ("video",) and plans[0].produces() == "video"
    assert (plans[1].inputs, plans[1].uploads) == ({"video": 0}, ("audio",))


@pytest.mark.parametrize(
    ("stages", "words"),
    [
        ([], "non-empty list"),
        ("text-to-image", "non-empty list"),
        ([{"pipeline": "dance"}], "'dance' cannot be a stage"),
        ([{"pipeline": {}, "model_id": "", "params": {}}], "stages[0].pipeline: {} cannot be a stage"),
        ([{"pipeline": ["upscale"]}], "['upscale'] cannot be a stage"),
        ([{"pipeline": "text-to-speech"}, {"pipeline": "upscale"}],
         "stages[1] (upscale) takes image as image or video as video, but stages[0] (text-to-speech) makes audio"),
        ([{"pipeline": "text-to-speech"}, {"pipeline": "mux"}], "stages[1] (mux) takes video as video, but stages[0]"),
        ([{"pipeline": "image-to-video"}, {"pipeline": "image-to-image"}], "takes image as image, but stages[0] (image-to-video) makes video"),
        ([{"pipeline": "text-to-image", "params": {"num_images_per_prompt": 2}}, {"pipeline": "upscale"}], "makes one output"),
        ([{"pipeline": "text-to-speech"}, {"pipeline": "audio-to-text", "inputs": {"audio": 0}, "params": {"audio": "x"}}],
         "params.audio: filled by stages[0]"),
        ([{"pipeline": "upscale", "params": []}], "params: must be an object"),
        ([{"pipeline": "upscale", "model_id": 3}], "model_id: must be a string"),
        ([{"pipeline": "upscale"}] * 9, "at most 8 stages"),
        ([{"pipeline": "upscale", "inputs": {"image": 0}}], "0 is not an earlier stage"),
        ([{"pipeline": "upscale"}], "stages[0] (upscale) needs image or video: upload it as the multipart file 'image' or 'video'"),
        ([{"pipeline": "text-to-image"}, {"pipeline": "image-to-video"}, {"pipeline": "upscale", "inputs": {"image": 0, "video": 1}}],
         "stages[2] (upscale): give one of image or video, not image and video"),
        ([{"pipeline": "upscale"}, {"pipeline": "upscale", "inputs": {"image": "later"}}], "'later' is not an earlier stage"),
        ([{"pipeline": "upscale"}, {"pipeline": "upscale", "inputs": {"audio": 0}}], "upscale has no such input"),
        ([{"pipeline": "upscale", "id": "a"}, {"pipeline": "upscale", "id": "a"}], "'a' must be unique"),
        ([{"pipeline": "upscale", "id": "1x"}], "'1x' must be unique, a letter"),
        ([{"pipeline": "text-to-speech"}, {"pipeline": "upscale", "inputs": {"image": 0}}],
         "inputs.image: upscale takes image there, but stages[0] (text-to-speech) makes audio"),
    ],
)
def test_impossible_plans_say_which_stage_and_why(stages: object, words: str) -> None:
    with pytest.raises(InvalidPlan, match=re.escape(words)):
        parse_plan(stages, uploaded={"image"} if "needs image" not in words else ())


def test_outputs_fill_the_fields_their_stages_name() -> None:
    upscale = StagePlan("upscale", "realesrgan/x2", {"prompt": ""}, {"image": 0})
    assert feed(upscale, {0: {"file": b"png", "text": None}}) == {"prompt": "", "image": b"png"}
    speech = StagePlan("text-to-speech", "piper", {}, {"text": 3})
    assert feed(speech, {3: {"file": None, "text": "hello there"}}) == {"text": "hello there"}
    picture = StagePlan("text-to-image", "sd", {"width": 64}, {"prompt": 1})
    assert feed(picture, {1: {"text": "a red boat"}}) == {"width": 64, "prompt": "a red boat"}
    assert feed(StagePlan("upscale", "x", {"seed": 1}), {}) == {"seed": 1}, "no inputs: the params as given"
    with pytest.raises(InvalidPlan, match=re.escape("needs text from stages[3], which made none")):
        feed(speech, {3: {"file": b"x", "text": ""}})


def test_states_only_move_forward() -> None:
    check_ai_job_move(AIJobState.QUEUED, AIJobState.RUNNING)
    check_ai_job_move(AIJobState.RUNNING, AIJobState.RUNNING)  # a restarted gateway
    check_stage_move(StageState.RUNNING, StageState.PENDING)  # requeued after a restart
    check_ai_job_move(AIJobState.RUNNING, AIJobState.CANCELLED)
    assert AIJobState.CANCELLED.terminal
    with pytest.raises(IllegalTransition):
        check_ai_job_move(AIJobState.CANCELLED, AIJobState.RUNNING)
    for old, new in ((AIJobState.COMPLETED, AIJobState.RUNNING), (AIJobState.FAILED, AIJobState.COMPLETED)):
        with pytest.raises(IllegalTransition):
            check_ai_job_move(old, new)
    with pytest.raises(IllegalTransition, match="a stage cannot go from done to running"):
        check_stage_move(StageState.DONE, StageState.RUNNING)
