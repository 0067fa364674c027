"""An AI job on the devnet: the gateway finds the orchestrator on the chain, pays for
the job in tickets, and the orchestrator charges price per unit x units."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from framemesh.devnet import Devnet, DevnetConfig
from framemesh.provenance.verify import read_provenance
from tests.e2e.ai_nodes import PIPER, write_models
from tests.e2e.scrape import id_like_labels, scrape

LLM = "framemesh/tiny-llm"

pytest.importorskip("piper")


def test_ai_job_is_paid_in_tickets(tmp_path: Path) -> None:
    pytest.importorskip("diffusers")
    models = write_models(tmp_path / "models", ("text-to-speech", "llm"))
    text = "paid speech"
    with Devnet(DevnetConfig(root=tmp_path, orchestrators=1, delegation=0, ai_config=models)) as net:
        node = net.orchestrators[0]
        response = httpx.post(f"{net.gateway.url}/text-to-speech", json={"text": text, "model_id": PIPER}, timeout=120)
        assert response.status_code == 200, response.text
        wav = tmp_path / "speech.wav"
        wav.write_bytes(httpx.get(response.json()["audio"]["url"]).content)
        verdict = read_provenance(wav, trust_anchors=[(net.keys_dir / "ca.pem").read_text()])
        assert verdict.ok, verdict.problems
        assert (verdict.address or "").lower() == node.signer.address.lower()

        paid = httpx.get(f"{net.gateway.url}/payments").json()
        assert paid["enabled"] and paid["tickets_sent"] > 0
        metrics = httpx.get(f"{node.url}/stats").json()
        assert metrics["payments"]["tickets_received"] == paid["tickets_sent"]
        price_per_unit = next(c.price_per_unit for c in node.server.app.state.ai.capabilities() if c.model_id == PIPER)
        assert metrics["ai"] == {"jobs_done": 1, "fees_charged_wei": str(price_per_unit * len(text))}

        unpaid = httpx.post(
            f"{node.url}/ai/text-to-speech",
            data={"request": f'{{"text": "{text}", "model_id": "{PIPER}"}}'},
        )
        assert unpaid.status_code == 402 and unpaid.json()["detail"]["code"] == "payment_required"
        _ai_metrics(net, node, "text-to-speech", PIPER, ok=1, price_per_unit=price_per_unit)
        assert scrape(node.url).value(
            "framemesh_orchestrator_ai_requests_total", pipeline="text-to-speech", model=PIPER, outcome="unpaid") == 1

        _llm_is_charged_for_the_tokens_it_used(net, node)


def _llm_is_charged_for_the_tokens_it_used(net: Devnet, node: Any) -> None:
    """Paid for the bound, charged price per unit x tokens used; the rest stays the
    gateway's credit, and the gateway's mirror of it equals the orchestrator's."""
    fees_before = int(httpx.get(f"{node.url}/stats").json()["ai"]["fees_charged_wei"])
    price_per_unit = next(c.price_per_unit for c in node.server.app.state.ai.capabilities() if c.model_id == LLM)
    body = {"messages": [{"role": "user", "content": "Hello, paid model"}], "model": LLM, "max_tokens": 8, "seed": 1}
    answer = httpx.post(f"{net.gateway.url}/llm", json=body, timeout=120)
    assert answer.status_code == 200, answer.text
    usage = answer.json()["usage"]
    streamed = httpx.post(f"{net.gateway.url}/llm", json={**body, "stream": True}, timeout=120)
    assert streamed.status_code == 200 and streamed.text.endswith("data: [DONE]\n\n"), streamed.text
    fees = int(httpx.get(f"{node.url}/stats").json()["ai"]["fees_charged_wei"]) - fees_before
    assert fees == 2 * price_per_unit * usage["total_tokens"], "the same request twice, at its token count"
    payer = net.gateway.app.state.gateway.payer
    recipient = node.signer.address
    mirror = payer.sender.balances.get(recipient)
    credit = node.server.app.state.orchestrator.billing.recipient.balance(payer.address)
    assert mirror == credit > 0, "the unused part of each bound is credit both sides agree on"
    _ai_metrics(net, node, "llm", LLM, ok=2, price_per_unit=price_per_unit)


def _ai_metrics(net: Devnet, node: Any, pipeline: str, model: str, *, ok: int, price_per_unit: int) -> None:
    """Both nodes' /metrics counted the requests by pipeline, model and outcome, and the
    gateway timed each; no job id is a label."""
    gateway, orchestrator = scrape(net.gateway.url), scrape(node.url)
    labels = {"pipeline": pipeline, "model": model, "outcome": "ok"}
    assert gateway.value("framemesh_gateway_ai_requests_total", **labels) == ok
    assert orchestrator.value("framemesh_orchestrator_ai_requests_total", **labels) == ok
    assert gateway.value("framemesh_gateway_ai_tries_total", pipeline=pipeline, orchestrator=node.url, outcome="ok") == ok
    assert gateway.value("framemesh_gateway_ai_round_trip_seconds_count", pipeline=pipeline) == ok
    assert orchestrator.value("framemesh_orchestrator_price_per_unit_wei", capability=pipeline, model=model) == price_per_unit
    assert orchestrator.value("framemesh_orchestrator_ai_capacity", pipeline=pipeline, model=model) >= 1
    assert orchestrator.value("framemesh_orchestrator_ai_admitted", pipeline=pipeline, model=model) == 0
    assert gateway.value("framemesh_tickets_sent_total") == orchestrator.value("framemesh_tickets_received_total")
    assert id_like_labels(gateway) == id_like_labels(orchestrator) == []
