"""`framemesh ai`'s stage syntax: what a user types becomes the gateway's JSON."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from framemesh.cli.ai_jobs import StageSyntaxError, parse_stage, parse_uploads
from framemesh.cli.main import app


def test_a_stage_line_becomes_the_gateways_json() -> None:
    assert parse_stage('text-to-image@framemesh/tiny-sd prompt="a lighthouse at dusk" width=256 seed=7 safety_check=false') == {
        "pipeline": "text-to-image",
        "model_id": "framemesh/tiny-sd",
        "params": {"prompt": "a lighthouse at dusk", "width": 256, "seed": 7, "safety_check": False},
    }
    assert parse_stage("mux id=final in.video=big in.audio=1 fit=video") == {
        "pipeline": "mux", "id": "final", "inputs": {"video": "big", "audio": 1}, "params": {"fit": "video"},
    }
    assert parse_stage("upscale") == {"pipeline": "upscale"}
    assert parse_stage('text-to-speech text="[1, 2]"')["params"] == {"text": "[1, 2]"}, "only scalars are read as JSON"


@pytest.mark.parametrize(
    ("line", "words"),
    [("", "an empty --stage"), ("prompt=x", "start with the pipeline"), ("upscale scale", "write FIELD=VALUE"),
     ('text-to-image prompt="open', "No closing quotation")],
)
def test_bad_stage_lines_say_what_to_write(line: str, words: str) -> None:
    with pytest.raises(StageSyntaxError, match=words):
        parse_stage(line)


def test_uploads_name_a_field_and_an_existing_file(tmp_path: Path) -> None:
    photo = tmp_path / "p.png"
    photo.write_bytes(b"x")
    assert parse_uploads([f"image={photo}"]) == {"image": photo}
    with pytest.raises(StageSyntaxError, match="write image=FILE"):
        parse_uploads([f"picture={photo}"])
    with pytest.raises(StageSyntaxError, match="no such file"):
        parse_uploads([f"audio={tmp_path / 'none.wav'}"])


def test_the_cli_refuses_before_calling_any_gateway(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["ai", "run", "--gateway", "http://127.0.0.1:9", "--stage", "upscale scale"])
    assert result.exit_code != 0 and "write FIELD=VALUE" in result.output
    result = runner.invoke(app, ["ai", "run", "--gateway", "http://127.0.0.1:9"])
    assert result.exit_code != 0 and "one of the two" in result.output
    result = runner.invoke(app, ["ai", "run", "--gateway", "http://127.0.0.1:9", "--stage", "upscale"])
    assert result.exit_code != 0 and "cannot reach the gateway" in result.output
