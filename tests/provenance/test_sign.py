"""Signing every format framemesh emits, and refusing what cannot be signed soundly."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from pathlib import Path

import av
import pytest

from framemesh.provenance import (
    Facts,
    Ingredient,
    InvalidFacts,
    SigningError,
    UnsupportedFormat,
    read_provenance,
    sign_file,
)
from framemesh.provenance.sign import TRAINED_ALGORITHMIC_MEDIA

from .conftest import ADDRESS, OTHER_ADDRESS
from .media import count_frames

WHEN = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)


def generated(**extra: object) -> Facts:
    values: dict = {
        "kind": "generated",
        "address": ADDRESS,
        "job_id": "job-7",
        "pipeline": "text-to-image",
        "model": "tiny-sd",
        "created": WHEN,
    }
    values.update(extra)
    return Facts(**values)


def transcoded(source: Path, **extra: object) -> Facts:
    values: dict = {
        "kind": "transcoded",
        "address": ADDRESS,
        "job_id": "job-8",
        "pipeline": "transcode",
        "ingredients": [(source, "parentOf")],
        "created": WHEN,
    }
    values.update(extra)
    return Facts(**values)


@pytest.mark.parametrize("fmt", ["png", "jpg", "wav", "mp3"])
def test_generated_media_of_every_format_signs_and_verifies(fmt, media, identity, ca_pem, tmp_path) -> None:
    out = sign_file(media[fmt], tmp_path / f"out.{fmt}", identity, generated())
    verdict = read_provenance(out, trust_anchors=[ca_pem])
    assert verdict.status == "valid", verdict.problems
    m = verdict.active
    assert m is not None
    assert m.actions == ("c2pa.created",)
    assert m.digital_source_type == TRAINED_ALGORITHMIC_MEDIA
    assert (m.signer, m.organization, m.issuer) == ("orchestrator-a", "framemesh", "framemesh dev CA")
    assert m.address == identity.address and m.address_bound_by == ("certificate",)
    assert (m.pipeline, m.model, m.job_id) == ("text-to-image", "tiny-sd", "job-7")
    assert m.time == "2026-11-25T10:00:00Z"
    assert m.software_agent is not None and "text-to-image" in m.software_agent and "tiny-sd" in m.software_agent
    assert m.claim_generator is not None and m.claim_generator.startswith("framemesh")


@pytest.mark.parametrize("fmt", ["mp4", "fmp4"])
def test_transcoded_video_signs_verifies_and_still_plays(fmt, media, identity, ca_pem, tmp_path) -> None:
    out = sign_file(media[fmt], tmp_path / "out.mp4", identity, transcoded(media["mp4"], resized=True))
    verdict = read_provenance(out, trust_anchors=[ca_pem])
    assert verdict.status == "valid", verdict.problems
    assert verdict.active is not None
    assert verdict.active.actions == ("c2pa.opened", "c2pa.transcoded", "c2pa.resized")
    assert verdict.active.ingredients == ("source.mp4",)
    assert verdict.active.pipeline == "transcode" and verdict.active.model is None
    assert count_frames(out) == count_frames(media[fmt]) == 30


def test_transcode_without_resize_has_no_resized_action(media, identity, ca_pem, tmp_path) -> None:
    out = sign_file(media["fmp4"], tmp_path / "out.mp4", identity, transcoded(media["mp4"]))
    assert read_provenance(out, trust_anchors=[ca_pem]).active.actions == ("c2pa.opened", "c2pa.transcoded")


def test_sign_in_place(media, identity, ca_pem, tmp_path) -> None:
    path = Path(shutil.copy(media["png"], tmp_path / "x.png"))
    assert sign_file(path, path, identity, generated()) == path
    assert read_provenance(path, trust_anchors=[ca_pem]).status == "valid"
    assert [p.name for p in tmp_path.iterdir()] == ["x.png"]  # no temporary left behind


def test_signing_twice_keeps_the_first_manifest_as_history(media, identity, ca_pem, tmp_path) -> None:
    once = sign_file(media["png"], tmp_path / "once.png", identity, generated(job_id="first"))
    twice = sign_file(
        once, tmp_path / "twice.png", identity, generated(job_id="second", ingredients=[Ingredient(once, "inputTo")])
    )
    verdict = read_provenance(twice, trust_anchors=[ca_pem])
    assert verdict.status == "valid", verdict.problems
    assert [m.job_id for m in verdict.manifests] == ["second", "first"]


def test_unsupported_format_lists_the_supported_ones(tmp_path, identity) -> None:
    src = tmp_path / "clip.ts"
    src.write_bytes(b"\x47" * 188)
    with pytest.raises(UnsupportedFormat, match=r"supported: .*\.mp4.*\.png"):
        sign_file(src, tmp_path / "out.ts", identity, generated())


def test_dest_must_keep_the_format(media, identity, tmp_path) -> None:
    with pytest.raises(InvalidFacts, match="must keep the type"):
        sign_file(media["png"], tmp_path / "out.jpg", identity, generated())


def test_missing_source_and_ingredient(media, identity, tmp_path) -> None:
    with pytest.raises(SigningError, match="no such file"):
        sign_file(tmp_path / "nope.png", tmp_path / "out.png", identity, generated())
    with pytest.raises(InvalidFacts, match="ingredient .* is missing"):
        sign_file(
            media["png"], tmp_path / "out.png", identity, generated(ingredients=[(tmp_path / "gone.png", "inputTo")])
        )


def test_corrupt_media_is_a_signing_error(identity, tmp_path) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"this is not a png at all" * 10)
    with pytest.raises(SigningError, match="cannot sign bad.png"):
        sign_file(bad, tmp_path / "out.png", identity, generated())
    assert not (tmp_path / "out.png").exists()


def test_facts_naming_another_orchestrator_than_the_certificate_are_refused(media, identity, tmp_path) -> None:
    with pytest.raises(InvalidFacts, match="certificate binds"):
        sign_file(media["png"], tmp_path / "out.png", identity, generated(address=OTHER_ADDRESS))


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"kind": "edited"}, "kind must be"),
        ({"address": "0x12"}, "not an Ethereum address"),
        ({"job_id": ""}, "need a job_id"),
        ({"created": dt.datetime(2026, 1, 1)}, "timezone-aware"),
        ({"ingredients": [(Path("a.png"), "parentOf")]}, "no parentOf"),
        ({"ingredients": [(Path("a.png"), "siblingOf")]}, "relationship must be"),
    ],
)
def test_inconsistent_facts_are_refused(values, message) -> None:
    with pytest.raises(InvalidFacts, match=message):
        generated(**values)


def test_a_transcode_needs_exactly_one_source() -> None:
    with pytest.raises(InvalidFacts, match="exactly one parentOf"):
        Facts(kind="transcoded", address=ADDRESS, job_id="j", pipeline="transcode")


def test_facts_checksum_the_address() -> None:
    assert generated(address=ADDRESS.lower()).address == generated(address=ADDRESS.upper().replace("0X", "0x")).address


def test_matroska_source_segment_is_described_with_its_hash(media, identity, ca_pem, tmp_path) -> None:
    """The gateway's source segments are Matroska, which c2pa cannot read: the
    transcode names them by title, format and SHA-256."""
    segment = tmp_path / "seg_00003.mkv"
    with av.open(str(media["mp4"])) as src, av.open(str(segment), "w") as dst:
        streams = {s.index: dst.add_stream_from_template(s) for s in src.streams}
        for packet in src.demux():
            if packet.dts is not None:
                packet.stream = streams[packet.stream.index]
                dst.mux(packet)
    out = sign_file(media["fmp4"], tmp_path / "out.mp4", identity, transcoded(segment))
    verdict = read_provenance(out, trust_anchors=[ca_pem])
    assert verdict.status == "valid", verdict.problems
    m = verdict.active
    assert m is not None and m.ingredients == ("seg_00003.mkv",)
    assert m.ingredient_sha256 == (hashlib.sha256(segment.read_bytes()).hexdigest(),)
    assert m.actions == ("c2pa.opened", "c2pa.transcoded")


def test_read_in_ingredients_carry_their_hash_too(media, identity, ca_pem, tmp_path) -> None:
    out = sign_file(media["fmp4"], tmp_path / "out.mp4", identity, transcoded(media["mp4"]))
    m = read_provenance(out, trust_anchors=[ca_pem]).active
    assert m is not None and m.ingredient_sha256 == (hashlib.sha256(media["mp4"].read_bytes()).hexdigest(),)
