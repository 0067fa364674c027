"""Staged AI jobs, the pure part: which stage may follow which, how an output feeds
the next request, and the states a job and a stage may go through."""

from __future__ import annotations

import re

import pytest

from framemesh.gateway.ai_jobs import (
    AIJobState,
    InvalidPlan,
    StagePlan,
    StageState,
    check_ai_job_move,
    check_stage_move,
    feed,
    first_stage_input,
    parse_plan,
)
from framemesh.gateway.jobs import IllegalTransition


def test_layered_then_animated_plan_parses() -> None:
    plans = parse_plan([
        {"pipeline": "text-to-image", "params": {"prompt": "a lighthouse", "width": 256, "height": 256}},
        {"pipeline": "upscale", "model_id": "realesrgan/x2"},
        {"pipeline": "image-to-video", "params": {"fps": 6}},
    ])
    assert [p.pipeline for p in plans] == ["text-to-image", "upscale", "image-to-video"]
    assert plans[1].model_id == "realesrgan/x2" and plans[0].model_id == ""
    assert plans[2].params == {"fps": 6}


@pytest.mark.parametrize(
    ("stages", "words"),
    [
        ([], "non-empty list"),
        ("text-to-image", "non-empty list"),
        ([{"pipeline": "dance"}], "'dance' cannot be a stage"),
        ([{"pipeline": "image-to-video"}, {"pipeline": "upscale"}], "upscale) takes image, but stages[0] (image-to-video) makes video"),
        ([{"pipeline": "text-to-speech"}, {"pipeline": "upscale"}], "makes audio"),
        ([{"pipeline": "text-to-image", "params": {"num_images_per_prompt": 2}}, {"pipeline": "upscale"}], "makes one output"),
        ([{"pipeline": "text-to-speech"}, {"pipeline": "audio-to-text", "params": {"audio": "x"}}], "params.audio: filled by stages[0]"),
        ([{"pipeline": "upscale", "params": []}], "params: must be an object"),
        ([{"pipeline": "upscale", "model_id": 3}], "model_id: must be a string"),
        ([{"pipeline": "upscale"}] * 9, "at most 8 stages"),
    ],
)
def test_impossible_plans_say_which_stage_and_why(stages: object, words: str) -> None:
    with pytest.raises(InvalidPlan, match=re.escape(words)):
        parse_plan(stages)


def test_outputs_feed_the_field_the_next_pipeline_takes() -> None:
    upscale = StagePlan("upscale", "realesrgan/x2", {"prompt": ""})
    assert feed(upscale, {"file": b"png", "text": None}) == {"prompt": "", "image": b"png"}
    speech = StagePlan("text-to-speech", "piper", {})
    assert feed(speech, {"file": None, "text": "hello there"}) == {"text": "hello there"}
    picture = StagePlan("text-to-image", "sd", {"width": 64})
    assert feed(picture, {"text": "a red boat"}) == {"width": 64, "prompt": "a red boat"}
    with pytest.raises(InvalidPlan, match="needs text from the previous stage"):
        feed(speech, {"file": b"x", "text": ""})


def test_the_first_stage_says_which_upload_it_needs() -> None:
    assert first_stage_input(StagePlan("upscale", "", {})) == "image"
    assert first_stage_input(StagePlan("audio-to-text", "", {})) == "audio"
    assert first_stage_input(StagePlan("text-to-image", "", {})) is None
    assert first_stage_input(StagePlan("text-to-speech", "", {})) is None


def test_states_only_move_forward() -> None:
    check_ai_job_move(AIJobState.QUEUED, AIJobState.RUNNING)
    check_ai_job_move(AIJobState.RUNNING, AIJobState.RUNNING)  # a restarted gateway
    check_stage_move(StageState.RUNNING, StageState.PENDING)  # requeued after a restart
    for old, new in ((AIJobState.COMPLETED, AIJobState.RUNNING), (AIJobState.FAILED, AIJobState.COMPLETED)):
        with pytest.raises(IllegalTransition):
            check_ai_job_move(old, new)
    with pytest.raises(IllegalTransition, match="a stage cannot go from done to running"):
        check_stage_move(StageState.DONE, StageState.RUNNING)
