"""GatewayClient's AI methods against a real gateway and orchestrator on loopback.

The orchestrator serves the built-in models (Piper, PocketSphinx, Real-ESRGAN: no
torch in their workers, so the module starts quickly); text-to-image and
image-to-video run for real in the demo's test (tests/cli/test_cli.py). Here they are
sent to a gateway that has no orchestrator for them: the request is built, checked and
routed, and the client gets the gateway's error as a GatewayRequestError.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from framemesh.sdk.client import GatewayClient, GatewayRequestError
from tests.e2e.ai_nodes import PIPER, SPHINX, ai_network, quiet_third_party

pytest.importorskip("piper")
pytest.importorskip("diffusers")  # the tiny-model writer the fixture uses

SENTENCE = "The quick brown fox jumps over the lazy dog."


@pytest.fixture(autouse=True)
def _quiet() -> Iterator[None]:
    with quiet_third_party():
        yield


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("sdk-ai")
    with ai_network(root, ("text-to-speech", "audio-to-text", "upscale")) as (_, gw):
        yield gw.url


def _png(width: int, height: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 40)).save(buf, format="PNG")
    return buf.getvalue()


async def test_speech_there_and_back(gateway: str, tmp_path: Path) -> None:
    async with GatewayClient(gateway) as gw:
        speech = await gw.text_to_speech(SENTENCE, model_id=PIPER)
        wav = await gw.fetch(speech.audio.url, tmp_path / "out" / "speech.wav")
        assert wav.read_bytes()[:4] == b"RIFF"
        heard = await gw.audio_to_text(wav, model_id=SPHINX)
        # also from bytes, with Livepeer's own value for timestamps
        again = await gw.audio_to_text(wav.read_bytes(), model_id=SPHINX, return_timestamps="sentence")
    words = set(heard.text.split())
    assert len(words & {"quick", "brown", "fox", "over", "lazy", "dog"}) >= 4, heard.text
    assert heard.chunks and heard.chunks[0].timestamp[1] > heard.chunks[0].timestamp[0]
    assert again.text == heard.text


async def test_upscale_doubles_the_image(gateway: str, tmp_path: Path) -> None:
    from PIL import Image

    async with GatewayClient(gateway) as gw:
        answer = await gw.upscale(_png(48, 32), model_id="realesrgan/x2", seed=5, safety_check=False)
        out = await gw.fetch(answer.images[0].url, tmp_path / "big.png")
    assert answer.images[0].seed == 5 and answer.images[0].nsfw is False
    with Image.open(out) as image:
        assert image.size == (96, 64)


async def test_a_path_is_sent_under_its_own_name(gateway: str, tmp_path: Path) -> None:
    source = tmp_path / "small.png"
    source.write_bytes(_png(16, 16))
    sent: list[bytes] = []

    async def capture(request: httpx.Request) -> None:
        if request.url.path == "/upscale":
            sent.append(await request.aread())

    async with GatewayClient(gateway) as gw:
        gw._http.event_hooks["request"].append(capture)
        answer = await gw.upscale(source, model_id="realesrgan/x2")
    assert answer.images[0].url.endswith(".png")
    (body,) = sent
    assert b'name="image"; filename="small.png"' in body and b"Content-Type: image/png" in body
    assert source.read_bytes() in body


async def test_a_model_nobody_serves_is_a_404_with_its_code(gateway: str) -> None:
    async with GatewayClient(gateway) as gw:
        with pytest.raises(GatewayRequestError) as raised:
            await gw.text_to_image("a lighthouse", model_id="framemesh/tiny-sd", width=64, height=64)
        assert raised.value.status == 404 and raised.value.code == "unknown_model"
        with pytest.raises(GatewayRequestError) as raised:
            await gw.image_to_video(_png(64, 64), model_id="framemesh/tiny-svd", width=64, height=64)
        assert raised.value.status == 404
        with pytest.raises(GatewayRequestError) as raised:
            await gw.image_to_image(_png(64, 64), "warmer", model_id="framemesh/tiny-sd")
        assert raised.value.status == 404


async def test_bad_input_is_refused_with_the_gateways_message(gateway: str) -> None:
    async with GatewayClient(gateway) as gw:
        with pytest.raises(GatewayRequestError) as raised:
            await gw.text_to_image("a lighthouse", model_id="framemesh/tiny-sd", width=100, height=64)
        assert raised.value.status == 400 and raised.value.code == "invalid_request"
        assert "multiple of 8" in str(raised.value)
        with pytest.raises(GatewayRequestError) as raised:
            await gw.upscale(b"not an image", model_id="realesrgan/x2")
        assert raised.value.status == 400
        with pytest.raises(GatewayRequestError) as raised:
            await gw.text_to_image("a lighthouse", model_id="framemesh/tiny-sd", width="wide")  # type: ignore[arg-type]
        assert raised.value.status == 422 and raised.value.code == "invalid_request"
        assert "body.width" in str(raised.value)


async def test_a_missing_output_is_an_error(gateway: str, tmp_path: Path) -> None:
    async with GatewayClient(gateway) as gw:
        with pytest.raises(GatewayRequestError) as raised:
            await gw.fetch(f"{gateway}/outputs/ai/nope/image-0.png", tmp_path / "x.png")
    assert raised.value.status == 404
    assert not (tmp_path / "x.png").exists()


async def test_an_unreachable_gateway_says_so() -> None:
    async with GatewayClient("http://127.0.0.1:9") as gw:
        with pytest.raises(GatewayRequestError, match="cannot reach the gateway"):
            await gw.text_to_speech("hello", model_id=PIPER)
