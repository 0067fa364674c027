"""audio-to-text: silero-vad cuts speech into timestamped chunks, PocketSphinx's
English model transcribes each chunk.

Result: ``{"text", "chunks": [{"timestamp": [start, end], "text"}]}`` with times in
seconds of the input, as the Livepeer API returns them: one chunk per stretch of
speech for `return_timestamps="true"`, one per word for `"word"` (from PocketSphinx's
word segmentation), none for `"false"`.
"""

from __future__ import annotations

import numpy as np

from framemesh.ai.errors import ModelLoadError
from framemesh.ai.media import SPEECH_RATE, decode_audio
from framemesh.ai.pipeline import Pipeline
from framemesh.ai.requests import AudioToTextRequest, TextChunk, TextResult

PAD = 0.1  # seconds of context kept around each speech segment


class AudioToText(Pipeline):
    name = "audio-to-text"

    def load(self) -> None:
        try:
            from pocketsphinx import Decoder
            from silero_vad import load_silero_vad

            self._m_vad = load_silero_vad(onnx=True)
            self._m_decoder = Decoder(samprate=SPEECH_RATE, loglevel="FATAL")
        except (ImportError, RuntimeError, OSError) as exc:
            raise ModelLoadError(f"cannot load {self.spec.model_id!r}: {exc}") from None
        self.loaded = True

    def warmup(self) -> None:
        self._transcribe(np.zeros(SPEECH_RATE // 2, np.float32))

    def add_word(self, word: str, phones: str) -> None:
        """Teach the dictionary a word, e.g. add_word("framemesh", "F R EY M M EH SH")."""
        self._m_decoder.add_word(word, phones, True)

    def _run(self, request: AudioToTextRequest) -> TextResult:
        audio = decode_audio(request.audio)
        chunks = self._transcribe(audio.samples, words=request.return_timestamps == "word")
        text = " ".join(c.text for c in chunks if c.text)
        if request.return_timestamps == "false":
            chunks = []
        return TextResult(text=text, chunks=chunks, info={"duration": audio.duration})

    def _transcribe(self, samples: np.ndarray, words: bool = False) -> list[TextChunk]:
        import torch
        from silero_vad import get_speech_timestamps

        segments = get_speech_timestamps(
            torch.from_numpy(samples), self._m_vad, sampling_rate=SPEECH_RATE, return_seconds=True
        )
        duration = len(samples) / SPEECH_RATE
        chunks = []
        for seg in segments:
            start, end = max(0.0, seg["start"] - PAD), min(duration, seg["end"] + PAD)
            pcm = samples[int(start * SPEECH_RATE) : int(end * SPEECH_RATE)]
            text = self._decode(pcm)
            if text and words:
                chunks.extend(self._words(start, duration))
            elif text:
                chunks.append(TextChunk(timestamp=(round(start, 2), min(round(end, 2), duration)), text=text))
        return chunks

    def _words(self, offset: float, duration: float) -> list[TextChunk]:
        """The last utterance's words with their times (frames are 1/frate s)."""
        frate = float(self._m_decoder.config["frate"])
        out = []
        for seg in self._m_decoder.seg():
            word = seg.word.split("(")[0]  # "the(2)": an alternative pronunciation
            if word.startswith("<") or word.startswith("[") or not word:
                continue  # <s>, </s>, <sil>, [NOISE]
            start = offset + seg.start_frame / frate
            end = offset + (seg.end_frame + 1) / frate
            out.append(TextChunk(timestamp=(round(start, 2), min(round(end, 2), duration)), text=word))
        return out

    def _decode(self, pcm: np.ndarray) -> str:
        decoder = self._m_decoder
        decoder.start_utt()
        decoder.process_raw((np.clip(pcm, -1, 1) * 32767).astype(np.int16).tobytes(), full_utt=True)
        decoder.end_utt()
        hyp = decoder.hyp()
        return hyp.hypstr.strip() if hyp is not None else ""
