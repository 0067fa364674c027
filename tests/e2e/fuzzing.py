"""The fuzz of a node's whole OpenAPI with schemathesis (tests/e2e/test_fuzz.py, scripts/fuzz).

Run with schemathesis's own runner (`st run`, in a process of its own) against a node
over real HTTP: every phase (the schema's examples, its boundaries and each
parameter's wrong types, random cases, then sequences of calls that follow the links
between operations), its report of failures with a curl line for each, and these
checks on every answer:

- schemathesis's: each status, content type, header and body as the OpenAPI documents
  it; a request outside the schema refused with a 4xx; auth not ignored;
- ours (this module, loaded by `st` as its hooks): a 5xx only as a 503 that says when
  to retry (busy, no orchestrator free), and every error a JSON body with `detail`:
  `{msg, code}`, or for a 422 the validation list (`framemesh.net.api_errors`).

Left out: repeated query parameters (read as their last value, FastAPI's way);
schemathesis's own 5xx check (any 503 fails it; ours replaces it), and the
checks that hold a node to what a schema cannot say: that any schema-valid request
succeeds (a valid form may carry a still image, not a video), that POST on a GET-only
path is a 405 (the gateway's `POST /{pipeline}` answers 404 for any unknown name),
and REST resource rules (a new stream's playlist exists before it goes live; DELETE
/ai/jobs/{id} cancels a job, it does not delete its record).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import schemathesis

EXCLUDED_CHECKS = (
    "not_a_server_error",
    "positive_data_acceptance",
    "unsupported_method",
    "use_after_free",
    "ensure_resource_availability",
)
# The only 5xx a node may answer bad input with: busy, or no orchestrator free (both 503
# with Retry-After). A 500 is a bug, a 502/504 a peer's failure passed on.
RETRY_LATER = 503


@schemathesis.check
def only_documented_server_errors(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """A 5xx only as a 503 that says when to retry."""
    if response.status_code < 500:
        return
    if response.status_code != RETRY_LATER:
        raise AssertionError(f"{response.status_code}: {response.content[:300]!r}")
    if "retry-after" not in response.headers:
        raise AssertionError(f"503 without Retry-After: {response.content[:300]!r}")


@schemathesis.check
def errors_say_what_is_wrong(ctx: Any, response: schemathesis.Response, case: schemathesis.Case) -> None:
    """Every error is JSON with `detail`: `{msg, code}`, or for a 422 the validation list."""
    if response.status_code < 400 or case.method.upper() == "HEAD":
        return
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError(f"{response.status_code} with a body that is not JSON: {response.content[:300]!r}") from None
    detail = body.get("detail") if isinstance(body, dict) else None
    if isinstance(detail, dict):
        if not (isinstance(detail.get("msg"), str) and detail["msg"] and isinstance(detail.get("code"), str)):
            raise AssertionError(f"{response.status_code}: detail without msg and code: {body!r:.300}")
        return
    if response.status_code == 422 and isinstance(detail, list) and detail and all(
        isinstance(e, dict) and {"loc", "msg", "type"} <= e.keys() for e in detail
    ):
        return
    raise AssertionError(f"{response.status_code}: not an error body with detail: {body!r:.300}")


@dataclass(frozen=True)
class FuzzRun:
    """One `st run` against one node."""

    returncode: int
    output: str  # schemathesis's report: each failure with its curl line, then a summary
    report: dict[str, Any]  # its JSON report (operations, cases, failures)

    @property
    def passed(self) -> bool:
        return self.returncode == 0

    def figures(self) -> str:
        """Operations, test cases and failures, in one line."""
        ops = self.report.get("operations", {})
        cases = self.report.get("test_cases", {})
        return (f"{ops.get('tested', '?')} operations, {cases.get('generated', '?')} test cases, "
                f"{cases.get('unique_failures', '?')} failures, {cases.get('errored', '?')} errors")


def fuzz(schema_url: str, work_dir: Path, *, examples: int, headers: dict[str, str] | None = None,
         seed: int | None = None, timeout: float = 1800.0) -> FuzzRun:
    """Run schemathesis on the OpenAPI at `schema_url`, `examples` cases per operation
    and phase; its files (cache, report) go in `work_dir`."""
    work_dir.mkdir(parents=True, exist_ok=True)
    config = work_dir / "schemathesis.toml"
    # A query parameter sent twice is read as its last value (FastAPI's way): not ours to refuse.
    config.write_text("[cache]\nenabled = false\n\n[phases.coverage]\ngenerate-duplicate-query-parameters = false\n")
    report = work_dir / "report.json"
    args = [
        sys.executable, "-c", "from schemathesis.cli import schemathesis; schemathesis()",
        "--config-file", str(config), "--no-color", "run", schema_url,
        "--max-examples", str(examples), "--workers", "1",
        "--checks", "all", "--exclude-checks", ",".join(EXCLUDED_CHECKS),
        "--suppress-health-check", "all", "--request-timeout", "30", "--continue-on-failure",
        "--output-truncate", "false", "--report", "json", "--report-json-path", str(report),
        # An event stream stays open until its live stream ends: every call would only run
        # into the request timeout (tests/e2e/test_live_ai.py reads it to the end).
        "--exclude-path-regex", r"^/streams/\{stream_id\}/events$",
    ]
    for name, value in (headers or {}).items():
        args += ["--header", f"{name}: {value}"]
    if seed is not None:
        args += ["--seed", str(seed)]
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.e2e.fuzzing", "PYTHONPATH": _pythonpath()}
    done = subprocess.run(args, cwd=work_dir, env=env, capture_output=True, text=True, timeout=timeout)
    loaded = json.loads(report.read_text()) if report.exists() else {}
    return FuzzRun(done.returncode, done.stdout + done.stderr, loaded)


def _pythonpath() -> str:
    """This process's import path for `st`, so it loads these checks and the same framemesh."""
    return os.pathsep.join(p for p in sys.path if p and Path(p).is_dir())


ADMIN_TOKEN = "fuzz-admin-token"
# The admin token opens every route of the gateway, /admin/keys too.
GATEWAY_HEADERS = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@contextmanager
def fuzz_nodes(root: Path) -> Iterator[tuple[str, str]]:
    """A gateway and an orchestrator on loopback, as the fuzz meets them: (gateway, orchestrator)."""
    from tests.e2e.nodes import gateway_thread, orchestrator_thread

    orch = orchestrator_thread(root, "o1")
    try:
        # No wait in line for a free orchestrator: an AI request nobody can run is a 503 at once.
        gw = gateway_thread(root, [orch.url], admin_token=ADMIN_TOKEN, queue_seconds=0.0)
        try:
            yield gw.url, orch.url
        finally:
            gw.stop()
    finally:
        orch.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description="Fuzz both nodes' whole OpenAPI with schemathesis.")
    parser.add_argument("--examples", type=int, default=int(os.environ.get("FRAMEMESH_FUZZ_EXAMPLES", "500")),
                        help="cases per operation and phase (default 500, or $FRAMEMESH_FUZZ_EXAMPLES)")
    parser.add_argument("--seed", type=int, default=None, help="to repeat a run")
    parser.add_argument("--node", choices=("gateway", "orchestrator", "both"), default="both")
    args = parser.parse_args()
    failed = False
    with tempfile.TemporaryDirectory(prefix="framemesh-fuzz-") as tmp, fuzz_nodes(Path(tmp)) as (gw, orch):
        targets = {"gateway": (gw, GATEWAY_HEADERS), "orchestrator": (orch, {})}
        for name, (url, headers) in targets.items():
            if args.node not in (name, "both"):
                continue
            print(f"== {name} ({url}), {args.examples} examples per operation", flush=True)
            run = fuzz(f"{url}/openapi.json", Path(tmp) / f"st-{name}", examples=args.examples, headers=headers,
                       seed=args.seed, timeout=6 * 3600)
            print(run.output)
            print(f"== {name}: {run.figures()}: {'passed' if run.passed else 'FAILED'}", flush=True)
            failed |= not run.passed
        for name, url in (("gateway", gw), ("orchestrator", orch)):
            status = httpx.get(f"{url}/healthz", timeout=10).status_code
            print(f"== {name} after the fuzz: /healthz {status}")
            failed |= status != 200
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
