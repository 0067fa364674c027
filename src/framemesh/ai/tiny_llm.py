"""A tiny randomly-initialised chat LLM of a real architecture, written to disk.

`write_tiny_llm(dir)` writes, with `save_pretrained`, a transformers directory that
`AutoModelForCausalLM` and `AutoTokenizer` load with `local_files_only=True`:

- a `LlamaForCausalLM` with two layers of width 32 (grouped-query attention, RoPE,
  SwiGLU: Llama's real blocks, a few thousand parameters);
- a byte-level BPE tokenizer trained here, offline, on `CORPUS` (so every text
  tokenizes, to at most one token per UTF-8 byte, the rule `framemesh.ai.units`
  bounds a prompt by), with a chat template and end-of-turn token.

Random weights make gibberish, but loading, the chat template, sampling, seeds,
stopping and token counts are the real ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

LLM_ID = "framemesh/tiny-llm"

BOS, EOS, PAD = "<|bos|>", "<|end|>", "<|pad|>"
ROLE_TOKENS = ("<|system|>", "<|user|>", "<|assistant|>")

# One turn: "<|role|>\ncontent<|end|>\n"; the reply starts after "<|assistant|>\n" and
# ends with <|end|> (the EOS token).
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>\\n' + message['content'] + eos_token + '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\\n' }}{% endif %}"
)

CORPUS = """\
The orchestrator runs the job and the gateway pays for it with tickets.
A model reads the prompt, one token at a time, and writes its answer.
Hello! How are you today? I am fine, thank you. What can I do for you?
Tell me about the lighthouse at dusk, the boat on the sea, and the cat on the wall.
Numbers: 0 1 2 3 4 5 6 7 8 9 10 100 1000. Prices in wei per token.
Video, images, audio and text travel over the network between the nodes.
"""


def write_tiny_llm(out: str | Path, seed: int = 0, vocab_size: int = 384) -> Path:
    """Write the tiny LLM and its tokenizer into `out`; returns `out`."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = _tokenizer(vocab_size)
    tokenizer.save_pretrained(str(out))
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
    model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(str(out))
    return out


def _tokenizer(vocab_size: int) -> Any:
    """A byte-level BPE trained on CORPUS, wrapped as a transformers fast tokenizer."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[BOS, EOS, PAD, *ROLE_TOKENS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # every byte: nothing is unknown
        show_progress=False,
    )
    bpe.train_from_iterator(CORPUS.splitlines(), trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe, bos_token=BOS, eos_token=EOS, pad_token=PAD, model_max_length=2048
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer
