from __future__ import annotations

import pickle

import pytest

from framemesh.ai import errors


@pytest.mark.parametrize(
    "cls",
    [errors.InvalidRequest, errors.UnknownModel, errors.ConfigError, errors.ModelLoadError,
     errors.PipelineFailed, errors.WorkerDied],
)
def test_every_error_has_one_root_and_crosses_processes(cls: type[errors.AIError]) -> None:
    assert issubclass(cls, errors.AIError)
    copy = pickle.loads(pickle.dumps(cls("what went wrong")))
    assert type(copy) is cls and str(copy) == "what went wrong"


def test_client_errors_are_value_errors() -> None:
    assert issubclass(errors.UnknownModel, errors.InvalidRequest)
    assert issubclass(errors.InvalidRequest, ValueError)
    assert not issubclass(errors.WorkerDied, errors.InvalidRequest)
