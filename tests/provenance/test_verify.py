"""Reading provenance: every kind of bad input gets a clear verdict, never an exception."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import pytest
from cryptography.x509.oid import ExtendedKeyUsageOID

from framemesh.media.mp4 import read_boxes
from framemesh.provenance import (
    DevCA,
    Facts,
    Ingredient,
    SigningError,
    read_provenance,
    sign_file,
)

from .conftest import ADDRESS, OTHER_ADDRESS
from .media import flip
from .test_sign import generated, transcoded


@pytest.fixture(scope="module")
def signed(media, identity, tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("signed")
    out = {
        fmt: sign_file(media[fmt], d / f"signed.{fmt}", identity, generated()) for fmt in ("png", "jpg", "wav", "mp3")
    }
    out["mp4"] = sign_file(media["mp4"], d / "signed.mp4", identity, transcoded(media["mp4"]))
    out["fmp4"] = sign_file(media["fmp4"], d / "signed-f.mp4", identity, transcoded(media["mp4"]))
    return out


def copy(path: Path, tmp_path: Path) -> Path:
    dest = tmp_path / path.name
    dest.write_bytes(path.read_bytes())
    return dest


def media_offset(path: Path) -> int:
    """A byte inside the picture/sound, away from the manifest."""
    data = path.read_bytes()
    if path.suffix == ".png":
        return data.index(b"IDAT") + 20
    if path.suffix == ".mp4":
        mdat = next(b for b in read_boxes(path) if b.type == "mdat")
        return mdat.offset + mdat.size // 2
    if path.suffix == ".wav":
        return data.index(b"data") + 2000
    return len(data) - 200  # jpg: entropy-coded scan; mp3: the last frames


MEDIA_FORMATS = ["png", "jpg", "wav", "mp3", "mp4", "fmp4"]


@pytest.mark.parametrize("fmt", MEDIA_FORMATS)
def test_one_flipped_media_byte_reads_tampered(fmt, signed, ca_pem, tmp_path) -> None:
    path = copy(signed[fmt], tmp_path)
    assert read_provenance(path, trust_anchors=[ca_pem]).status == "valid"
    flip(path, media_offset(path))
    verdict = read_provenance(path, trust_anchors=[ca_pem])
    assert verdict.status == "tampered"
    assert any("mismatch" in p for p in verdict.problems), verdict.problems
    assert not verdict.ok


@pytest.mark.parametrize("fmt", MEDIA_FORMATS)
def test_an_edited_manifest_reads_tampered(fmt, signed, ca_pem, tmp_path) -> None:
    path = copy(signed[fmt], tmp_path)
    data = path.read_bytes()
    assert data.count(b"job-7") + data.count(b"job-8") == 1
    edited = data.replace(b"job-7", b"job-9").replace(b"job-8", b"job-9")  # same length: only the claim changes
    path.write_bytes(edited)
    verdict = read_provenance(path, trust_anchors=[ca_pem])
    assert verdict.status == "tampered", verdict.problems
    assert any("mismatch" in p for p in verdict.problems)


def test_flipped_bytes_in_the_manifest_are_refused_or_harmless(signed, ca_pem, tmp_path) -> None:
    """Every byte of the manifest box, flipped in turn (every 13th): each reads tampered
    or invalid, except padding and unused header fields, which change nothing c2pa
    reports and leave the manifest as it was signed."""
    source = signed["fmp4"]
    original = read_provenance(source, trust_anchors=[ca_pem])
    box = next(b for b in read_boxes(source) if b.type == "uuid")
    path = tmp_path / "f.mp4"
    seen: dict[str, int] = {}
    for offset in range(box.offset, box.offset + box.size, 13):
        path.write_bytes(source.read_bytes())
        flip(path, offset)
        verdict = read_provenance(path, trust_anchors=[ca_pem])
        seen[verdict.status] = seen.get(verdict.status, 0) + 1
        if verdict.status == "valid":
            assert verdict.manifests == original.manifests  # nothing that was signed changed
        else:
            assert verdict.status in ("tampered", "invalid", "unsigned"), (offset - box.offset, verdict)
            assert verdict.problems
    assert seen.get("tampered", 0) > 0 and seen.get("invalid", 0) > 0
    assert seen.get("valid", 0) < sum(seen.values()) / 3, seen


def test_unknown_root_is_untrusted_not_valid(signed, tmp_path) -> None:
    stranger = DevCA.create("someone else's CA")
    verdict = read_provenance(signed["png"], trust_anchors=[stranger.pem])
    assert verdict.status == "untrusted"
    assert any("untrusted" in p for p in verdict.problems)
    assert verdict.address is not None  # still says who claims to have made it
    assert verdict.active is not None and verdict.active.trusted is False
    assert read_provenance(signed["png"]).status == "untrusted"  # no anchors: nobody is trusted


def test_signer_of_another_ca_is_untrusted(media, ca_pem, tmp_path) -> None:
    rogue = DevCA.create("rogue CA").issue(address=ADDRESS, name="orchestrator-a")
    out = sign_file(media["png"], tmp_path / "rogue.png", rogue, generated())
    verdict = read_provenance(out, trust_anchors=[ca_pem])
    assert verdict.status == "untrusted"
    assert verdict.active is not None and verdict.active.issuer == "rogue CA"


def test_file_signed_by_another_orchestrator_names_that_orchestrator(media, dev_ca, ca_pem, tmp_path) -> None:
    other = dev_ca.issue(address=OTHER_ADDRESS, name="orchestrator-b")
    out = sign_file(media["png"], tmp_path / "b.png", other, generated(address=OTHER_ADDRESS))
    verdict = read_provenance(out, trust_anchors=[ca_pem])
    assert verdict.status == "valid"  # a real signature, just not by the one we paid:
    assert (
        verdict.address == other.address != Facts(kind="generated", address=ADDRESS, job_id="j", pipeline="p").address
    )
    assert verdict.active is not None and verdict.active.signer == "orchestrator-b"


def test_expired_certificate_cannot_sign(media, dev_ca, tmp_path) -> None:
    now = dt.datetime.now(dt.UTC)
    expired = dev_ca.issue(
        address=ADDRESS, name="old", not_before=now - dt.timedelta(days=30), not_after=now - dt.timedelta(days=1)
    )
    with pytest.raises(SigningError, match="not valid at time of signing"):
        sign_file(media["png"], tmp_path / "old.png", expired, generated())


def test_certificate_that_expired_after_signing(media, dev_ca, ca_pem, tmp_path) -> None:
    now = dt.datetime.now(dt.UTC)
    brief = dev_ca.issue(
        address=ADDRESS, name="brief", not_before=now - dt.timedelta(days=1), not_after=now + dt.timedelta(seconds=2)
    )
    out = sign_file(media["png"], tmp_path / "brief.png", brief, generated())
    time.sleep(max(0.0, (brief.certificate.not_valid_after_utc - dt.datetime.now(dt.UTC)).total_seconds()) + 1.1)
    verdict = read_provenance(out, trust_anchors=[ca_pem])
    # no time-stamp authority: c2pa judges the certificate at reading time
    assert verdict.status == "invalid"
    assert any(p.startswith("signingCredential.expired") for p in verdict.problems), verdict.problems


def test_certificate_without_a_signing_usage_cannot_sign(media, dev_ca, tmp_path) -> None:
    web = dev_ca.issue(address=ADDRESS, name="tls", ekus=[ExtendedKeyUsageOID.SERVER_AUTH])
    with pytest.raises(SigningError, match="certificate is invalid"):
        sign_file(media["png"], tmp_path / "tls.png", web, generated())


def test_revoked_certificate_is_invalid(signed, identity, ca_pem) -> None:
    for revoked in (identity.serial, format(identity.serial, "x"), "0x" + format(identity.serial, "X")):
        verdict = read_provenance(signed["png"], trust_anchors=[ca_pem], revoked_serials=[revoked])
        assert verdict.status == "invalid"
        assert any("revoked" in p for p in verdict.problems)
    assert read_provenance(signed["png"], trust_anchors=[ca_pem], revoked_serials=[12345]).status == "valid"


def test_two_stage_job_shows_both_manifests_in_order(media, identity, dev_ca, ca_pem, tmp_path) -> None:
    image = sign_file(
        media["png"], tmp_path / "stage1.png", identity, generated(job_id="job-1", pipeline="text-to-image")
    )
    other = dev_ca.issue(address=OTHER_ADDRESS, name="orchestrator-b")
    video = sign_file(
        media["fmp4"],
        tmp_path / "stage2.mp4",
        other,
        Facts(
            kind="generated",
            address=OTHER_ADDRESS,
            job_id="job-2",
            pipeline="image-to-video",
            model="tiny-svd",
            ingredients=[Ingredient(image, "inputTo")],
        ),
    )
    verdict = read_provenance(video, trust_anchors=[ca_pem])
    assert verdict.status == "valid", verdict.problems
    assert [m.pipeline for m in verdict.manifests] == ["image-to-video", "text-to-image"]
    assert [m.job_id for m in verdict.manifests] == ["job-2", "job-1"]
    assert [m.signer for m in verdict.manifests] == ["orchestrator-b", "orchestrator-a"]
    assert [m.trusted for m in verdict.manifests] == [True, True]  # the signer trusted its own network's root
    assert not verdict.problems
    assert verdict.manifests[0].ingredients == ("stage1.png",)
    assert verdict.address == other.address and verdict.manifests[1].address == identity.address


def test_an_untrusted_earlier_stage_is_reported_but_does_not_spoil_the_output(
    media, identity, ca_pem, tmp_path
) -> None:
    outsider = DevCA.create("camera vendor").issue(address=OTHER_ADDRESS, name="camera")
    photo = sign_file(media["png"], tmp_path / "photo.png", outsider, generated(address=OTHER_ADDRESS, job_id="cam"))
    video = sign_file(
        media["fmp4"],
        tmp_path / "v.mp4",
        identity,
        generated(pipeline="image-to-video", ingredients=[(photo, "inputTo")]),
    )
    verdict = read_provenance(video, trust_anchors=[ca_pem])
    assert verdict.status == "valid"
    assert [m.signer for m in verdict.manifests] == ["orchestrator-a", "camera"]
    assert [m.trusted for m in verdict.manifests] == [True, False]
    assert any("input photo.png" in p and "untrusted" in p for p in verdict.problems), verdict.problems


@pytest.mark.parametrize("fmt", ["png", "mp4", "fmp4", "wav"])
def test_truncated_file_gets_a_clear_verdict(fmt, signed, ca_pem, tmp_path) -> None:
    path = copy(signed[fmt], tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * 0.8)])
    verdict = read_provenance(path, trust_anchors=[ca_pem])
    assert verdict.status in ("tampered", "unreadable", "invalid"), verdict
    assert verdict.problems


def test_truncated_inside_the_manifest(signed, ca_pem, tmp_path) -> None:
    path = copy(signed["png"], tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: data.index(b"caBX") + 100])
    verdict = read_provenance(path, trust_anchors=[ca_pem])
    assert verdict.status in ("tampered", "unreadable", "invalid") and verdict.problems


def test_unsigned_garbage_missing_empty_and_unsupported(media, tmp_path) -> None:
    assert read_provenance(media["png"]).status == "unsigned"
    assert read_provenance(media["fmp4"]).status == "unsigned"
    garbage = tmp_path / "noise.png"
    garbage.write_bytes(bytes(range(256)) * 8)
    assert read_provenance(garbage).status in ("unreadable", "unsigned")
    assert read_provenance(tmp_path / "missing.png").status == "unreadable"
    (tmp_path / "empty.mp4").write_bytes(b"")
    assert read_provenance(tmp_path / "empty.mp4").status == "unreadable"
    (tmp_path / "doc.txt").write_text("hello")
    verdict = read_provenance(tmp_path / "doc.txt")
    assert verdict.status == "unsupported" and "supported:" in verdict.problems[0]
    assert read_provenance(tmp_path).status in ("unreadable", "unsupported")


def test_verdict_json_has_the_facts(signed, ca_pem, identity) -> None:
    verdict = read_provenance(signed["fmp4"], trust_anchors=[ca_pem])
    data = json.loads(verdict.to_json())
    assert data["status"] == "valid" and data["ok"] is True
    assert data["address"] == identity.address
    [m] = data["manifests"]
    assert m["actions"] == ["c2pa.opened", "c2pa.transcoded"]
    assert m["job_id"] == "job-8" and m["pipeline"] == "transcode"
    assert m["ingredients"] == ["source.mp4"]
    assert m["signer"] == "orchestrator-a" and m["address_bound_by"] == ["certificate"]


@pytest.mark.parametrize("fmt", MEDIA_FORMATS)
def test_cut_anywhere_never_raises(fmt, signed, ca_pem, tmp_path) -> None:
    data = signed[fmt].read_bytes()
    path = tmp_path / signed[fmt].name
    statuses = set()
    for n in range(1, 24):
        path.write_bytes(data[: len(data) * n // 24])
        verdict = read_provenance(path, trust_anchors=[ca_pem])
        assert verdict.status in ("tampered", "invalid", "unreadable", "unsigned"), (n, verdict)
        assert verdict.problems
        statuses.add(verdict.status)
    assert statuses  # every cut got a verdict, none "valid"


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".mp4", ".wav", ".mp3", ".webp", ".mov", ".m4a"])
def test_garbage_of_every_supported_type_never_raises(suffix, tmp_path) -> None:
    for size in (1, 7, 100, 5000):
        path = tmp_path / f"noise{size}{suffix}"
        path.write_bytes(bytes((i * 7 + size) % 256 for i in range(size)))
        verdict = read_provenance(path)
        assert verdict.status in ("unreadable", "unsigned", "unsupported"), verdict
        assert verdict.problems
