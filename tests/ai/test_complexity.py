from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from framemesh.ai.complexity import choose_steps, prompt_complexity


def test_a_detailed_prompt_gets_more_steps_than_a_plain_one() -> None:
    plain = choose_steps("a cat", 4, 30)
    detailed = choose_steps(
        "a cyberpunk street market at night, 3 neon signs, rain on cobblestones, "
        "reflections, crowded stalls selling noodles, volumetric fog, cinematic lighting",
        4,
        30,
    )
    assert plain < 10
    assert detailed > 20


def test_bad_range_raises() -> None:
    with pytest.raises(ValueError, match="lo <= hi"):
        choose_steps("x", 10, 5)


@given(st.text(max_size=300), st.integers(1, 50), st.integers(0, 50))
def test_steps_stay_in_range(prompt: str, lo: int, extra: int) -> None:
    steps = choose_steps(prompt, lo, lo + extra)
    assert lo <= steps <= lo + extra
    assert 0.0 <= prompt_complexity(prompt) <= 1.0
