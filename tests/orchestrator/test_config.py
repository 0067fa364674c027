from pathlib import Path

import pytest

from framemesh.orchestrator.config import OrchestratorConfig


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"capacity": 0}, "capacity"),
        ({"price_per_pixel": -1}, "price_per_pixel"),
        ({"profiles": ("720p", "1440p")}, "profiles"),
        ({"max_segment_bytes": 0}, "max_segment_bytes"),
        ({"slow_seconds": -1.0}, "slow_seconds"),
        ({"fail_share": 1.5}, "fail_share"),
    ],
)
def test_orchestrator_config_names_the_bad_key(tmp_path: Path, kwargs: dict[str, object], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        OrchestratorConfig(data_dir=tmp_path, **kwargs)  # type: ignore[arg-type]



def test_describe_is_printable(tmp_path: Path) -> None:
    described = OrchestratorConfig(data_dir=tmp_path).describe()
    assert described["capacity"] == 2 and described["price_per_pixel"] == 1000
