import random

from hypothesis import given, strategies as st

from framemesh.gateway.config import GatewayConfig
from framemesh.gateway.core.checks import should_check


def test_a_new_orchestrator_is_always_checked() -> None:
    rng = random.Random(0)
    assert all(should_check(n, rng, first=5, fraction=0.0) for n in range(5))
    assert not should_check(5, rng, first=5, fraction=0.0)


def test_then_a_fraction_is_checked() -> None:
    rng = random.Random(1)
    hits = sum(should_check(100, rng, first=5, fraction=0.25) for _ in range(4000))
    assert 850 < hits < 1150  # binomial(4000, 1/4): mean 1000, sd 27


@given(st.integers(0, 1000), st.integers(0, 2**32))
def test_fraction_one_checks_everything(successes: int, seed: int) -> None:
    assert should_check(successes, random.Random(seed), first=0, fraction=1.0)


def test_config_refuses_a_fraction_out_of_range(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pytest

    with pytest.raises(ValueError, match="verify_fraction"):
        GatewayConfig(data_dir=tmp_path, verify_fraction=1.5)
