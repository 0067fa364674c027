"""No 5xx from bad input, on either node (#12): schemathesis fuzzes each node's whole
OpenAPI over real HTTP, on real nodes on loopback (what it checks: tests/e2e/fuzzing.py).

Over HTTP rather than in-process (ASGI): the nodes run as in production (uvicorn, the
lifespan, worker pools, sockets) and the fuzzer meets the body limits and error
handlers as a client would, at little cost on loopback. With schemathesis's own runner
(`st run`) rather than its pytest plugin: the runner has every phase (boundaries, wrong
types, sequences of calls) and a report with a curl line per failure, and the plugin's
fixture-loaded schemas do not run under pytest 9.2.

`FRAMEMESH_FUZZ_EXAMPLES` sets the cases per operation and phase (25 here); `scripts/fuzz` runs many.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from framemesh.media.testclip import make_test_clip
from tests.e2e.fuzzing import GATEWAY_HEADERS as HEADERS
from tests.e2e.fuzzing import fuzz, fuzz_nodes

EXAMPLES = int(os.environ.get("FRAMEMESH_FUZZ_EXAMPLES", "25"))


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    with fuzz_nodes(tmp_path_factory.mktemp("fuzz")) as urls:
        yield urls


def test_fuzz_the_gateway(nodes: tuple[str, str], tmp_path: Path) -> None:
    run = fuzz(f"{nodes[0]}/openapi.json", tmp_path, examples=EXAMPLES, headers=HEADERS)
    assert run.passed, run.output


def test_fuzz_the_orchestrator(nodes: tuple[str, str], tmp_path: Path) -> None:
    run = fuzz(f"{nodes[1]}/openapi.json", tmp_path, examples=EXAMPLES)
    assert run.passed, run.output


def test_both_nodes_still_work_after_the_fuzz(nodes: tuple[str, str], tmp_path: Path) -> None:
    gw, orch = nodes
    for url in (gw, orch):
        assert httpx.get(f"{url}/healthz").status_code == 200
    assert httpx.get(f"{gw}/readyz").json()["ready"] is True
    made = httpx.post(f"{gw}/admin/keys", headers=HEADERS, json={"name": "after-the-fuzz"})
    assert made.status_code == 201, made.text
    assert httpx.get(f"{gw}/usage", headers={"Authorization": f"Bearer {made.json()['key']}"}).status_code == 200
    # A real segment through the orchestrator: one short clip, one small rendition.
    clip = make_test_clip(tmp_path / "clip.mp4", duration=1.0, width=320, height=240)
    done = httpx.post(f"{orch}/transcode", params={"profiles": "240p"}, content=clip.read_bytes(),
                      headers={"content-type": "video/mp4"}, timeout=60)
    assert done.status_code == 200, done.text
    assert done.content
