"""HLS ladder: standard playlists over the orchestrators' own fMP4 files, playable end to end."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import av
import pytest

from framemesh.media.encoder import RenditionOutput
from framemesh.media.errors import TranscodeError
from framemesh.media.hls import LadderSegment, write_ladder
from framemesh.media.mp4 import BoxError, avc_codec, read_boxes
from framemesh.media.profiles import RenditionSpec
from framemesh.media.segment import SegmentInfo


@pytest.fixture(scope="module")
def master(
    transcoded: list[dict[str, RenditionOutput]],
    segments: list[SegmentInfo],
    specs: tuple[RenditionSpec, ...],
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    ladder = {
        spec.name: [
            LadderSegment(
                path=outputs[spec.name].path,
                duration=seg.duration,
                width=spec.width,
                height=spec.height,
                bandwidth=spec.video_bitrate + spec.audio_bitrate,
            )
            for seg, outputs in zip(segments, transcoded)
        ]
        for spec in specs
    }
    return write_ladder(tmp_path_factory.mktemp("hls"), ladder)


def _decode(playlist: Path, stream: int = 0) -> tuple[list[float], tuple[int, int]]:
    times: list[float] = []
    size = (0, 0)
    with av.open(str(playlist)) as c:
        for frame in c.decode(c.streams.video[stream]):
            times.append(float(frame.time))
            size = (frame.width, frame.height)
    return times, size


def test_layout(master: Path) -> None:
    root = master.parent
    assert master.name == "master.m3u8"
    for name in ("360p", "240p"):
        assert sorted(p.name for p in (root / name).iterdir()) == [
            "index.m3u8",
            "seg_00000.mp4",
            "seg_00001.mp4",
            "seg_00002.mp4",
        ]


def test_media_playlist_tags(master: Path) -> None:
    text = (master.parent / "240p" / "index.m3u8").read_text()
    lines = text.splitlines()
    assert lines[0] == "#EXTM3U"
    for tag in (
        "#EXT-X-VERSION:7",
        "#EXT-X-TARGETDURATION:2",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        "#EXT-X-INDEPENDENT-SEGMENTS",
        "#EXT-X-MEDIA-SEQUENCE:0",
    ):
        assert tag in lines
    assert lines[-1] == "#EXT-X-ENDLIST"
    assert text.count("#EXTINF:2.000000,") == 3
    assert text.count("#EXT-X-MAP:") == 3


def test_byte_ranges_split_each_file_at_its_first_fragment(master: Path) -> None:
    folder = master.parent / "360p"
    text = (folder / "index.m3u8").read_text()
    maps = re.findall(r'#EXT-X-MAP:URI="(seg_\d+\.mp4)",BYTERANGE="(\d+)@0"', text)
    ranges = re.findall(r"#EXT-X-BYTERANGE:(\d+)@(\d+)\n(seg_\d+\.mp4)", text)
    assert len(maps) == len(ranges) == 3
    for (map_uri, init), (length, offset, uri) in zip(maps, ranges):
        assert map_uri == uri and init == offset
        boxes = read_boxes(folder / uri)
        moof = next(b for b in boxes if b.type == "moof")
        assert int(offset) == moof.offset
        assert int(offset) + int(length) == (folder / uri).stat().st_size
        assert "moov" in [b.type for b in boxes if b.offset < moof.offset]


def test_master_playlist_attributes(master: Path, specs: tuple[RenditionSpec, ...]) -> None:
    text = master.read_text()
    assert text.startswith("#EXTM3U\n#EXT-X-VERSION:7\n")
    entries = re.findall(r"#EXT-X-STREAM-INF:(.*)\n(.*)", text)
    assert [uri for _, uri in entries] == ["360p/index.m3u8", "240p/index.m3u8"]
    for (attrs, _), spec in zip(entries, specs):
        assert f"RESOLUTION={spec.width}x{spec.height}" in attrs
        assert "FRAME-RATE=30.000" in attrs
        assert re.search(r'CODECS="avc1\.[0-9a-f]{6},mp4a\.40\.2"', attrs)
        bandwidth = int(re.search(r"(?<!-)BANDWIDTH=(\d+)", attrs).group(1))  # type: ignore[union-attr]
        average = int(re.search(r"AVERAGE-BANDWIDTH=(\d+)", attrs).group(1))  # type: ignore[union-attr]
        assert bandwidth >= spec.video_bitrate + spec.audio_bitrate and bandwidth >= average > 0


@pytest.mark.parametrize(("name", "size"), [("360p", (640, 360)), ("240p", (426, 240))])
def test_every_rendition_decodes_whole(master: Path, name: str, size: tuple[int, int]) -> None:
    times, decoded = _decode(master.parent / name / "index.m3u8")
    assert decoded == size
    assert len(times) == 180
    assert times == pytest.approx([n / 30 for n in range(180)], abs=1e-6)


def test_master_playlist_decodes(master: Path) -> None:
    with av.open(str(master)) as c:
        assert sorted((s.width, s.height) for s in c.streams.video) == [(426, 240), (640, 360)]
        audio = sum(1 for _ in c.decode(c.streams.audio[0]))
    assert audio > 270  # 6 s of 1024-sample AAC frames at 48 kHz is about 281
    times, _ = _decode(master, stream=1)
    assert len(times) == 180 and all(b > a for a, b in itertools.pairwise(times))


def test_avc_codec_string_from_avcc() -> None:
    init = b"....avcC\x01\x64\x00\x1f\xff...."
    assert avc_codec(init) == "avc1.64001f"
    assert avc_codec(b"no such box") is None


def test_read_boxes_refuses_a_bad_size(tmp_path: Path) -> None:
    path = tmp_path / "bad.mp4"
    path.write_bytes(b"\x00\x00\x10\x00ftypisom")
    with pytest.raises(BoxError, match="claims"):
        read_boxes(path)


def test_empty_ladder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TranscodeError, match="empty"):
        write_ladder(tmp_path, {})
    with pytest.raises(TranscodeError, match="empty"):
        write_ladder(tmp_path, {"240p": []})


def test_non_fragmented_file_is_refused(clip: Path, tmp_path: Path) -> None:
    seg = LadderSegment(path=clip, duration=6.0, width=640, height=360, bandwidth=1)
    with pytest.raises(TranscodeError, match="not a fragmented MP4"):
        write_ladder(tmp_path / "out", {"360p": [seg]})


def test_missing_file_and_bad_name_are_refused(tmp_path: Path) -> None:
    seg = LadderSegment(path=tmp_path / "gone.mp4", duration=2.0, width=2, height=2, bandwidth=1)
    with pytest.raises(TranscodeError, match="missing"):
        write_ladder(tmp_path / "out", {"240p": [seg]})
    with pytest.raises(TranscodeError, match="directory name"):
        write_ladder(tmp_path / "out", {"../evil": [seg]})


def test_media_playlist_target_duration_rounds_up() -> None:
    from framemesh.media.hls import Placed, media_playlist

    text = media_playlist([Placed("seg_00000.mp4", 4.0, 900, 5000), Placed("seg_00001.mp4", 2.02, 900, 3000)])
    assert "#EXT-X-TARGETDURATION:4\n" in text
    assert "#EXTINF:2.020000,\n#EXT-X-BYTERANGE:3000@900\nseg_00001.mp4\n" in text
    assert media_playlist([Placed("a.mp4", 2.5, 1, 1)]).count("#EXT-X-TARGETDURATION:3\n") == 1


def test_rewriting_a_ladder_replaces_it(master: Path, transcoded: list[dict[str, RenditionOutput]]) -> None:
    seg = LadderSegment(path=transcoded[0]["240p"].path, duration=2.0, width=426, height=240, bandwidth=1)
    again = write_ladder(master.parent.parent / "again", {"240p": [seg]})
    assert again.read_text().count("#EXT-X-STREAM-INF") == 1
    again = write_ladder(again.parent, {"240p": [seg, seg]})
    assert (again.parent / "240p" / "index.m3u8").read_text().count("#EXTINF") == 2
    # linked or copied, never moved: the gateway's own copy stays
    assert transcoded[0]["240p"].path.is_file()
    assert (again.parent / "240p" / "seg_00001.mp4").read_bytes() == transcoded[0]["240p"].path.read_bytes()


def test_audio_timestamps_never_step_back_between_segments(master: Path) -> None:
    with av.open(str(master.parent / "240p" / "index.m3u8")) as c:
        stream = c.streams.audio[0]
        times = [float(p.pts * p.time_base) for p in c.demux(stream) if p.size and p.pts is not None and p.time_base]
    assert len(times) > 270
    assert all(b > a for a, b in itertools.pairwise(times))
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert max(gaps) < 0.05  # no hole either (one AAC frame is 21.3 ms)


def test_a_live_window_has_its_sequences_discontinuities_and_no_end_until_it_ends() -> None:
    from framemesh.media.hls import Placed, media_playlist

    window = [Placed("seg_00007.mp4", 2.0, 900, 5000), Placed("seg_00008.mp4", 2.0, 900, 5000, discontinuity=True)]
    text = media_playlist(window, live=True, media_sequence=7, discontinuity_sequence=1, ended=False, target=2)
    lines = text.splitlines()
    assert "#EXT-X-MEDIA-SEQUENCE:7" in lines and "#EXT-X-DISCONTINUITY-SEQUENCE:1" in lines
    assert "#EXT-X-PLAYLIST-TYPE:VOD" not in lines and "#EXT-X-ENDLIST" not in lines
    assert lines.count("#EXT-X-DISCONTINUITY") == 1
    assert lines.index("#EXT-X-DISCONTINUITY") < lines.index("seg_00008.mp4") and lines.index("#EXT-X-DISCONTINUITY") > lines.index("seg_00007.mp4")
    assert media_playlist(window, live=True, media_sequence=7, ended=True).endswith("#EXT-X-ENDLIST\n")
