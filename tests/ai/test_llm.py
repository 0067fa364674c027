"""The llm pipeline on the tiny LLM written to disk (a real Llama, a real BPE tokenizer
and chat template), its request checks, its units, and streaming through a worker."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from framemesh.ai import build_request
from framemesh.ai.errors import InvalidRequest, ModelLoadError
from framemesh.ai.requests import DEFAULT_LIMITS, LLMMessage, LLMRequest, LLMResult
from framemesh.ai.units import (
    llm_charged_units,
    llm_prompt_bound,
    llm_units_bound,
)

pytest.importorskip("transformers")

LLM_ID = "framemesh/tiny-llm"


def ask(text: str = "Hello there, how are you?", **kw: Any) -> LLMRequest:
    return LLMRequest(messages=(LLMMessage("system", "Be brief."), LLMMessage("user", text)), model=LLM_ID, **kw)


@pytest.fixture(scope="module")
def spec(tiny_config: Any) -> Any:
    found = tiny_config.find("llm", LLM_ID)
    assert found is not None, "framemesh models tiny serves the tiny LLM"
    return found


@pytest.fixture(scope="module")
def pipe(spec: Any, loaded: Any) -> Any:
    return loaded(spec)


# The model on disk ----------------------------------------------------------------


def test_the_tiny_llm_is_a_real_llama_with_a_chat_template_on_disk(spec: Any) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    config = json.loads((spec.path / "config.json").read_text())
    assert config["architectures"] == ["LlamaForCausalLM"] and config["num_hidden_layers"] == 2
    tokenizer = AutoTokenizer.from_pretrained(str(spec.path), local_files_only=True)
    assert tokenizer.chat_template
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], add_generation_prompt=True, tokenize=False)
    assert prompt == "<|bos|><|user|>\nhi<|end|>\n<|assistant|>\n"
    ids = tokenizer("the orchestrator", add_special_tokens=False)["input_ids"]
    assert len(ids) < len("the orchestrator"), "trained merges, not one token per byte"
    assert tokenizer.decode(ids) == "the orchestrator"
    model = AutoModelForCausalLM.from_pretrained(str(spec.path), local_files_only=True)
    assert type(model).__name__ == "LlamaForCausalLM"


def test_a_directory_without_a_chat_template_or_a_model_does_not_load(spec: Any, tmp_path: Path) -> None:
    import shutil

    from framemesh.ai.pipeline import create_pipeline

    copy = tmp_path / "no-template"
    shutil.copytree(spec.path, copy)
    (copy / "chat_template.jinja").unlink()
    config = json.loads((copy / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (copy / "tokenizer_config.json").write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match="chat_template"):
        create_pipeline(dataclasses.replace(spec, path=copy)).load()
    with pytest.raises(ModelLoadError, match="cannot load"):
        create_pipeline(dataclasses.replace(spec, path=tmp_path / "empty")).load()


# Generation ---------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_answer(pipe: Any) -> None:
    first = pipe.run(ask(seed=11, max_tokens=16))
    again = pipe.run(ask(seed=11, max_tokens=16))
    other = pipe.run(ask(seed=12, max_tokens=16))
    assert isinstance(first, LLMResult) and first.seed == 11
    assert (first.text, first.completion_tokens) == (again.text, again.completion_tokens)
    assert first.text != other.text
    greedy = [pipe.run(ask(temperature=0, max_tokens=8)).text for _ in range(2)]
    assert greedy[0] == greedy[1], "temperature 0 is greedy: no seed needed"


def test_max_tokens_ends_with_length_and_counts_are_the_tokenizers(pipe: Any) -> None:
    request = ask(seed=3, max_tokens=5)
    result = pipe.run(request)
    assert (result.completion_tokens, result.finish_reason) == (5, "length")
    tokenizer = pipe._m_tokenizer
    messages = [dataclasses.asdict(m) for m in request.messages]
    prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    assert result.prompt_tokens == len(tokenizer(prompt, add_special_tokens=False)["input_ids"])
    assert result.prompt_tokens <= llm_prompt_bound(request.pairs())
    assert result.total_tokens == result.prompt_tokens + 5


def test_an_eos_token_ends_the_turn_with_stop(pipe: Any) -> None:
    import torch

    eos = pipe._m_tokenizer.eos_token_id

    def always_eos(module: Any, inputs: Any, output: torch.Tensor) -> torch.Tensor:
        output = output.clone()
        output[..., eos] = 1e4
        return output

    handle = pipe._m_model.lm_head.register_forward_hook(always_eos)
    try:
        result = pipe.run(ask(seed=1, max_tokens=20))
    finally:
        handle.remove()
    assert (result.text, result.completion_tokens, result.finish_reason) == ("", 1, "stop")


def test_streamed_pieces_join_to_the_answer(pipe: Any) -> None:
    request = ask("Tell me about the lighthouse 🐱 at dusk", seed=5, max_tokens=24)
    pieces: list[str] = []
    streamed = pipe.run(request, pieces.append)
    whole = pipe.run(request)
    assert len(pieces) > 3 and all(pieces)
    assert "".join(pieces) == streamed.text == whole.text


def test_a_prompt_over_the_context_is_refused(pipe: Any) -> None:
    with pytest.raises(InvalidRequest, match="context of 2048"):
        pipe.run(ask("word " * 600, max_tokens=4096, seed=0))


# Requests -------------------------------------------------------------------------------


def test_a_livepeer_body_builds_a_request() -> None:
    body = {
        "messages": [{"role": "user", "content": "hi"}], "model": LLM_ID, "temperature": 0.2, "max_tokens": 9,
        "top_p": 0.9, "top_k": 40, "stream": True, "seed": 4, "frequency_penalty": 0.5,  # unknown: ignored
    }
    request = build_request("llm", body)
    assert request == LLMRequest(
        messages=(LLMMessage("user", "hi"),), model=LLM_ID, temperature=0.2, max_tokens=9, top_p=0.9, top_k=40,
        stream=True, seed=4,
    )
    assert request.model_id == LLM_ID
    defaults = build_request("llm", {"messages": [{"role": "user", "content": "hi"}]})
    assert (defaults.temperature, defaults.max_tokens, defaults.top_p, defaults.top_k, defaults.stream) == (0.7, 256, 1.0, -1, False)
    with pytest.raises(InvalidRequest, match="messages"):
        build_request("llm", {"messages": [{"role": "user", "content": [{"type": "text"}]}]})
    with pytest.raises(InvalidRequest, match="messages"):
        build_request("llm", {})


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"messages": ()}, "messages is empty"),
        ({"messages": (LLMMessage("robot", "hi"),)}, "messages[0].role must be one of system, user, assistant"),
        ({"messages": (LLMMessage("user", "   "),)}, "every message is empty"),
        ({"messages": (LLMMessage("user", "x" * 32_001),)}, "32001 characters; the limit is 32000"),
        ({"messages": (LLMMessage("user", "x"),) * 257}, "257 messages; the limit is 256"),
        ({"max_tokens": 0}, "max_tokens must be 1..4096, got 0"),
        ({"max_tokens": 4097}, "max_tokens must be 1..4096"),
        ({"temperature": 2.5}, "temperature must be 0..2"),
        ({"temperature": -0.1}, "temperature must be 0..2"),
        ({"top_p": 0.0}, "top_p must be in (0, 1]"),
        ({"top_p": 1.5}, "top_p must be in (0, 1]"),
        ({"top_k": 0}, "top_k must be -1 (off) or >= 1"),
        ({"seed": -1}, "seed must be 0..2**32-1"),
    ],
)
def test_check_refuses_what_cannot_run(change: dict[str, Any], words: str) -> None:
    request = dataclasses.replace(ask(), **change)
    with pytest.raises(InvalidRequest) as caught:
        request.check(DEFAULT_LIMITS)
    assert words in str(caught.value)


def test_check_takes_the_edges() -> None:
    for change in ({"temperature": 0.0}, {"temperature": 2.0}, {"top_p": 1.0}, {"top_k": 1}, {"max_tokens": 4096}):
        dataclasses.replace(ask(), **change).check(DEFAULT_LIMITS)


# Units ------------------------------------------------------------------------------------


def test_the_units_bound_is_the_shared_rule() -> None:
    request = ask("héllo", max_tokens=100)
    # The documented rule, by hand: 64 for the prompt, then per message its role's and
    # content's UTF-8 bytes and 8 ("system" 6 + "Be brief." 9; "user" 4 + "héllo" 6), and
    # max_tokens.
    expected = 64 + (6 + 9 + 8) + (4 + 6 + 8) + 100
    assert request.units() == llm_units_bound(request.pairs(), 100) == expected  # "é" is two bytes
    assert llm_charged_units(30, 20, bound=expected) == 50
    assert llm_charged_units(30, 20, bound=40) == 40, "never more than the bound paid"
    with pytest.raises(ValueError):
        llm_charged_units(-1, 0, bound=10)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["system", "user", "assistant"]), st.text(min_size=0, max_size=80)),
        min_size=1, max_size=4,
    )
)
def test_the_prompt_bound_covers_the_tiny_tokenizer(spec: Any, messages: list[tuple[str, str]]) -> None:
    tokenizer = _tokenizer(spec.path)
    chat = [{"role": r, "content": c} for r, c in messages]
    prompt = tokenizer.apply_chat_template(chat, add_generation_prompt=True, tokenize=False)
    assert len(tokenizer(prompt, add_special_tokens=False)["input_ids"]) <= llm_prompt_bound(messages)


_TOKENIZERS: dict[Path, Any] = {}


def _tokenizer(path: Path) -> Any:
    from transformers import AutoTokenizer

    if path not in _TOKENIZERS:
        _TOKENIZERS[path] = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    return _TOKENIZERS[path]


# Through a worker process ---------------------------------------------------------------


def test_a_worker_streams_pieces_before_its_result(spec: Any) -> None:
    from framemesh.ai.config import AIConfig
    from framemesh.ai.host import ModelHost

    async def go() -> tuple[list[Any], Any]:
        async with ModelHost(AIConfig(models=(spec,)), timeout=120) as host:
            request = ask(seed=9, max_tokens=12)
            items = [item async for item in host.stream("llm", LLM_ID, request)]
            return items, await host.run("llm", LLM_ID, request)

    items, whole = asyncio.run(go())
    *pieces, result = items
    assert isinstance(result, LLMResult) and all(isinstance(p, str) for p in pieces)
    assert len(pieces) > 1 and "".join(pieces) == result.text == whole.text
