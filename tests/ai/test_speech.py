"""text-to-speech (Piper) and audio-to-text (silero-vad + PocketSphinx), for real."""

from __future__ import annotations

import io
import wave

import numpy as np
import pytest

pytest.importorskip("piper")
pytest.importorskip("pocketsphinx")
pytest.importorskip("silero_vad")

from framemesh.ai.config import ModelSpec  # noqa: E402
from framemesh.ai.errors import InvalidRequest  # noqa: E402
from framemesh.ai.media import encode_wav  # noqa: E402
from framemesh.ai.requests import AudioToTextRequest, TextToSpeechRequest  # noqa: E402

TTS = ModelSpec("text-to-speech", "piper/en_US-joe-medium")
ASR = ModelSpec("audio-to-text", "pocketsphinx/en-us")
FIRST = "The quick brown fox jumps over the lazy dog."
SECOND = "This is a test of the network."
SENTENCES = f"{FIRST} {SECOND}"
GAP = 1.0  # seconds of silence put between the two sentences


def word_error_rate(reference: str, hypothesis: str) -> float:
    ref, hyp = reference.lower().replace(".", "").split(), hypothesis.lower().split()
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1] / len(ref)


def test_word_error_rate_helper() -> None:
    assert word_error_rate("a b c d", "a b c d") == 0.0
    assert word_error_rate("a b c d", "a x c") == 0.5


def _samples(wav: bytes) -> tuple[np.ndarray, int]:
    with wave.open(io.BytesIO(wav)) as w:
        return np.frombuffer(w.readframes(w.getnframes()), np.int16), w.getframerate()


@pytest.fixture(scope="module")
def speech(loaded) -> bytes:  # type: ignore[no-untyped-def]
    return loaded(TTS).run(TextToSpeechRequest(text=SENTENCES)).wav


@pytest.fixture(scope="module")
def two_sentences(loaded) -> tuple[bytes, float]:  # type: ignore[no-untyped-def]
    """FIRST, GAP seconds of silence, SECOND; and where the silence starts."""
    first, rate = _samples(loaded(TTS).run(TextToSpeechRequest(text=FIRST)).wav)
    second, _ = _samples(loaded(TTS).run(TextToSpeechRequest(text=SECOND)).wav)
    silence = np.zeros(int(GAP * rate), np.int16)
    return encode_wav(np.concatenate([first, silence, second]), rate), len(first) / rate


def test_tts_writes_a_wav_of_plausible_length(loaded, speech: bytes) -> None:  # type: ignore[no-untyped-def]
    with wave.open(io.BytesIO(speech)) as w:
        assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
        seconds = w.getnframes() / w.getframerate()
    assert 3.0 < seconds < 9.0  # 16 words at a speaking pace
    samples, _ = _samples(speech)
    assert np.abs(samples).max() > 3000  # a voice, not silence


def test_speech_round_trips_through_pocketsphinx(loaded, two_sentences) -> None:  # type: ignore[no-untyped-def]
    audio, gap_start = two_sentences
    result = loaded(ASR).run(AudioToTextRequest(audio=audio))
    assert word_error_rate(SENTENCES, result.text) <= 0.3, result.text
    assert len(result.chunks) == 2, result.chunks  # cut at the silence
    assert result.chunks[0].timestamp[1] < gap_start + GAP / 2 < result.chunks[1].timestamp[0]
    assert word_error_rate(FIRST, result.chunks[0].text) <= 0.35
    assert word_error_rate(SECOND, result.chunks[1].text) <= 0.35
    starts = [c.timestamp[0] for c in result.chunks]
    assert starts == sorted(starts)
    for chunk in result.chunks:
        assert 0.0 <= chunk.timestamp[0] < chunk.timestamp[1] <= result.info["duration"] + 1e-6
        assert chunk.text
    body = result.to_json()
    assert body["text"] == result.text
    assert body["chunks"][0]["timestamp"] == list(result.chunks[0].timestamp)


def test_silence_gives_no_text_and_no_timestamps_when_asked(loaded) -> None:  # type: ignore[no-untyped-def]
    silence = encode_wav(np.zeros(16000, np.int16), 16000)
    assert loaded(ASR).run(AudioToTextRequest(audio=silence)).text == ""
    spoken = loaded(TTS).run(TextToSpeechRequest(text="Hello world.")).wav
    plain = loaded(ASR).run(AudioToTextRequest(audio=spoken, return_timestamps="false"))
    assert plain.chunks == [] and plain.text


def test_malformed_audio_is_refused_before_the_model(loaded) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidRequest, match="not a decodable audio file"):
        loaded(ASR).run(AudioToTextRequest(audio=b"definitely not audio"))
    with pytest.raises(InvalidRequest, match="takes a AudioToTextRequest"):
        loaded(ASR).run(TextToSpeechRequest(text="hi"))


def test_word_timestamps_follow_the_words(loaded, two_sentences) -> None:  # type: ignore[no-untyped-def]
    audio, gap_start = two_sentences
    result = loaded(ASR).run(AudioToTextRequest(audio=audio, return_timestamps="word"))
    words = [c.text for c in result.chunks]
    assert " ".join(words) == result.text
    assert len(words) >= 12
    ends = [c.timestamp[1] for c in result.chunks]
    assert ends == sorted(ends)
    assert all(c.timestamp[0] < c.timestamp[1] for c in result.chunks)
    assert "network" in words
    network = next(c for c in result.chunks if c.text == "network")
    assert network.timestamp[0] > gap_start + GAP / 2  # said after the silence
    assert all(not (gap_start + 0.2 < c.timestamp[0] < gap_start + GAP - 0.3) for c in result.chunks)
