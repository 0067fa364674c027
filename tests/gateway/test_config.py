from pathlib import Path

import pytest

from framemesh.gateway.config import GatewayConfig


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"orchestrators": ("localhost:8935",)}, "orchestrators"),
        ({"default_profiles": ("720p", "4k")}, "default_profiles"),
        ({"max_upload_bytes": 0}, "max_upload_bytes"),
        ({"segment_duration": 0}, "segment_duration"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"score_window": 0}, "score_window"),
        ({"score_retention": -1.0}, "score_retention"),
        ({"probe_interval": 0.0}, "probe_interval"),
        ({"database": "mysql://u:secret@h/db"}, "database: 'mysql://u:\\*\\*\\*@h/db' is not a postgresql://"),
        ({"object_store": "http://bucket"}, "object_store: .*s3://BUCKET"),
        ({"object_store": "s3://b"}, "object_store: .*bucket 'b'"),
        ({"object_store_retry_max": 0.0}, "object_store_retry_max"),
    ],
)
def test_gateway_config_names_the_bad_key(tmp_path: Path, kwargs: dict[str, object], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        GatewayConfig(data_dir=tmp_path, **kwargs)  # type: ignore[arg-type]


def test_describe_is_printable(tmp_path: Path) -> None:
    described = GatewayConfig(data_dir=tmp_path, orchestrators=("http://a:1",)).describe()
    assert described["orchestrators"] == ["http://a:1"]
    assert described["max_attempts"] == 5


def test_describe_says_how_scores_are_used(tmp_path: Path) -> None:
    shipped = GatewayConfig(data_dir=tmp_path).describe()
    assert "weighed by selection" in str(shipped["scores"]) and shipped["test_jobs"] == "off"
    off = GatewayConfig(data_dir=tmp_path, score_weights=False, probe_interval=30.0).describe()
    assert "NOT weighed" in str(off["scores"]) and off["test_jobs"] == "every 30 s when idle"


def test_the_object_store_is_described_without_credentials(tmp_path: Path) -> None:
    assert GatewayConfig(data_dir=tmp_path).describe()["object_store"] == f"local folder {tmp_path / 'outputs'}"
    stored = GatewayConfig(data_dir=tmp_path, object_store="s3://fm-out?endpoint=http://127.0.0.1:8333")
    assert stored.describe()["object_store"] == "s3://fm-out?endpoint=http://127.0.0.1:8333"
