"""Chaos, measured (issue #12 item 6): a mixed workload on a network of processes
while orchestrators and the gateway are killed (SIGKILL) and restarted; then the books.

    python benchmarks/chaos.py --minutes 4 [--chain anvil|embedded] [--orchestrators 3] [--seed 1]

Every node is its own process started with the real `framemesh` command, on a real
chain: `chain deploy`, `chain fund`, keystores, `orchestrator start --register`,
`deposit fund`, `gateway start --admin-token` and an API key made on its admin API.
The orchestrators serve transcoding and a tiny Stable Diffusion (built in code, as
`framemesh models tiny` does) for text-to-image and image-to-image. The work, each
kind on its own thread: transcode uploads (`POST /jobs`), Livepeer AI requests
(`POST /text-to-image`), staged jobs (`POST /ai/jobs`: text-to-image → image-to-image)
and live streams pushed over RTMP by `framemesh stream push` in a process of its own
(pushed again after a gateway kill cut it, as an encoder reconnects).

The chain (`--chain`) is a process of its own too, every node pointed at its URL with
`--rpc`: anvil (the default; `scripts/install-anvil`), or the embedded chain (py-evm,
as `Chain.embedded()` runs it) served by `framemesh chain serve` on a free port. Both
mine a block per transaction; the embedded one is slower (py-evm, one request at a
time).

What is checked (`check`), printed, and written to a JSON summary:

- jobs: every accepted job (a transcode or staged job given an id, a stream created,
  an AI request answered 200) completes; the only exception is one that failed with a
  reason saying no orchestrator could serve it (counted apart, reasons printed).
  A synchronous AI request whose connection the gateway's death cut got no answer:
  it was never accepted, and is counted apart, as are 503 refusals at the door.
- no winning ticket lost or redeemed twice: the winning tickets in every
  orchestrator's SQLite store (durable: written before the job's answer leaves) are,
  one for one, the chain's `WinningTicketRedeemed` events to our orchestrators; none is
  left pending or expired once the restarted orchestrators have redeemed.
- the money on chain: face value redeemed == the gateway's deposit and reserve spent,
  to the wei; the increase of the orchestrators' fee pools (each is its only delegator)
  is that less the dust the contract's fixed-point split rounds down (at most a wei a
  ticket; never more than came in).
- nobody charged twice: the gateway's usage records (`key_usage`, durable) hold one
  row per segment of a completed transcode job, one per stage, one per AI request
  answered, one per live segment listed; no more (a piece of work redone after a kill
  is charged to the key once). An AI request may be charged and its answer then lost
  with the gateway's process (the client saw its connection cut): at most one each.
- the books: the orchestrators' counters (`/stats`: tickets received and won, fees
  charged) and the gateway's (`/payments` tickets sent, `/usage` wei) live in memory,
  per process lifetime; a SIGKILL takes the last moments of a lifetime with it. So
  each lifetime is read every second and just before it is killed, and the figures of
  the chaos are reported as: tickets sent = received + not received (sent to a node
  that died before taking them, or refused as stale after its restart);
  orchestrators' fees = gateway's usage + charged for answers the kill lost. Exactly,
  to the wei, they must agree in a calm stretch after the chaos, when every node is
  alive: tickets sent == tickets received, fees charged == usage.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # benchmarks.report

from framemesh.net.server import free_port  # noqa: E402

PASSWORD = "chaos horse battery staple"
ADMIN = "chaos-admin-token"
SD = "framemesh/tiny-sd"
FACE_VALUE = 20 * 10**9  # wei
WIN_PROB = "1/20"  # a few tickets per segment, a winner every few segments
PRICE_PER_PIXEL = 1000
ROUND_LENGTH = 100
# Reasons a job may fail with: no orchestrator could serve it.
NO_ORCHESTRATOR = re.compile(r"no orchestrator|every orchestrator|orchestrators? (?:failed|tried)|skipped", re.I)
LIVE_SECONDS, LIVE_SEGMENTS = 8.0, 4  # the live clip: 2 s between keyframes
RESULTS = ROOT / ".cache" / "benchmarks" / "chaos-results.json"
CHAINS = {"anvil": "anvil", "embedded": "the embedded chain (py-evm, served by `framemesh chain serve`)"}


# -- nodes ---------------------------------------------------------------------


class Node:
    """A node started with the real `framemesh` command; SIGKILLed and started again
    with the same port and data directory. Each start is a new lifetime."""

    def __init__(self, name: str, args: list[str], root: Path, port: int | None = None) -> None:
        self.name = name
        self.args = args
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = root / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.lifetime = 0
        self.ready = False  # started and answering (not starting, not killed)

    def start(self, extra: tuple[str, ...] = (), timeout: float = 300.0) -> "Node":
        self.lifetime += 1
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "framemesh", *self.args, *extra, "--port", str(self.port), "--log-level", "warning"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1", "FRAMEMESH_KEYSTORE_PASSWORD": PASSWORD},
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}: {self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    self.ready = True
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} not up in {timeout:g} s: {self.log_path.read_text()[-2000:]}")

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL, as a crashed machine; then whatever is left of its process group."""
        self.ready = False
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._reap()

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._reap()

    def _reap(self) -> None:
        assert self.proc is not None
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def cli(cwd: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "framemesh", *args], capture_output=True, text=True, timeout=300, cwd=cwd,
        env={**os.environ, "FRAMEMESH_KEYSTORE_PASSWORD": PASSWORD},
    )
    if result.returncode != 0:
        raise RuntimeError(f"framemesh {' '.join(args)}: {result.stderr[-2000:]}")
    return result.stdout


def write_models(root: Path, pipelines: tuple[str, ...]) -> Path:
    """The tiny Stable Diffusion for `pipelines` (text-to-image, image-to-image: a worker process each)."""
    import torch

    from framemesh.ai.tiny import write_tiny_sd

    torch.manual_seed(0)
    write_tiny_sd(root / "tiny-sd")
    toml = root / "models.toml"
    toml.write_text(
        'cache_dir = "cache"\n'
        + "".join(
            f'[[models]]\npipeline = "{p}"\nmodel_id = "{SD}"\npath = "tiny-sd"\nprice_per_unit = 1000\n'
            for p in pipelines
        )
    )
    return toml


@dataclass
class Network:
    root: Path
    orchestrators: list[Node]
    gateway: Node
    rtmp_port: int
    key: str
    rpc: str
    deployment: Path
    addresses: dict[str, str]
    pipelines: tuple[str, ...] = ("text-to-image",)
    deposit_at_start: int = 0

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {ADMIN}"}


def start_network(root: Path, rpc: str, orchestrators: int, pipelines: tuple[str, ...], log: Callable[[str], None]) -> Network:
    from framemesh.chain.backend import Chain
    from framemesh.chain.keys import create_keystore
    from framemesh.protocol.network import Protocol

    deployment = root / "framemesh-data" / "deployment.json"
    chain_args = ["--rpc", rpc, "--deployment", str(deployment)]
    log(f"deploying the protocol on {rpc}, funding accounts, writing the tiny models ...")
    cli(root, "chain", "deploy", "--round-length", str(ROUND_LENGTH), "--rpc", rpc)
    names = [f"o{i + 1}" for i in range(orchestrators)]
    keys, addresses = {}, {}
    for who in [*names, "gw"]:
        keys[who] = root / f"{who}.json"
        addresses[who] = create_keystore(keys[who], PASSWORD, kdf="pbkdf2", iterations=2).address
        cli(root, "chain", "fund", addresses[who], "--eth", "10 ETH", "--fmt", "2000 FMT", "--dev-account", "0", "--rpc", rpc)
    models = write_models(root / "models", pipelines)
    nodes = []
    for name in names:
        nodes.append(Node(name, [
            "orchestrator", "start", "--name", name, "--capacity", "2", "--data-dir", str(root / name), *chain_args,
            "--keystore", str(keys[name]), "--price-per-pixel", str(PRICE_PER_PIXEL),
            "--ticket-face-value", f"{FACE_VALUE} wei", "--ticket-win-prob", WIN_PROB, "--redeem-interval", "0.5",
            "--ai-config", str(models),
        ], root))
    log(f"starting {orchestrators} orchestrators (each loads its models, a worker process per pipeline) ...")
    starting = [threading.Thread(target=n.start, args=(("--register", "--stake", "1000 FMT", "--fee-share", "50%"),))
                for n in nodes]
    for t in starting:
        t.start()
    for t in starting:
        t.join()
    for n in nodes:
        if not n.alive:
            raise RuntimeError(f"{n.name} did not start: {n.log_path.read_text()[-2000:]}")
    chain = Chain.connect(rpc)
    proto = Protocol.load(chain, deployment)
    chain.mine(ROUND_LENGTH + 1)  # the next round: registrations count; their duty loops initialize it
    deadline = time.monotonic() + 60
    while not (proto.round_initialized() and all(proto.is_active(addresses[n]) for n in names)):
        if time.monotonic() > deadline:
            raise TimeoutError("the orchestrators did not become active")
        time.sleep(0.2)
    cli(root, "deposit", "fund", "--deposit", "2 ETH", "--reserve", "1 ETH", "--keystore", str(keys["gw"]), "--rpc", rpc)
    rtmp = free_port()
    gateway = Node("gateway", [
        "gateway", "start", "--data-dir", str(root / "gateway"), *chain_args, "--keystore", str(keys["gw"]),
        "--admin-token", ADMIN, "--rtmp-port", str(rtmp), "--live-idle-timeout", "60", "--segment-timeout", "30",
    ], root).start()
    made = httpx.post(f"{gateway.url}/admin/keys", json={"name": "chaos"}, headers={"Authorization": f"Bearer {ADMIN}"})
    made.raise_for_status()
    net = Network(root, nodes, gateway, rtmp, made.json()["key"], rpc, deployment, addresses, pipelines)
    info = proto.sender_info(addresses["gw"])
    net.deposit_at_start = info.deposit + info.reserve
    wait_ready(net)
    return net


def wait_ready(net: Network, timeout: float = 120.0) -> None:
    """Until the gateway knows every orchestrator that is up (found on the chain)."""
    deadline = time.monotonic() + timeout
    want = sum(1 for o in net.orchestrators if o.alive)
    while time.monotonic() < deadline:
        try:
            r = httpx.get(f"{net.gateway.url}/readyz", timeout=5)
            if r.status_code == 200 and r.json()["orchestrators"] >= want:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise TimeoutError("the gateway did not find the orchestrators")


# -- the books, per lifetime ---------------------------------------------------


@dataclass
class Books:
    """The last reading of each node's in-memory counters, per lifetime."""

    readings: dict[tuple[str, int], dict[str, int]] = field(default_factory=dict)  # (node, lifetime) →
    lock: threading.Lock = field(default_factory=threading.Lock)

    def read(self, net: Network, only: Node | None = None) -> None:
        """Read every node that is up (or `only` that one). Counters only grow within a
        lifetime: a reading older than the one kept (two readers racing) is dropped."""
        for node in [only] if only is not None else [*net.orchestrators, net.gateway]:
            lifetime = node.lifetime
            if not node.alive:
                continue
            try:
                if node is net.gateway:
                    p = httpx.get(f"{node.url}/payments", headers=net.admin(), timeout=3).json()
                    reading = {"tickets_sent": int(p["tickets_sent"]), "face_value_sent": int(p["face_value_sent"])}
                else:
                    m = httpx.get(f"{node.url}/stats", timeout=3).json()
                    pay, ai = m["payments"] or {}, m["ai"] or {}
                    reading = {
                        "tickets_received": int(pay.get("tickets_received", 0)),
                        "tickets_won": int(pay.get("tickets_won", 0)),
                        "fees_wei": int(m["fees_charged_wei"]) + int(ai.get("fees_charged_wei", 0)),
                        "segments": int(m["segments_done"]),
                        "ai_jobs": int(ai.get("jobs_done", 0)),
                    }
            except (httpx.HTTPError, ValueError, KeyError):
                continue
            if node.lifetime != lifetime:
                continue
            with self.lock:
                kept = self.readings.setdefault((node.name, lifetime), reading)
                for k, v in reading.items():
                    kept[k] = max(kept[k], v)

    def total(self) -> dict[str, int]:
        with self.lock:
            out: Counter[str] = Counter()
            for r in self.readings.values():
                out.update(r)
            return dict(out)


def usage_wei(net: Network) -> int:
    r = httpx.get(f"{net.gateway.url}/usage", headers=net.headers(), timeout=10).json()
    return int(r["usage"]["wei"])


# -- the workload ----------------------------------------------------------------


@dataclass
class Outcome:
    kind: str
    id: str
    state: str  # completed, failed, refused, cut
    reason: str | None = None
    units: int = 0  # pieces of work: segments, stages, 1 per AI request, listed live segments
    seconds: float = 0.0  # of an AI request


@dataclass
class Workload:
    net: Network
    clip: Path
    live_clip: Path
    until: float
    rng: random.Random
    outcomes: list[Outcome] = field(default_factory=list)
    pending: dict[str, str] = field(default_factory=dict)  # job id -> kind (transcode, staged)
    streams: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    errors: list[str] = field(default_factory=list)
    gateway_away: int = 0  # requests that found no gateway to connect to (it was down)
    cut: list[str] = field(default_factory=list)  # requests whose connection the gateway's death cut
    stream_ends: list[dict[str, Any]] = field(default_factory=list)  # each stream as it ended
    pushes: Counter[str] = field(default_factory=Counter)  # the encoder's runs: ok, failed
    pushed: Counter[str] = field(default_factory=Counter)  # stream id -> the encoder's whole runs
    calm_jobs: list[str] = field(default_factory=list)  # the calm stretch's transcodes
    calm_ai: int = 0  # and its AI requests

    def record(self, outcome: Outcome) -> None:
        with self.lock:
            self.outcomes.append(outcome)

    def _post(self, path: str, **kwargs: Any) -> httpx.Response | None:
        """None when the gateway was not there to answer (killed): wait for it."""
        try:
            return httpx.post(f"{self.net.gateway.url}{path}", headers=self.net.headers(), **kwargs)
        except httpx.ConnectError:
            self.gateway_away += 1
            return None
        except httpx.HTTPError as exc:
            self.cut.append(f"{path}: {type(exc).__name__}")
            return None

    def transcodes(self) -> None:
        while time.monotonic() < self.until:
            if self._outstanding("transcode") >= 2:
                time.sleep(0.5)
                continue
            with self.clip.open("rb") as fh:
                r = self._post("/jobs", files={"file": ("clip.mp4", fh, "video/mp4")}, data={"profiles": "240p"}, timeout=60)
            if r is None:
                time.sleep(1)  # not accepted (no answer): the client tries again
                continue
            if r.status_code == 202:
                with self.lock:
                    self.pending[r.json()["id"]] = "transcode"
            else:
                self.record(Outcome("transcode", "-", "refused", f"{r.status_code} {r.text[:200]}"))
                time.sleep(1)
            time.sleep(0.5)

    def staged(self) -> None:
        while time.monotonic() < self.until:
            if self._outstanding("staged") >= 2:
                time.sleep(0.5)
                continue
            seed = self.rng.randrange(1 << 30)
            first = {"pipeline": "text-to-image", "model_id": SD,
                     "params": {"prompt": "a lighthouse", "width": 64, "height": 64, "num_inference_steps": 2, "seed": seed}}
            if "image-to-image" in self.net.pipelines:
                second = {"pipeline": "image-to-image", "model_id": SD,
                          "params": {"prompt": "at night", "num_inference_steps": 2, "strength": 0.8, "seed": seed}}
            else:  # a second picture of its own
                second = {**first, "params": {**first["params"], "prompt": "a harbour", "seed": seed + 1}}
            stages = [first, second]
            r = self._post("/ai/jobs", json={"stages": stages}, timeout=30)
            if r is None:
                time.sleep(1)
                continue
            if r.status_code == 202:
                with self.lock:
                    self.pending[r.json()["id"]] = "staged"
            else:
                self.record(Outcome("staged", "-", "refused", f"{r.status_code} {r.text[:200]}"))
                time.sleep(1)
            time.sleep(1.0)

    def ai_requests(self) -> None:
        while time.monotonic() < self.until:
            seed = self.rng.randrange(1 << 30)
            body = {"prompt": "a red kite", "model_id": SD, "width": 64, "height": 64, "num_inference_steps": 2, "seed": seed}
            t0, cut = time.monotonic(), len(self.cut)
            r = self._post("/text-to-image", json=body, timeout=120)
            took = time.monotonic() - t0
            if r is None:
                if len(self.cut) > cut:
                    self.record(Outcome("ai", str(seed), "cut", "no answer: the gateway died with the request", seconds=took))
                time.sleep(1)
            elif r.status_code == 200:
                self.record(Outcome("ai", str(seed), "completed", units=1, seconds=took))
            elif r.status_code == 503 and r.headers.get("retry-after"):
                self.record(Outcome("ai", str(seed), "refused", f"503 {r.text[:300]}"))
                time.sleep(1)
            else:
                self.record(Outcome("ai", str(seed), "failed", f"{r.status_code} {r.text[:300]}"))
            time.sleep(0.3)

    def live(self) -> None:
        while time.monotonic() + 10 < self.until:
            r = self._post("/streams", json={"profiles": "240p", "record": True}, timeout=30)
            if r is None or r.status_code != 201:
                if r is not None:
                    self.record(Outcome("live", "-", "refused", f"{r.status_code} {r.text[:200]}"))
                time.sleep(1)
                continue
            stream = r.json()
            with self.lock:
                self.streams.append(stream["id"])
            for attempt in range(5):  # an encoder reconnects when the gateway went away
                pusher = subprocess.run(
                    [sys.executable, "-m", "framemesh", "stream", "push", str(self.live_clip), "--stream", stream["id"],
                     "--gateway", self.net.gateway.url],
                    capture_output=True, text=True, timeout=120,
                    env={**os.environ, "FRAMEMESH_API_KEY": self.net.key},
                )
                self.pushes["ok" if pusher.returncode == 0 else "failed"] += 1
                if pusher.returncode == 0:
                    self.pushed[stream["id"]] += 1
                    break
                time.sleep(2)
            time.sleep(1)

    def _outstanding(self, kind: str) -> int:
        with self.lock:
            return sum(1 for k in self.pending.values() if k == kind)

    def poll_pending(self) -> None:
        """Move the accepted jobs that ended from `pending` to `outcomes`."""
        with self.lock:
            jobs = list(self.pending.items())
        for job_id, kind in jobs:
            path = f"/jobs/{job_id}" if kind == "transcode" else f"/ai/jobs/{job_id}"
            try:
                j = httpx.get(f"{self.net.gateway.url}{path}", headers=self.net.headers(), timeout=10).json()
            except (httpx.HTTPError, ValueError):
                return
            if j["state"] not in ("completed", "failed", "cancelled"):
                continue
            if kind == "transcode":
                units = j["segments"]["done"]
                reason = j.get("error")
            else:
                units = sum(1 for s in j["stages"] if s["state"] == "done")
                reason = j.get("error")
            self.record(Outcome(kind, job_id, j["state"], reason, units))
            with self.lock:
                self.pending.pop(job_id, None)


def end_streams(w: Workload) -> None:
    for sid in w.streams:
        r = httpx.delete(f"{w.net.gateway.url}/streams/{sid}", headers=w.net.headers(), timeout=120)
        s = r.json()
        seg = s["segments"]
        w.stream_ends.append(s)
        sent = LIVE_SEGMENTS * w.pushed[sid]  # at least: a run the gateway's death cut sent some more
        ended = s["state"] == "ended" and seg["in_flight"] == 0 and seg["received"] >= sent
        ok = ended and seg["received"] == seg["listed"] and seg["skipped"] == 0
        reason = None if ok else f"{s['state']}: {seg}, the encoder sent at least {sent}; {s.get('error') or ''}"
        if ended and seg["skipped"] and seg["received"] == seg["listed"] + seg["skipped"]:
            reason = (f"{seg['skipped']} segment(s) skipped (no orchestrator delivered in time, or in work when the "
                      f"gateway died); {seg}")
        w.record(Outcome("live", sid, "completed" if ok else "failed", reason, seg["listed"]))


# -- chaos -----------------------------------------------------------------------


@dataclass
class Kill:
    at: float  # seconds into the run
    who: str  # an orchestrator's name, "orchestrator" (a random one) or "gateway"
    down: float = 3.0  # seconds before it is started again


def plan_kills(minutes: float, every: float, rng: random.Random) -> list[Kill]:
    """A kill every `every` seconds (± a third): two orchestrators for each gateway."""
    kills, t, n = [], every * 0.6, 0
    while t < minutes * 60 - 20:
        kills.append(Kill(t, "gateway" if n % 3 == 2 else "orchestrator", down=rng.uniform(1, 6)))
        t += every * rng.uniform(2 / 3, 4 / 3)
        n += 1
    return kills


def run_kills(net: Network, kills: list[Kill], books: Books, started: float, rng: random.Random,
              done: list[dict[str, Any]], log: Callable[[str], None]) -> None:
    """Each kill on time; the victim is started again `down` seconds later, on a thread
    of its own (a restart loading models takes a while: the next kill does not wait)."""
    restarts: list[threading.Thread] = []

    def restart(victim: Node, at: float, down: float) -> None:
        time.sleep(down)
        t0 = time.monotonic()
        victim.start()
        done.append({"at": round(at, 1), "node": victim.name, "down": round(time.monotonic() - started - at, 1),
                     "restart_seconds": round(time.monotonic() - t0, 1)})
        log(f"{victim.name} is back (lifetime {victim.lifetime})")

    for k in kills:
        while time.monotonic() < started + k.at:
            time.sleep(0.1)
        up = [o for o in net.orchestrators if o.ready]
        if k.who == "gateway":
            victim = net.gateway
        elif k.who == "orchestrator":
            victim = rng.choice(up or net.orchestrators)
        else:
            victim = next(o for o in net.orchestrators if o.name == k.who)
        if not victim.ready:
            log(f"{victim.name} is not up yet (starting again): kill skipped")
            continue
        books.read(net, victim)  # its last reading: what follows dies with it
        t = time.monotonic() - started
        victim.kill()
        log(f"SIGKILL {victim.name} (lifetime {victim.lifetime}); started again in {k.down:.1f} s")
        restarts.append(threading.Thread(target=restart, args=(victim, t, k.down)))
        restarts[-1].start()
    for r in restarts:
        r.join()


# -- the run -----------------------------------------------------------------------


@dataclass
class Summary:
    backend: str  # the chain: anvil or embedded
    seconds: float
    kills: list[dict[str, Any]]
    jobs: dict[str, dict[str, int]]
    no_orchestrator_reasons: list[str]
    other_failures: list[str]
    chaos: dict[str, int]
    calm: dict[str, int]
    chain: dict[str, int]
    usage: dict[str, int]
    traffic: dict[str, Any] = field(default_factory=dict)
    invariants: dict[str, bool] = field(default_factory=dict)
    details: dict[str, str] = field(default_factory=dict)


def run_chaos(
    root: Path, *, minutes: float = 3.0, orchestrators: int = 3, kill_every: float = 25.0, seed: int = 1,
    kills: list[Kill] | None = None, rpc: str | None = None, pipelines: tuple[str, ...] = ("text-to-image", "image-to-image"),
    chain: str = "anvil", log: Callable[[str], None] = print,
) -> Summary:
    """The whole run: a network on `chain` (anvil, or the embedded chain served by
    `framemesh chain serve`; started here unless `rpc` names one already running),
    `minutes` of mixed work under `kills` (planned from `kill_every` and `seed` if not
    given), the accounts closed and checked."""
    from framemesh.chain.anvil import Anvil
    from framemesh.chain.local import ServedChain
    from framemesh.media.testclip import make_test_clip

    rng = random.Random(seed)
    t0, say = time.monotonic(), log
    log = lambda msg: say(f"[{time.monotonic() - t0:6.1f} s] {msg}")  # noqa: E731
    clip = make_test_clip(root / "clip.mp4", duration=4.0, width=320, height=180)
    live_clip = make_test_clip(root / "live.mp4", duration=LIVE_SECONDS, width=320, height=180, seed=3)
    if chain not in CHAINS:
        raise ValueError(f"chain {chain!r}: choose one of {', '.join(CHAINS)}")
    node = (ServedChain.start() if chain == "embedded" else Anvil.start()) if rpc is None else None
    net: Network | None = None
    try:
        net = start_network(root, node.url if node else rpc, orchestrators, pipelines, log)  # type: ignore[arg-type]
        planned = kills if kills is not None else plan_kills(minutes, kill_every, rng)
        return _run(net, clip, live_clip, minutes, planned, rng, log, chain)
    finally:
        if net is not None:
            for n in [net.gateway, *net.orchestrators]:
                n.stop()
        if node is not None:
            node.stop()


def _run(net: Network, clip: Path, live_clip: Path, minutes: float, kills: list[Kill], rng: random.Random,
         log: Callable[[str], None], backend: str) -> Summary:
    books = Books()
    started = time.monotonic()
    w = Workload(net, clip, live_clip, started + minutes * 60, rng)
    stop = threading.Event()

    def monitor() -> None:
        while not stop.is_set():
            books.read(net)
            w.poll_pending()
            stop.wait(1.0)

    done: list[dict[str, Any]] = []
    threads = [threading.Thread(target=f, daemon=True, name=f.__name__)
               for f in (w.transcodes, w.staged, w.ai_requests, w.live)]
    watcher = threading.Thread(target=monitor, daemon=True)
    killer = threading.Thread(target=run_kills, args=(net, kills, books, started, random.Random(rng.random()), done, log),
                              daemon=True)
    log(f"{minutes:g} min of work, {len(kills)} kills planned: "
        + ", ".join(f"{k.who}@{k.at:.0f}s" for k in kills))
    for t in [*threads, watcher, killer]:
        t.start()
    for t in [*threads, killer]:
        t.join()
    log("work submitted; waiting for the accepted jobs to end ...")
    wait_ready(net)
    deadline = time.monotonic() + 300
    while w.pending and time.monotonic() < deadline:
        time.sleep(1)
    stop.set()
    watcher.join()
    w.poll_pending()
    end_streams(w)
    for job_id, kind in w.pending.items():
        w.record(Outcome(kind, job_id, "failed", "did not end within 300 s of the work's end"))
    seconds = time.monotonic() - started
    books.read(net)
    chaos = books.total()
    usage_chaos = usage_wei(net)
    calm = calm_stretch(net, w, books, log)
    log("waiting for every winning ticket to be redeemed ...")
    wait_redeemed(net)
    chain = chain_figures(net)
    return summarize(net, w, seconds, done, chaos, usage_chaos, calm, chain, backend)


def calm_stretch(net: Network, w: Workload, books: Books, log: Callable[[str], None]) -> dict[str, int]:
    """No kills: a transcode and a few AI requests, read before and after. Once
    before, so a restarted orchestrator's fresh ticket parameters are fetched."""
    def batch() -> None:
        with w.clip.open("rb") as fh:
            job = httpx.post(f"{net.gateway.url}/jobs", headers=net.headers(), timeout=60,
                             files={"file": ("clip.mp4", fh, "video/mp4")}, data={"profiles": "240p"}).json()
        w.calm_jobs.append(job["id"])
        for i in range(len(net.orchestrators)):
            body = {"prompt": "calm", "model_id": SD, "width": 64, "height": 64, "num_inference_steps": 2,
                    "seed": w.rng.randrange(1 << 30)}
            r = httpx.post(f"{net.gateway.url}/text-to-image", headers=net.headers(), json=body, timeout=120)
            r.raise_for_status()
            w.calm_ai += 1
        deadline = time.monotonic() + 120
        while httpx.get(f"{net.gateway.url}/jobs/{job['id']}", headers=net.headers()).json()["state"] != "completed":
            if time.monotonic() > deadline:
                raise TimeoutError("the calm transcode did not complete")
            time.sleep(0.3)

    log("a calm stretch (no kills) to check the books to the wei ...")
    batch()
    books.read(net)
    before, usage_before = books.total(), usage_wei(net)
    batch()
    books.read(net)
    after, usage_after = books.total(), usage_wei(net)
    return {
        "tickets_sent": after["tickets_sent"] - before["tickets_sent"],
        "tickets_received": after["tickets_received"] - before["tickets_received"],
        "fees_wei": after["fees_wei"] - before["fees_wei"],
        "usage_wei": usage_after - usage_before,
    }


def wait_redeemed(net: Network, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    for node in net.orchestrators:
        while time.monotonic() < deadline:
            m = httpx.get(f"{node.url}/stats", timeout=5).json()
            if m["payments"]["tickets"]["pending"] == 0:
                break
            time.sleep(0.3)


def stored_winners(net: Network) -> list[dict[str, Any]]:
    rows = []
    for node in net.orchestrators:
        db = sqlite3.connect(f"file:{net.root / node.name / 'winning-tickets.sqlite'}?mode=ro", uri=True)
        try:
            for recipient, nonce, rand, face, state in db.execute(
                "SELECT recipient, sender_nonce, recipient_rand, face_value, state FROM winning_tickets"
            ):
                rows.append({"node": node.name, "key": (recipient.lower(), int(nonce), int(rand)),
                             "face_value": int(face), "state": state})
        finally:
            db.close()
    return rows


def chain_figures(net: Network) -> dict[str, Any]:
    from framemesh.chain.backend import Chain
    from framemesh.protocol.network import Protocol

    chain = Chain.connect(net.rpc)
    proto = Protocol.load(chain, net.deployment)
    ours = {net.addresses[o.name].lower() for o in net.orchestrators}
    redeemed = [e["args"] for e in chain.events(proto.broker.events.WinningTicketRedeemed)
                if e["args"]["recipient"].lower() in ours]
    transfers = [e["args"] for e in chain.events(proto.broker.events.WinningTicketTransfer)
                 if e["args"]["recipient"].lower() in ours]
    claims = [e["args"] for e in chain.events(proto.broker.events.ReserveClaimed) if e["args"]["claimant"].lower() in ours]
    info = proto.sender_info(net.addresses["gw"])
    return {
        "redeemed_keys": [(e["recipient"].lower(), int(e["senderNonce"]), int(e["recipientRand"])) for e in redeemed],
        "redeemed_face_value": sum(int(e["faceValue"]) for e in redeemed),
        "transferred": sum(int(e["amount"]) for e in transfers) + sum(int(e["amount"]) for e in claims),
        "gateway_spent": net.deposit_at_start - info.deposit - info.reserve,
        "fee_pools": sum(proto.pending_fees(net.addresses[o.name]) for o in net.orchestrators),
    }


def usage_rows(net: Network) -> dict[str, list[tuple[str, int]]]:
    """The gateway's durable usage records (its `key_usage` table): (kind, wei) per job id."""
    db = sqlite3.connect(f"file:{net.root / 'gateway' / 'gateway.sqlite'}?mode=ro", uri=True)
    try:
        found = db.execute("SELECT job_id, kind, wei FROM key_usage").fetchall()
    finally:
        db.close()
    rows: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for job_id, kind, wei in found:
        rows[job_id].append((kind, int(wei)))
    return rows


def summarize(net: Network, w: Workload, seconds: float, kills: list[dict[str, Any]], chaos: dict[str, int],
              usage_chaos: int, calm: dict[str, int], chain: dict[str, Any], backend: str) -> Summary:
    jobs: dict[str, dict[str, int]] = defaultdict(lambda: Counter())  # type: ignore[arg-type]
    no_orch, other = [], []
    for o in w.outcomes:
        jobs[o.kind][o.state] += 1
        if o.state != "refused" and o.state != "cut":
            jobs[o.kind]["accepted"] += 1
        if o.state == "failed":
            (no_orch if o.reason and NO_ORCHESTRATOR.search(o.reason) else other).append(f"{o.kind} {o.id}: {o.reason}")
    winners = stored_winners(net)
    keys = Counter(r["key"] for r in winners)
    redeemed = Counter(chain["redeemed_keys"])
    usage = usage_rows(net)
    twice = []
    for o in w.outcomes:
        if o.state in ("completed", "failed") and o.id in usage and o.kind != "ai":
            if len(usage[o.id]) != o.units:
                twice.append(f"{o.kind} {o.id}: {len(usage[o.id])} charges for {o.units} pieces of work")
    ai_done = sum(1 for o in w.outcomes if o.kind == "ai" and o.state == "completed") + w.calm_ai
    known = {o.id for o in w.outcomes} | set(w.calm_jobs)
    ai_charges = sum(len(v) for job_id, v in usage.items() if job_id not in known)  # the AI requests'
    total_usage = sum(wei for v in usage.values() for _, wei in v)
    stored_face = sum(r["face_value"] for r in winners)
    s = Summary(
        backend=backend, seconds=round(seconds, 1), kills=kills, jobs={k: dict(v) for k, v in jobs.items()},
        no_orchestrator_reasons=no_orch, other_failures=other,
        chaos={**chaos, "usage_wei": usage_chaos},
        calm=calm,
        chain={
            "winning_tickets_stored": len(winners), "redeemed": len(chain["redeemed_keys"]),
            "pending": sum(1 for r in winners if r["state"] == "pending"),
            "expired": sum(1 for r in winners if r["state"] == "expired"),
            "face_value_stored": stored_face, "face_value_redeemed": chain["redeemed_face_value"],
            "transferred": chain["transferred"], "gateway_spent": chain["gateway_spent"], "fee_pools": chain["fee_pools"],
        },
        usage={"rows": sum(len(v) for v in usage.values()), "wei": total_usage, "ai_requests_charged": ai_charges},
    )
    ai_seconds = sorted(o.seconds for o in w.outcomes if o.kind == "ai" and o.state == "completed")
    s.traffic = {
        "requests that found the gateway down": w.gateway_away,
        "requests cut by the gateway's death": len(w.cut),
        "encoder runs": dict(w.pushes),
        "AI request seconds (median, max)": [ai_seconds[len(ai_seconds) // 2], ai_seconds[-1]] if ai_seconds else [],
        "streams": [{k: e[k] for k in ("id", "segments", "swaps", "discontinuities", "reconnects", "orchestrators")}
                    for e in w.stream_ends],
    }
    inv, det = s.invariants, s.details
    inv["every accepted job completed or failed for want of an orchestrator"] = not other
    det["every accepted job completed or failed for want of an orchestrator"] = "; ".join(other[:5])
    inv["each winning ticket stored once, redeemed once, none left"] = (
        keys == redeemed and all(c == 1 for c in keys.values()) and s.chain["pending"] == 0 and s.chain["expired"] == 0
    )
    det["each winning ticket stored once, redeemed once, none left"] = (
        f"stored not redeemed {len(keys - redeemed)}, redeemed not stored {len(redeemed - keys)}, "
        f"twice {sum(1 for c in redeemed.values() if c > 1)}")
    # The fee pools share each redemption out in fixed point, rounding down: the contract
    # keeps the dust, at most a wei a ticket (the claimable fees never exceed what came in).
    dust = chain["transferred"] - chain["fee_pools"]
    inv["face value redeemed == gateway's deposit spent == fee pools (less rounding dust)"] = (
        stored_face == chain["redeemed_face_value"] == chain["transferred"] == chain["gateway_spent"]
        and 0 <= dust <= len(chain["redeemed_keys"])
    )
    det["face value redeemed == gateway's deposit spent == fee pools (less rounding dust)"] = (
        f"dust {dust} wei over {len(chain['redeemed_keys'])} tickets")
    # An AI request answered by an orchestrator may be charged and its answer then lost
    # with the gateway (cut): at most one charge each, and one for every answer.
    ai_cut = sum(1 for o in w.outcomes if o.kind == "ai" and o.state == "cut")
    inv["nobody charged twice"] = not twice and ai_done <= ai_charges <= ai_done + ai_cut
    det["nobody charged twice"] = "; ".join(twice[:5]) + (
        f" (AI requests charged {ai_charges}: answered {ai_done}, cut by the gateway's death {ai_cut})")
    inv["books agree in the calm (tickets sent == received, fees == usage)"] = (
        calm["tickets_sent"] == calm["tickets_received"] and calm["fees_wei"] == calm["usage_wei"]
    )
    inv["usage == what the gateway recorded per job"] = total_usage == usage_wei(net)
    return s


# -- output --------------------------------------------------------------------------


def print_summary(s: Summary) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 130))
    jobs = Table(title=f"chaos on {s.backend}: {s.seconds:.0f} s, {len(s.kills)} kills", title_justify="left")
    for col in ("kind", "accepted", "completed", "failed (no orchestrator)", "failed (other)", "refused at the door",
                "cut (gateway died, no answer)"):
        jobs.add_column(col)
    for kind, c in sorted(s.jobs.items()):
        other = sum(1 for r in s.other_failures if r.startswith(kind + " "))
        jobs.add_row(kind, str(c.get("accepted", 0)), str(c.get("completed", 0)), str(c.get("failed", 0) - other), str(other),
                     str(c.get("refused", 0)), str(c.get("cut", 0)))
    console.print(jobs)
    for k, v in s.traffic.items():
        console.print(f"{k}: {v}", soft_wrap=True)
    kills = Counter(k["node"] for k in s.kills)
    console.print("kills: " + ", ".join(f"{n} ×{c}" for n, c in sorted(kills.items())))
    books = Table(title="the books", title_justify="left")
    books.add_column("figure")
    books.add_column("during the chaos", justify="right")
    books.add_column("calm stretch", justify="right")
    c = s.chaos
    rows = [
        ("tickets sent (gateway)", c.get("tickets_sent", 0), s.calm["tickets_sent"]),
        ("tickets received (orchestrators)", c.get("tickets_received", 0), s.calm["tickets_received"]),
        ("  not received (to a dead node, or stale)", c.get("tickets_sent", 0) - c.get("tickets_received", 0),
         s.calm["tickets_sent"] - s.calm["tickets_received"]),
        ("tickets won (orchestrators' counters)", c.get("tickets_won", 0), ""),
        ("fees charged, wei (orchestrators)", c.get("fees_wei", 0), s.calm["fees_wei"]),
        ("usage, wei (gateway, the key's)", c.get("usage_wei", 0), s.calm["usage_wei"]),
        ("  charged, answer lost to a kill", c.get("fees_wei", 0) - c.get("usage_wei", 0), s.calm["fees_wei"] - s.calm["usage_wei"]),
    ]
    for name, a, b in rows:
        books.add_row(name, str(a), str(b))
    console.print(books)
    chain = Table(title="winning tickets and the chain (whole run)", title_justify="left")
    chain.add_column("figure")
    chain.add_column("value", justify="right")
    for k, v in s.chain.items():
        chain.add_row(k.replace("_", " "), str(v))
    console.print(chain)
    inv = Table(title="invariants", title_justify="left")
    inv.add_column("invariant")
    inv.add_column("holds")
    inv.add_column("detail")
    for k, ok in s.invariants.items():
        inv.add_row(k, "[green]yes[/]" if ok else "[red]NO[/]", s.details.get(k, ""))
    console.print(inv)
    if s.no_orchestrator_reasons:
        console.print("failed for want of an orchestrator:")
        for r in Counter(_shorten(r) for r in s.no_orchestrator_reasons).most_common():
            console.print(f"  {r[1]} × {r[0]}", soft_wrap=True)
    for r in s.other_failures:
        console.print(f"[red]failed otherwise:[/] {r}", soft_wrap=True)


def summary_markdown(s: Summary, command: str) -> str:
    """The run's figures for BENCHMARKS.md."""
    kills = Counter(k["node"] for k in s.kills)
    lines = [
        f"{s.seconds:.0f} s of mixed work on {CHAINS[s.backend]} while {len(s.kills)} kills (SIGKILL) hit the network "
        f"({', '.join(f'{n} ×{c}' for n, c in sorted(kills.items()))}), each node restarted after. "
        f"Machine: {platform.machine()}, {os.cpu_count()} cores. Command: `{command}`",
        "",
        "| kind | accepted | completed | failed: no orchestrator | failed: other | refused at the door | cut (no answer) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for kind, c in sorted(s.jobs.items()):
        other = sum(1 for r in s.other_failures if r.startswith(kind + " "))
        lines.append(f"| {kind} | {c.get('accepted', 0)} | {c.get('completed', 0)} | {c.get('failed', 0) - other} | {other} "
                     f"| {c.get('refused', 0)} | {c.get('cut', 0)} |")
    c = s.chaos
    lines += [
        "",
        "| the books | during the chaos | calm stretch after |",
        "| --- | ---: | ---: |",
        f"| tickets sent (gateway) / received (orchestrators) | {c.get('tickets_sent', 0)} / {c.get('tickets_received', 0)} "
        f"| {s.calm['tickets_sent']} / {s.calm['tickets_received']} |",
        f"| fees charged (orchestrators) / usage (gateway), wei | {c.get('fees_wei', 0)} / {c.get('usage_wei', 0)} "
        f"| {s.calm['fees_wei']} / {s.calm['usage_wei']} |",
        "",
        f"Winning tickets: {s.chain['winning_tickets_stored']} stored, {s.chain['redeemed']} redeemed on chain, "
        f"{s.chain['pending']} pending, {s.chain['expired']} expired; face value redeemed {s.chain['face_value_redeemed']} wei "
        f"= deposit spent {s.chain['gateway_spent']}; fee pools {s.chain['fee_pools']} (rounding down in fixed point "
        f"leaves the contract {s.chain['transferred'] - s.chain['fee_pools']} wei of dust).",
        "",
        "| invariant | holds |",
        "| --- | --- |",
        *[f"| {k} | {'yes' if ok else '**no**'} |" for k, ok in s.invariants.items()],
    ]
    return "\n".join(lines)


def _shorten(reason: str) -> str:
    reason = reason.split(": ", 1)[-1]
    return re.sub(r"[0-9a-f]{8,}|\d+(\.\d+)?", "#", reason)[:200]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0, help="minutes of work under chaos")
    parser.add_argument("--chain", choices=sorted(CHAINS), default="anvil",
                        help="anvil, or the embedded chain served by `framemesh chain serve`")
    parser.add_argument("--orchestrators", type=int, default=3)
    parser.add_argument("--kill-every", type=float, default=25.0, help="seconds between kills (on average)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, default=None, help=f"where the summary goes (default {RESULTS}, "
                        "or chaos-embedded-results.json beside it)")
    parser.add_argument("--keep", type=Path, default=None, help="run in this directory and keep it (logs, stores)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory(prefix="chaos-") as tmp:
        root = args.keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        s = run_chaos(root, minutes=args.minutes, orchestrators=args.orchestrators, kill_every=args.kill_every,
                      seed=args.seed, chain=args.chain)
    print_summary(s)
    anvil = args.chain == "anvil"
    out = args.json or (RESULTS if anvil else RESULTS.with_name("chaos-embedded-results.json"))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(asdict(s), indent=2, default=str))
    print(f"summary: {out}")
    if not args.no_write:
        from benchmarks.report import update_section

        command = (f"python benchmarks/chaos.py --minutes {args.minutes:g}" + ("" if anvil else " --chain embedded")
                   + (f" --seed {args.seed}" if args.seed != 1 else ""))
        if anvil:
            update_section("chaos", "Chaos: kills under a mixed workload", summary_markdown(s, command))
        else:
            update_section("chaos-embedded", "Chaos on the embedded chain", summary_markdown(s, command))
    sys.exit(0 if all(s.invariants.values()) else 1)


if __name__ == "__main__":
    main()
