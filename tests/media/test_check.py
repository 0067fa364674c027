"""check_rendition: good renditions pass; each kind of bad one fails with a reason."""

from __future__ import annotations

import pickle
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import av
import pytest

from framemesh.media.check import PSNR_THRESHOLD, CheckReport, check_rendition
from framemesh.media.encoder import MP4_OPTIONS, RenditionOutput
from framemesh.media.errors import InvalidMediaError
from framemesh.media.profiles import RenditionSpec
from framemesh.media.segment import SegmentInfo, split_segments
from framemesh.media.testclip import make_test_clip
from framemesh.media.transcode import transcode_segment


def _problems(report: CheckReport, *words: str) -> None:
    assert not report.ok
    text = "; ".join(report.problems)
    for word in words:
        assert word in text, text


def test_good_renditions_pass(
    transcoded: list[dict[str, RenditionOutput]], segments: list[SegmentInfo], specs: tuple[RenditionSpec, ...]
) -> None:
    for seg, outputs in zip(segments, transcoded):
        for spec in specs:
            report = check_rendition(seg.path, outputs[spec.name].path, spec)
            assert report.ok, report.problems
            assert report.problems == ()
            assert report.psnr is not None and report.psnr > PSNR_THRESHOLD + 3
            assert (report.width, report.height, report.frames) == (spec.width, spec.height, 60)
            assert report.duration == pytest.approx(2.0)


def test_report_is_picklable(transcoded: list[dict[str, RenditionOutput]], segments: list[SegmentInfo], specs: tuple[RenditionSpec, ...]) -> None:
    report = check_rendition(segments[0].path, transcoded[0]["240p"].path, specs[1])
    assert pickle.loads(pickle.dumps(report)) == report


def test_wrong_size_fails(
    transcoded: list[dict[str, RenditionOutput]], segments: list[SegmentInfo], specs: tuple[RenditionSpec, ...]
) -> None:
    report = check_rendition(segments[0].path, transcoded[0]["240p"].path, specs[0])
    _problems(report, "size is 426x240, expected 640x360")


def test_truncated_rendition_fails(
    transcoded: list[dict[str, RenditionOutput]], segments: list[SegmentInfo], specs: tuple[RenditionSpec, ...], tmp_path: Path
) -> None:
    data = transcoded[0]["240p"].path.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    report = check_rendition(segments[0].path, cut, specs[1])
    assert not report.ok and report.problems


def test_garbage_rendition_fails(segments: list[SegmentInfo], specs: tuple[RenditionSpec, ...], tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00\x01junk" * 500)
    _problems(check_rendition(segments[0].path, junk, specs[1]), "does not decode")


def test_rendition_of_another_segment_fails(
    transcoded: list[dict[str, RenditionOutput]], segments: list[SegmentInfo], specs: tuple[RenditionSpec, ...]
) -> None:
    report = check_rendition(segments[0].path, transcoded[1]["240p"].path, specs[1])
    _problems(report, "starts at 2.000 s", "picture differs")


def test_rendition_of_another_clip_fails(
    segments: list[SegmentInfo], specs: tuple[RenditionSpec, ...], tmp_path: Path
) -> None:
    """Right size, length and timestamps: only the picture check can catch it."""
    other = make_test_clip(tmp_path / "other.mp4", duration=2, width=640, height=360, seed=9)
    (seg,) = split_segments(other, tmp_path / "segs")
    (out,) = transcode_segment(seg.path, [specs[1]], tmp_path / "out", preset="ultrafast")
    report = check_rendition(segments[0].path, out.path, specs[1])
    _problems(report, "picture differs")
    assert len(report.problems) == 1
    assert report.psnr is not None and report.psnr < PSNR_THRESHOLD - 5


def _black_rendition(path: Path, spec: RenditionSpec, frames: int, start: int) -> Path:
    with av.open(str(path), "w", format="mp4", container_options=dict(MP4_OPTIONS)) as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = spec.width, spec.height, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 30)
        stream.options = {"preset": "ultrafast", "bf": "0"}
        for n in range(frames):
            frame = av.VideoFrame(spec.width, spec.height, "yuv420p")
            for plane, value in zip(frame.planes, (16, 128, 128)):
                plane.update(bytes([value]) * plane.buffer_size)
            frame.pts, frame.time_base = start + n, Fraction(1, 30)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def test_black_frames_fail(segments: list[SegmentInfo], specs: tuple[RenditionSpec, ...], tmp_path: Path) -> None:
    black = _black_rendition(tmp_path / "black.mp4", specs[1], 60, start=60)
    report = check_rendition(segments[1].path, black, specs[1])
    _problems(report, "picture differs")
    assert len(report.problems) == 1  # timing and size are right


def test_short_rendition_fails_on_frames_and_duration(
    segments: list[SegmentInfo], specs: tuple[RenditionSpec, ...], tmp_path: Path
) -> None:
    short = _black_rendition(tmp_path / "short.mp4", specs[1], 30, start=0)
    _problems(check_rendition(segments[0].path, short, specs[1]), "30 frames, expected 60", "lasts 1.000 s")


def test_frame_rate_is_checked(
    transcoded: list[dict[str, RenditionOutput]], segments: list[SegmentInfo], specs: tuple[RenditionSpec, ...]
) -> None:
    at_60 = replace(specs[1], fps=60)
    _problems(check_rendition(segments[0].path, transcoded[0]["240p"].path, at_60), "expected 120")


def test_bad_source_segment_raises(transcoded: list[dict[str, RenditionOutput]], specs: tuple[RenditionSpec, ...], tmp_path: Path) -> None:
    bad = tmp_path / "src.mkv"
    bad.write_bytes(b"nothing")
    with pytest.raises(InvalidMediaError):
        check_rendition(bad, transcoded[0]["240p"].path, specs[1])


def test_rendition_without_source_timestamps_fails_on_timing_only(
    segments: list[SegmentInfo], specs: tuple[RenditionSpec, ...], tmp_path: Path
) -> None:
    """The right pictures restamped to start at zero: a player would put them in the wrong place."""
    shifted = tmp_path / "shifted.mkv"
    with av.open(str(segments[1].path)) as inp, av.open(str(shifted), "w", format="matroska") as out:
        streams = {s.index: out.add_stream_from_template(s) for s in inp.streams}
        for packet in inp.demux():
            if packet.pts is None or packet.time_base is None:
                continue
            offset = int(2 / packet.time_base)
            packet.pts -= offset
            if packet.dts is not None:
                packet.dts -= offset
            packet.stream = streams[packet.stream.index]
            out.mux(packet)
    (out_,) = transcode_segment(shifted, [specs[1]], tmp_path / "out", preset="ultrafast")
    report = check_rendition(segments[1].path, out_.path, specs[1])
    _problems(report, "starts at 0.000 s, the source segment at 2.000 s")
    assert len(report.problems) == 1
    assert report.psnr is not None and report.psnr > PSNR_THRESHOLD


def test_batch_check_matches_single_checks(
    transcoded: list[dict[str, RenditionOutput]], segments: list[SegmentInfo], specs: tuple[RenditionSpec, ...]
) -> None:
    from framemesh.media.check import check_renditions

    items = [
        (transcoded[1]["360p"].path, specs[0]),
        (transcoded[1]["240p"].path, specs[1]),
        (transcoded[2]["240p"].path, specs[1]),  # another segment's
        (transcoded[1]["240p"].path.with_name("missing.mp4"), specs[1]),
    ]
    reports = check_renditions(segments[1].path, items)
    assert [r.ok for r in reports] == [True, True, False, False]
    assert reports[:3] == [check_rendition(segments[1].path, path, spec) for path, spec in items[:3]]
    assert "does not decode" in reports[3].problems[0]


def test_source_frames_skipping_others_match_a_full_decode(segments: list[SegmentInfo]) -> None:
    """Only the frames asked for are decoded in full (others only when referred to):
    the pictures must be the very ones a decode of every frame shows at those times."""
    import numpy as np
    from av.video.frame import PictureType

    from framemesh.media.check import (
        _luma,
        _source_frames,
        _source_packets,
        _source_span,
    )

    seg = segments[1]
    with av.open(str(seg.path)) as container:
        full = [(float(f.time), _luma(f)) for f in container.decode(container.streams.video[0])]
    assert any(f.pict_type == PictureType.B for f in _decoded_types(seg.path)), "the test wants a source with B-frames"
    start, end = full[0][0], full[-1][0]
    times = {start - 0.5, start, start + 0.26, (start + end) / 2, end - 0.01, end, end + 1.0}
    with av.open(str(seg.path)) as container:
        stream, packets = _source_packets(seg.path, container)
        assert _source_span(seg.path, stream, packets)[0] == pytest.approx(start)
        shown = _source_frames(seg.path, stream, packets, times)
    assert set(shown) == times
    for at in times:
        k = max(0, sum(1 for t, _ in full if t <= at + 1e-3) - 1)  # the frame shown at `at`
        expected = [full[j][1] for j in (k, k - 1, k + 1) if 0 <= j < len(full)]  # then its neighbours
        assert len(shown[at]) == len(expected), at
        assert all(np.array_equal(_luma(f), e) for f, e in zip(shown[at], expected)), at


def _decoded_types(path: Path) -> list[av.VideoFrame]:
    with av.open(str(path)) as container:
        return list(container.decode(container.streams.video[0]))


def _shifted_rendition(source: Path, path: Path, spec: RenditionSpec, shift: int) -> Path:
    """The source at the rendition's size, each picture shown `shift` frames early (on
    the source's timestamps), as where a source's clock jumped by that much."""
    with av.open(str(source)) as src:
        frames = [(f.pts, f.time_base, f.reformat(spec.width, spec.height, "yuv420p")) for f in src.decode(video=0)]
    with av.open(str(path), "w", format="mp4", container_options=dict(MP4_OPTIONS)) as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = spec.width, spec.height, "yuv420p"
        stream.options = {"preset": "ultrafast", "bf": "0", "crf": "18"}
        for (pts, base, _), (_, _, picture) in zip(frames, frames[shift:]):
            picture.pts, picture.time_base = round(pts * base * 30), Fraction(1, 30)
            out.mux(stream.encode(picture))
        out.mux(stream.encode(None))
    return path


def test_a_picture_one_frame_off_passes_two_frames_off_fails(
    segments: list[SegmentInfo], specs: tuple[RenditionSpec, ...], tmp_path: Path
) -> None:
    """Timing jitter of a frame (a live encoder's hiccup, a transcoder's slot) is not
    cheating; pictures further off are judged as pictures."""
    one = check_rendition(segments[1].path, _shifted_rendition(segments[1].path, tmp_path / "one.mp4", specs[1], 1), specs[1])
    assert one.ok, one.problems
    two = check_rendition(segments[1].path, _shifted_rendition(segments[1].path, tmp_path / "two.mp4", specs[1], 2), specs[1])
    _problems(two, "picture differs")
