"""`framemesh keys init` and `framemesh verify`, mounted as the main app will mount them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from framemesh.cli.provenance import TRUST_ENV, keys_app, verify
from framemesh.provenance import DevCA, read_provenance, sign_file

from .conftest import ADDRESS
from .media import flip
from .test_sign import generated

app = typer.Typer()
app.add_typer(keys_app, name="keys")
app.command()(verify)
runner = CliRunner()


@pytest.fixture(scope="module")
def signed(media, identity, tmp_path_factory) -> Path:
    return sign_file(media["png"], tmp_path_factory.mktemp("cli") / "art.png", identity, generated())


@pytest.fixture(autouse=True)
def no_ambient_trust(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv(TRUST_ENV, raising=False)
    monkeypatch.chdir(tmp_path)  # no framemesh-data/keys/ca.pem here


def test_keys_init_makes_an_identity_verifiers_can_trust(tmp_path, media) -> None:
    result = runner.invoke(
        app, ["keys", "init", "--dir", str(tmp_path / "k"), "--address", ADDRESS.lower(), "--name", "orch-9"]
    )
    assert result.exit_code == 0, result.output
    assert "orch-9" in result.output and "ca.pem" in result.output
    files = sorted(p.name for p in (tmp_path / "k").iterdir())
    assert files[:2] == [
        "0xA1A1a1a1A1A1A1A1A1a1a1a1a1a1A1A1a1A1a1a1.chain.pem",
        "0xA1A1a1a1A1A1A1A1A1a1a1a1a1a1A1A1a1A1a1a1.key.pem",
    ]
    assert "ca.pem" in files


def test_keys_init_bad_address_is_one_line(tmp_path) -> None:
    result = runner.invoke(app, ["keys", "init", "--dir", str(tmp_path), "--address", "0x12", "--name", "x"])
    assert result.exit_code == 1
    assert "not an Ethereum address" in result.output and "Traceback" not in result.output


def test_verify_prints_the_chain_in_words(signed, keys_dir) -> None:
    result = runner.invoke(app, ["verify", str(signed), "--trust", str(keys_dir / "ca.pem")])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "VALID" in text
    assert "orchestrator-a (framemesh), orchestrator 0xA1A1" in text
    assert "bound by certificate" in text
    assert "pipeline text-to-image model tiny-sd" in text
    assert "job: job-7" in text and "when: 2026-11-25T10:00:00Z" in text


def test_verify_untrusted_says_so_and_exits_zero(signed) -> None:
    other = DevCA.create("elsewhere")
    Path("other.pem").write_text(other.pem)
    result = runner.invoke(app, ["verify", str(signed), "--trust", "other.pem"])
    assert result.exit_code == 0
    assert "UNTRUSTED" in result.output


def test_verify_trusts_the_env_anchors(signed, keys_dir, monkeypatch) -> None:
    monkeypatch.setenv(TRUST_ENV, str(keys_dir / "ca.pem"))
    assert "VALID" in runner.invoke(app, ["verify", str(signed)]).output


def test_verify_trusts_the_default_dev_ca(signed, keys_dir) -> None:
    Path("framemesh-data/keys").mkdir(parents=True)
    Path("framemesh-data/keys/ca.pem").write_text((keys_dir / "ca.pem").read_text())
    result = runner.invoke(app, ["verify", str(signed)])
    assert result.exit_code == 0 and "VALID" in result.output and "UNTRUSTED" not in result.output


def test_verify_tampered_exits_non_zero(signed, keys_dir, tmp_path) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(signed.read_bytes())
    flip(bad, bad.read_bytes().index(b"IDAT") + 20)
    result = runner.invoke(app, ["verify", str(bad), "--trust", str(keys_dir / "ca.pem")])
    assert result.exit_code == 1
    assert "TAMPERED" in result.output and "mismatch" in result.output


def test_verify_unsigned_and_unreadable(media, tmp_path) -> None:
    assert runner.invoke(app, ["verify", str(media["wav"])]).exit_code == 1
    result = runner.invoke(app, ["verify", str(tmp_path / "nope.mp4")])
    assert result.exit_code == 2
    assert "error:" in result.output and "cannot read nope.mp4" in result.output
    assert len(result.output.strip().splitlines()) == 1
    result = runner.invoke(app, ["verify", "notes.txt"])
    assert result.exit_code == 2 and "cannot carry a C2PA manifest" in result.output
    json_result = runner.invoke(app, ["verify", "notes.txt", "--json"])
    assert json_result.exit_code == 2 and json.loads(json_result.output)["status"] == "unsupported"


def test_verify_json(signed, keys_dir) -> None:
    result = runner.invoke(app, ["verify", str(signed), "--json", "--trust", str(keys_dir / "ca.pem")])
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data == json.loads(read_provenance(signed, trust_anchors=[(keys_dir / "ca.pem").read_text()]).to_json())
    assert data["status"] == "valid" and data["manifests"][0]["job_id"] == "job-7"


def test_verify_bad_trust_file_is_one_line(signed) -> None:
    Path("x.pem").write_text("hello")
    result = runner.invoke(app, ["verify", str(signed), "--trust", "x.pem"])
    assert result.exit_code == 2 and "not a PEM certificate" in result.output
    result = runner.invoke(app, ["verify", str(signed), "--trust", "missing.pem"])
    assert result.exit_code == 2 and "cannot read" in result.output
