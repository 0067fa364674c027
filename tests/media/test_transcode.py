"""Transcoding a segment: sizes, 30 fps, audio, and timestamps that keep source time."""

from __future__ import annotations

import itertools
import pickle
from pathlib import Path

import av
import pytest
from hypothesis import given
from hypothesis import strategies as st

from framemesh.media.encoder import RenditionOutput
from framemesh.media.errors import InvalidMediaError, TranscodeError
from framemesh.media.profiles import RenditionSpec
from framemesh.media.segment import SegmentInfo, split_segments
from framemesh.media.testclip import make_test_clip
from framemesh.media.transcode import frame_slots, transcode_segment


def _video_times(path: Path) -> list[float]:
    with av.open(str(path)) as c:
        return [float(f.time) for f in c.decode(video=0)]


def test_frame_slots_same_rate_is_one_to_one() -> None:
    assert frame_slots(2.0, 2.0 + 1 / 30, 30) == range(60, 61)


def test_frame_slots_convert_rates() -> None:
    # 25 -> 30 fps: some source frames fill two slots; 60 -> 30: every other one none
    assert [len(frame_slots(i / 25, (i + 1) / 25, 30)) for i in range(5)] == [1, 1, 2, 1, 1]
    assert [len(frame_slots(i / 60, (i + 1) / 60, 30)) for i in range(4)] == [1, 0, 1, 0]


@given(
    st.lists(st.floats(min_value=0.001, max_value=0.2), min_size=1, max_size=40),
    st.sampled_from([24, 25, 30, 60]),
)
def test_frame_slots_tile_the_timeline(gaps: list[float], fps: int) -> None:
    times = [0.0]
    for g in gaps:
        times.append(times[-1] + g)
    slots = [n for a, b in itertools.pairwise(times) for n in frame_slots(a, b, fps)]
    assert slots == list(range(slots[0], slots[0] + len(slots))) if slots else True
    assert len(slots) == len(frame_slots(times[0], times[-1], fps))


def test_outputs_have_the_spec_sizes(
    transcoded: list[dict[str, RenditionOutput]], specs: tuple[RenditionSpec, ...]
) -> None:
    assert [s.name for s in specs] == ["360p", "240p"]
    for outputs in transcoded:
        assert list(outputs) == ["360p", "240p"]
        for spec in specs:
            out = outputs[spec.name]
            assert (out.width, out.height) == (spec.width, spec.height)
            assert out.frames == 60 and out.duration == pytest.approx(2.0)
            assert out.path.name == f"{spec.name}.mp4"
            with av.open(str(out.path)) as c:
                v = c.streams.video[0]
                assert (v.codec_context.name, v.width, v.height) == ("h264", spec.width, spec.height)
                assert v.codec_context.pix_fmt == "yuv420p"
                assert c.streams.audio[0].codec_context.name == "aac"
                assert c.streams.audio[0].codec_context.sample_rate == 48_000


def test_outputs_are_fragmented_mp4_starting_with_a_keyframe(transcoded: list[dict[str, RenditionOutput]]) -> None:
    data = transcoded[1]["240p"].path.read_bytes()
    assert data[4:8] == b"ftyp" and b"moof" in data and b"mvex" in data
    with av.open(str(transcoded[1]["240p"].path)) as c:
        first = next(p for p in c.demux(c.streams.video[0]) if p.size)
    assert first.is_keyframe


def test_timestamps_continue_across_segments(
    transcoded: list[dict[str, RenditionOutput]], segments: list[SegmentInfo]
) -> None:
    for name in ("360p", "240p"):
        times = [t for outputs in transcoded for t in _video_times(outputs[name].path)]
        assert len(times) == 180
        assert times == pytest.approx([n / 30 for n in range(180)], abs=1e-6)
    for seg, outputs in zip(segments, transcoded):
        assert _video_times(outputs["240p"].path)[0] == pytest.approx(seg.start)


def test_audio_keeps_source_time(transcoded: list[dict[str, RenditionOutput]]) -> None:
    with av.open(str(transcoded[2]["240p"].path)) as c:
        times = [float(f.time) for f in c.decode(audio=0) if f.time is not None]
    assert 3.9 < times[0] < 4.05 and 5.9 < times[-1] < 6.1
    assert len(times) >= 90


def test_other_frame_rate_becomes_30_fps(tmp_path: Path) -> None:
    src = make_test_clip(tmp_path / "25.mp4", duration=4, width=160, height=90, fps=25, audio=False)
    segments = split_segments(src, tmp_path / "segs")
    spec = RenditionSpec("90p", 160, 90, 200_000, 64_000, 30)
    outs = [transcode_segment(s.path, [spec], tmp_path / f"out{s.index}", preset="ultrafast")[0] for s in segments]
    assert [o.frames for o in outs] == [60, 60]
    times = [t for o in outs for t in _video_times(o.path)]
    assert times == pytest.approx([n / 30 for n in range(120)], abs=1e-6)
    with av.open(str(outs[0].path)) as c:
        assert not c.streams.audio
        assert c.streams.video[0].average_rate == 30


def test_result_is_picklable_for_process_pools(transcoded: list[dict[str, RenditionOutput]]) -> None:
    out = transcoded[0]["240p"]
    assert pickle.loads(pickle.dumps(out)) == out
    assert pickle.loads(pickle.dumps(transcode_segment)) is transcode_segment


def test_no_renditions_is_an_error(segments: list[SegmentInfo], tmp_path: Path) -> None:
    with pytest.raises(TranscodeError, match="plan_renditions"):
        transcode_segment(segments[0].path, [], tmp_path)


def test_duplicate_names_are_an_error(segments: list[SegmentInfo], tmp_path: Path) -> None:
    spec = RenditionSpec("x", 160, 90, 200_000, 64_000)
    with pytest.raises(TranscodeError, match="unique"):
        transcode_segment(segments[0].path, [spec, spec], tmp_path)


def test_unknown_preset_is_a_transcode_error(segments: list[SegmentInfo], tmp_path: Path) -> None:
    spec = RenditionSpec("x", 160, 90, 200_000, 64_000)
    with pytest.raises(TranscodeError, match="unknown preset 'warp-speed'; use one of ultrafast"):
        transcode_segment(segments[0].path, [spec], tmp_path, preset="warp-speed")


@pytest.mark.parametrize("content", [b"", b"not a video at all" * 100])
def test_bad_segment_is_invalid_media(tmp_path: Path, content: bytes) -> None:
    bad = tmp_path / "seg.mkv"
    bad.write_bytes(content)
    with pytest.raises(InvalidMediaError):
        transcode_segment(bad, [RenditionSpec("x", 160, 90, 200_000, 64_000)], tmp_path / "out")


def test_portrait_source_keeps_its_shape(tmp_path: Path) -> None:
    from framemesh.media.profiles import parse_profiles, plan_renditions

    src = make_test_clip(tmp_path / "tall.mp4", duration=1, width=180, height=320, audio=False)
    specs = plan_renditions(180, 320, parse_profiles("240p,360p"))
    assert [(s.width, s.height) for s in specs] == [(180, 320)]  # 240p is taller than 180: source size
    (out,) = transcode_segment(src, specs, tmp_path / "out", preset="ultrafast")
    with av.open(str(out.path)) as c:
        frame = next(c.decode(video=0))
    assert (frame.width, frame.height) == (180, 320)


def test_odd_sized_source_is_scaled_to_even(tmp_path: Path) -> None:
    src = tmp_path / "odd.mkv"
    with av.open(str(src), "w", format="matroska") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 161, 91, "yuv444p"
        stream.options = {"preset": "ultrafast"}
        for i in range(15):
            frame = av.VideoFrame(161, 91, "yuv444p")
            for plane in frame.planes:
                plane.update(bytes((i * 9 + j) % 256 for j in range(plane.buffer_size)))
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    spec = RenditionSpec("90p", 160, 90, 200_000, 64_000)
    (out_,) = transcode_segment(src, [spec], tmp_path / "out", preset="ultrafast")
    assert out_.frames == 15
    with av.open(str(out_.path)) as c:
        v = c.streams.video[0]
        assert (v.width, v.height, v.codec_context.pix_fmt) == (160, 90, "yuv420p")


def test_60_fps_source_drops_every_other_frame(tmp_path: Path) -> None:
    src = make_test_clip(tmp_path / "60.mp4", duration=1, width=160, height=90, fps=60, audio=False)
    spec = RenditionSpec("90p", 160, 90, 200_000, 64_000)
    (out,) = transcode_segment(src, [spec], tmp_path / "out", preset="ultrafast")
    assert out.frames == 30
    assert _video_times(out.path) == pytest.approx([n / 30 for n in range(30)], abs=1e-6)


def test_failing_encoder_does_not_hang_and_leaves_no_thread(segments: list[SegmentInfo], tmp_path: Path) -> None:
    import threading

    before = threading.active_count()
    good = RenditionSpec("ok", 160, 90, 200_000, 64_000)
    bad = RenditionSpec("bad", 161, 91, 200_000, 64_000)  # x264 refuses odd sizes in yuv420p
    with pytest.raises(TranscodeError, match=r"encoding failed: bad \(161x91\)"):
        transcode_segment(segments[0].path, [good, bad], tmp_path)
    assert threading.active_count() == before


def test_nonsense_spec_is_refused_up_front(segments: list[SegmentInfo], tmp_path: Path) -> None:
    with pytest.raises(TranscodeError, match="positive fps"):
        transcode_segment(segments[0].path, [RenditionSpec("x", 160, 90, 200_000, 64_000, fps=0)], tmp_path)
