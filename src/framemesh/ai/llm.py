"""llm: chat completion with a transformers causal LM loaded from a local directory.

The messages go through the tokenizer's chat template, then `generate` samples the
reply with the request's temperature, top_p, top_k and max_tokens from a seeded torch
generator state (the same seed gives the same reply). `finish_reason` is "stop" when
the model ends its turn (an EOS token), "length" when max_tokens ran out. The token
counts are the model's own tokenizer's: they are what the orchestrator charges for.

Streaming: `run(request, emit)` calls `emit(text)` with each new piece of the reply as
the tokens come out of `generate`; the pieces joined are the result's text.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from framemesh.ai.errors import InvalidRequest, ModelLoadError
from framemesh.ai.pipeline import Pipeline
from framemesh.ai.requests import LLMMessage, LLMRequest, LLMResult


class LLM(Pipeline):
    name = "llm"

    def load(self) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        path = self.spec.path
        if path is None:
            raise ModelLoadError(f"{self.spec.model_id!r}: an llm model needs a path (a transformers directory)")
        try:
            tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
            model = AutoModelForCausalLM.from_pretrained(str(path), local_files_only=True)
        except (OSError, ValueError) as exc:
            raise ModelLoadError(f"cannot load LLM {self.spec.model_id!r} from {path}: {exc}") from None
        if not tokenizer.chat_template:
            raise ModelLoadError(f"{path}: the tokenizer has no chat_template; an llm model needs one")
        model.eval()
        self._m_tokenizer = tokenizer
        self._m_model = model
        self._m_eos = _eos_ids(tokenizer, model)
        self.loaded = True

    def warmup(self) -> None:
        self.run(LLMRequest(messages=(LLMMessage("user", "Hi"),), max_tokens=2, seed=0))

    @property
    def context_length(self) -> int:
        return int(getattr(self._m_model.config, "max_position_embeddings", 0) or 2**31)

    def _run(self, request: LLMRequest) -> LLMResult:
        return self._stream(request, None)

    def _stream(self, request: LLMRequest, emit: Callable[[str], None] | None) -> LLMResult:
        import torch

        tokenizer, model = self._m_tokenizer, self._m_model
        messages = [{"role": m.role, "content": m.content} for m in request.messages]
        prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        encoded = tokenizer(prompt, add_special_tokens=False, return_tensors="pt")
        prompt_tokens = int(encoded["input_ids"].shape[1])
        if prompt_tokens + request.max_tokens > self.context_length:
            raise InvalidRequest(
                f"the prompt is {prompt_tokens} tokens; with max_tokens {request.max_tokens} that is over "
                f"{self.spec.model_id!r}'s context of {self.context_length} tokens"
            )
        seed = request.seed if request.seed is not None else secrets.randbelow(2**32)
        torch.manual_seed(seed)
        sampling: dict[str, Any] = {"do_sample": False}
        if request.temperature > 0:
            sampling = {
                "do_sample": True,
                "temperature": request.temperature,
                "top_p": request.top_p,
                "top_k": max(0, request.top_k),
            }
        streamer = _Pieces(tokenizer, emit) if emit is not None else None
        with torch.inference_mode():
            out = model.generate(
                **encoded,
                max_new_tokens=request.max_tokens,
                eos_token_id=sorted(self._m_eos),
                pad_token_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else min(self._m_eos),
                streamer=streamer,
                **sampling,
            )
        new = out[0, prompt_tokens:].tolist()
        text = _decode(tokenizer, new)
        if streamer is not None:
            streamer.finish(text)
        finish = "stop" if new and new[-1] in self._m_eos else "length"
        return LLMResult(
            text=text, finish_reason=finish, prompt_tokens=prompt_tokens, completion_tokens=len(new), seed=seed
        )


def _eos_ids(tokenizer: Any, model: Any) -> set[int]:
    """Every token that ends the model's turn: the tokenizer's EOS and the model's."""
    ids: set[int] = set()
    for source in (tokenizer.eos_token_id, model.generation_config.eos_token_id, model.config.eos_token_id):
        if isinstance(source, int):
            ids.add(source)
        elif isinstance(source, (list, tuple)):
            ids.update(int(i) for i in source)
    if not ids:
        raise ModelLoadError("the model has no EOS token: it could never finish a turn")
    return ids


def _decode(tokenizer: Any, ids: list[int]) -> str:
    return str(tokenizer.decode(ids, skip_special_tokens=True, clean_up_tokenization_spaces=False))


class _Pieces:
    """A `generate` streamer: emits each new piece of decoded text as tokens arrive.

    `generate` calls put() first with the prompt (skipped), then with each new token.
    A piece ends only where the text decoded so far is stable (not mid-way through a
    multi-byte character), so the pieces joined are exactly the final text.
    """

    def __init__(self, tokenizer: Any, emit: Callable[[str], None]) -> None:
        self.tokenizer = tokenizer
        self.emit = emit
        self.ids: list[int] = []
        self.sent = ""
        self.prompt_seen = False

    def put(self, value: Any) -> None:
        if not self.prompt_seen:
            self.prompt_seen = True
            return
        self.ids.extend(int(i) for i in value.reshape(-1).tolist())
        text = _decode(self.tokenizer, self.ids)
        if text.endswith("\ufffd") or not text.startswith(self.sent):
            return  # an incomplete character: wait for the next token
        if len(text) > len(self.sent):
            self.emit(text[len(self.sent) :])
            self.sent = text

    def end(self) -> None:
        """Called by `generate` when it stops; the rest is sent by finish()."""

    def finish(self, text: str) -> None:
        if text.startswith(self.sent) and len(text) > len(self.sent):
            self.emit(text[len(self.sent) :])
            self.sent = text
