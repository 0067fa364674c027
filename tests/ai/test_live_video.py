"""live-video-to-video on real segments: the tiny Stable Diffusion and the face blur."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from framemesh.ai.errors import InvalidRequest
from framemesh.ai.requests import LiveVideoRequest
from framemesh.media.mp4 import read_boxes
from framemesh.media.testclip import make_test_clip

pytest.importorskip("diffusers")


@pytest.fixture(scope="module")
def segment(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """One 1 s segment in Matroska, as the gateway's ingest cuts them."""
    out = tmp_path_factory.mktemp("live")
    mp4 = make_test_clip(out / "clip.mp4", duration=1.0, width=128, height=96, fps=30, keyframe_interval=1.0)
    mkv = out / "seg.mkv"
    with av.open(str(mp4)) as src, av.open(str(mkv), "w", format="matroska") as dst:
        streams = {s.index: dst.add_stream_from_template(s) for s in src.streams}
        for packet in src.demux():
            if packet.dts is not None:
                packet.stream = streams[packet.stream.index]
                dst.mux(packet)
    return mkv.read_bytes()


@pytest.fixture(scope="module")
def live_sd(tiny_config: Any, loaded: Any) -> Any:
    spec = tiny_config.find("live-video-to-video", "framemesh/tiny-sd")
    return loaded(spec)


def frames_of(mp4: bytes, tmp: Path) -> list[np.ndarray]:
    path = tmp / "out.mp4"
    path.write_bytes(mp4)
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def request(segment: bytes, **params: Any) -> LiveVideoRequest:
    budget = params.pop("budget", 30.0)
    return LiveVideoRequest(video=segment, model_id="framemesh/tiny-sd", stream_id="s1", params=params,
                            duration=1.0, budget=budget)


def test_a_segment_comes_back_processed_whole_and_fragmented(live_sd: Any, segment: bytes, tmp_path: Path) -> None:
    result = live_sd.run(request(segment, prompt="a red fox", width=64, height=64, num_inference_steps=1))
    assert (result.width, result.height) == (64, 64)
    assert result.frames_in == 30 and result.frames_out == 30 and result.dropped == 0
    boxes = [b.type for b in read_boxes_of(result.mp4, tmp_path)]
    assert boxes.index("moov") < boxes.index("moof"), boxes
    frames = frames_of(result.mp4, tmp_path)
    assert len(frames) == 30 and frames[0].shape == (64, 64, 3)
    assert len({f.tobytes() for f in frames}) > 1, "the source moves: so does its processed picture"


def read_boxes_of(mp4: bytes, tmp: Path) -> Any:
    path = tmp / "boxes.mp4"
    path.write_bytes(mp4)
    return read_boxes(path)


def test_same_seed_same_output_and_the_prompt_changes_it(live_sd: Any, segment: bytes, tmp_path: Path) -> None:
    a = live_sd.run(request(segment, prompt="a red fox", seed=7, width=64, height=64))
    b = live_sd.run(request(segment, prompt="a red fox", seed=7, width=64, height=64))
    c = live_sd.run(request(segment, prompt="a blue whale", seed=7, width=64, height=64))
    fa, fb, fc = (frames_of(r.mp4, tmp_path) for r in (a, b, c))
    assert all(np.array_equal(x, y) for x, y in zip(fa, fb)), "seeded: the same segment gives the same frames"
    assert not all(np.array_equal(x, y) for x, y in zip(fa, fc)), "a new prompt shows in the output"


def test_a_small_budget_drops_frames_evenly_and_holds_the_last_picture(
    live_sd: Any, segment: bytes, tmp_path: Path
) -> None:
    live_sd.run(request(segment, width=64, height=64))  # the stream's frame cost is learnt
    result = live_sd.run(request(segment, width=64, height=64, budget=0.05))
    assert result.frames_out < result.frames_in == 30
    assert result.dropped > 0 and result.fps_out < result.fps_in
    frames = frames_of(result.mp4, tmp_path)
    assert len(frames) == 30, "dropped frames are held, not missing: the output keeps the source's timeline"
    assert min(float(f.mean()) for f in frames) > 5, "no blank frame where the model was skipped"


def test_the_claimed_duration_must_be_the_segments(live_sd: Any, segment: bytes) -> None:
    with pytest.raises(InvalidRequest, match="not the 5.000 s claimed"):
        live_sd.run(LiveVideoRequest(video=segment, params={"width": 64, "height": 64}, duration=5.0, budget=30.0))


@pytest.mark.parametrize(
    ("params", "words"),
    [({"strength": 2}, "strength must be in"), ({"width": 65}, "multiple of 8"), ({"colour": 1}, "unknown: colour"),
     ({"prompt": 3}, "prompt must be text")],
)
def test_bad_params_are_refused_by_name(live_sd: Any, segment: bytes, params: dict[str, Any], words: str) -> None:
    with pytest.raises(InvalidRequest, match=words):
        live_sd.run(request(segment, **params))


def test_an_empty_segment_or_a_missing_duration_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="video is empty"):
        LiveVideoRequest(video=b"", duration=1.0).check()
    with pytest.raises(InvalidRequest, match="duration is required"):
        LiveVideoRequest(video=b"x").check()


@pytest.fixture(scope="module")
def astronaut_segment(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """One second of a still picture with a face (scikit-image ships it), 256x256."""
    from fractions import Fraction

    from PIL import Image
    from skimage import data

    picture = np.asarray(Image.fromarray(data.astronaut()).resize((256, 256)))
    path = tmp_path_factory.mktemp("face") / "face.mkv"
    with av.open(str(path), "w", format="matroska") as out:
        video = out.add_stream("libx264", rate=30)
        video.width, video.height, video.pix_fmt = 256, 256, "yuv420p"
        for i in range(30):
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 30)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
    return path.read_bytes()


def test_face_blur_finds_the_face_and_pixelates_only_it(tiny_config: Any, loaded: Any, astronaut_segment: bytes,
                                                        tmp_path: Path) -> None:
    from framemesh.ai.live_effects import FaceBlurEffect, StreamMemory

    effect = FaceBlurEffect()
    still = frames_of_mkv(astronaut_segment, tmp_path)[0]
    faces = effect.faces(still, {})
    assert len(faces) == 1, faces
    x1, y1, x2, y2, score = faces[0]
    assert score > 0.5 and 95 <= (x1 + x2) / 2 <= 130 and 35 <= (y1 + y2) / 2 <= 80, faces  # her face
    blurred = effect(still, {"block": 8}, StreamMemory())
    face, rest = (slice(y1, y2), slice(x1, x2)), (slice(150, 256), slice(150, 256))
    assert np.abs(blurred[face].astype(int) - still[face]).mean() > 3, "the face is changed"
    assert np.array_equal(blurred[rest], still[rest]), "the rest of the picture is not"
    assert len(np.unique(blurred[face].reshape(-1, 3), axis=0)) < len(np.unique(still[face].reshape(-1, 3), axis=0)) / 4

    spec = tiny_config.find("live-video-to-video", "framemesh/face-blur")
    result = loaded(spec).run(LiveVideoRequest(video=astronaut_segment, model_id=spec.model_id, stream_id="f",
                                               duration=1.0, budget=30.0))
    assert (result.width, result.height, result.frames_out) == (256, 256, 30)
    out = frames_of(result.mp4, tmp_path)[15]
    assert np.abs(out[face].astype(int) - still[face]).mean() > np.abs(out[rest].astype(int) - still[rest]).mean() + 3


def frames_of_mkv(data: bytes, tmp: Path) -> list[np.ndarray]:
    path = tmp / "in.mkv"
    path.write_bytes(data)
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def test_face_blur_refuses_params_it_does_not_take() -> None:
    from framemesh.ai.live_effects import FaceBlurEffect

    with pytest.raises(InvalidRequest, match="unknown: prompt"):
        FaceBlurEffect().check({"prompt": "x"})
