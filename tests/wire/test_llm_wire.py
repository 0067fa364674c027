"""What binds an LLM answer to the orchestrator that made it: the digest it signs."""

from __future__ import annotations

from framemesh.chain.keys import Signer
from framemesh.payments.signatures import recover
from framemesh.wire.ai import LLMDone, LLMTokenUsage, llm_answer_digest, llm_request_sha256

KEY = "0x" + "11" * 32


def _done(**change: object) -> LLMDone:
    fields: dict[str, object] = {
        "model_id": "framemesh/tiny-llm", "job_id": "j1", "text": "Hello!", "finish_reason": "stop",
        "usage": LLMTokenUsage(prompt_tokens=9, completion_tokens=3, total_tokens=12), "seed": 1,
        "units_bound": 100, "units": 12, "price": 120, "orchestrator": "o1", "elapsed": 0.5,
    }
    return LLMDone.model_validate({**fields, **change})


def test_the_signed_digest_recovers_to_the_signer_and_binds_the_answer() -> None:
    signer = Signer.from_key(KEY)
    request = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 88, "seed": None}
    request_hash = llm_request_sha256(request)
    assert request_hash == llm_request_sha256(dict(reversed(list(request.items())))), "canonical: key order does not matter"
    digest = llm_answer_digest(_done(), request_hash)
    signature = signer.sign_digest(digest)
    assert recover(digest, signature) == signer.address
    for change in ({"text": "Hello?"}, {"price": 121}, {"units": 11}, {"job_id": "j2"}, {"finish_reason": "length"}):
        assert llm_answer_digest(_done(**change), request_hash) != digest, change
        assert recover(llm_answer_digest(_done(**change), request_hash), signature) != signer.address
    assert llm_answer_digest(_done(), llm_request_sha256({**request, "max_tokens": 89})) != digest
    unsigned_fields = _done(balance="5", address=signer.address, signature="0x00", elapsed=9.0)
    assert llm_answer_digest(unsigned_fields, request_hash) == digest, "what is not signed does not change the digest"
