import pytest

from framemesh.gateway.core.states import IllegalTransition
from framemesh.gateway.vod.jobs import (
    JobState,
    SegmentState,
    check_job_move,
    check_segment_move,
    progress,
)


def test_happy_path_is_allowed() -> None:
    path = [JobState.QUEUED, JobState.SEGMENTING, JobState.TRANSCODING, JobState.ASSEMBLING, JobState.COMPLETED]
    for old, new in zip(path, path[1:]):
        check_job_move(old, new)


@pytest.mark.parametrize("terminal", [JobState.COMPLETED, JobState.FAILED])
def test_terminal_states_are_final(terminal: JobState) -> None:
    assert terminal.terminal
    for new in JobState:
        with pytest.raises(IllegalTransition):
            check_job_move(terminal, new)


def test_a_job_cannot_go_back_but_to_be_cut_again() -> None:
    with pytest.raises(IllegalTransition, match="transcoding to queued"):
        check_job_move(JobState.TRANSCODING, JobState.QUEUED)
    with pytest.raises(IllegalTransition, match="assembling to transcoding"):
        check_job_move(JobState.ASSEMBLING, JobState.TRANSCODING)
    check_job_move(JobState.TRANSCODING, JobState.SEGMENTING)  # taken over on another machine


def test_a_done_segment_is_never_redone() -> None:
    for new in SegmentState:
        with pytest.raises(IllegalTransition):
            check_segment_move(SegmentState.DONE, new)


def test_a_failed_orchestrator_puts_the_segment_back() -> None:
    check_segment_move(SegmentState.RUNNING, SegmentState.PENDING)
    with pytest.raises(IllegalTransition):
        check_segment_move(SegmentState.PENDING, SegmentState.DONE)


def test_progress_bounds() -> None:
    assert progress(0, 0) == 0.0
    assert progress(3, 4) == 0.75
    assert progress(5, 4) == 1.0
