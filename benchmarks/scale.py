"""Several gateway processes behind one API: AI and VOD throughput with 1, 2 and 3
gateways sharing one PostgreSQL database and one S3 object store, and what each
request costs the gateways in CPU.

Run:  python benchmarks/scale.py [--gateways 1,2,3] [--seconds 20] [--no-local] [--no-write]

Every node is its own `framemesh` process on loopback, off-chain: two orchestrators
with room to spare (each serves text-to-speech with `ORCH_SLOTS` worker processes and
transcodes `ORCH_SLOTS` segments at once: more than the clients can ever keep busy, so
no gateway waits for a slot and the gateways, not the orchestrators, are what is
compared), PostgreSQL (Debian's, `tests/postgres_server.py`) and SeaweedFS
(`tests/s3_server.py`). For each count of gateways, a fresh schema of the one database
and `gateway start --database URL --object-store s3://...` that many times; one API key,
made on the first gateway, is used on all (the keys are the database's). Clients send
each request to the next gateway in turn, as a round-robin load balancer would:

- **AI**: `--ai-clients` clients, each sending `POST /text-to-speech` again as soon as
  its last is answered, for `--seconds`. The same short sentence every time, and the
  gateways' result cache off (`--no-ai-result-cache`): every request takes the
  gateway's whole path (key, records, selection, dispatch, unpacking the signed bundle,
  its C2PA check, storing and uploading the output) while the orchestrators answer
  from their exact-result cache (sign and bundle, no model run): the cheapest real
  AI work there is, so the gateway's own share is visible.
- **VOD**: `--vod-jobs` clients, each uploading a 10 s 240p clip (`POST /jobs`, one
  240p rendition: five segments), polling `GET /jobs/ID` on the next gateway in turn
  until it is completed, and uploading the next, for `--seconds`; then the jobs in
  flight finish. The gateway splits, sends, checks (decode and compare: every segment
  of an orchestrator's first five, then a quarter), writes the playlists and uploads.

Before the work, after a warm-up, each gateway's CPU with no requests for a few seconds
(its background loops). Throughput is the work answered over the time from the first
request to the last answer. CPU seconds are read from /proc over the same time, apart
for the gateways (each with its worker pool), the orchestrators (with their workers),
PostgreSQL, SeaweedFS, the client (this process), and whatever else the machine ran
(other people's work on a shared machine). With `--no-local` left out, one more run of one gateway
without `--object-store` (outputs in its local folder only) gives what the object store
adds. Figures go to BENCHMARKS.md (section "scale"), benchmarks/scale.json and
benchmarks/scale.png, written by `benchmarks/scale_figures.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import shutil
import socket
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import Progress

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.proc_cpu import machine_busy, own_cpu, tree_cpu  # noqa: E402
from benchmarks.processes import start_node, stop_nodes  # noqa: E402
from benchmarks.report import update_section  # noqa: E402
from benchmarks.scale_figures import CORES, Run, Takeover, Window, markdown, plot  # noqa: E402
from tests.postgres_server import PostgresServer  # noqa: E402
from tests.s3_server import CREDENTIALS, SeaweedS3  # noqa: E402

TTS = "piper/en_US-joe-medium"
SENTENCE = "The gateway checks every output before it answers."
ADMIN = "scale-benchmark-admin"
ORCHESTRATORS = 2
ORCH_SLOTS = 8  # per orchestrator and kind of work: two orchestrators, 16 of each, more than the clients use
CLIP_SECONDS = 10.0  # five 2 s segments
SECONDS = 20.0  # of each kind of work per run
WARM_JOBS = 3  # VOD jobs at once per gateway before the windows: 15 segments over the two orchestrators
IDLE_SECONDS = 5.0  # with no requests, for the gateways' own background work
TAKEOVER_JOBS = 6  # VOD jobs in flight on the gateway that is killed
console = Console()


class Meter:
    """CPU seconds by part, read at the start and end of a window."""

    def __init__(self, parts: dict[str, list[int]]) -> None:
        self.parts = parts  # part -> root pids

    def read(self) -> dict[str, float]:
        out = {part: tree_cpu(pids) for part, pids in self.parts.items()}
        out["client"] = own_cpu()
        out["machine"] = machine_busy()
        return out

    @staticmethod
    def spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        out = {part: after[part] - before[part] for part in before}
        machine = out.pop("machine")
        out["other"] = max(0.0, machine - sum(out.values()))
        return out


class Shared:
    """What every gateway shares: PostgreSQL, SeaweedFS, the orchestrators."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.stack = ExitStack()
        self.orchestrators: list[str] = []
        self.pids: dict[str, list[int]] = {}

    def __enter__(self) -> Shared:
        try:
            self._start()
        except BaseException:
            self.stack.close()
            raise
        return self

    def _start(self) -> None:
        for key, value in CREDENTIALS.items():
            os.environ.setdefault(key, value)  # boto3 in the gateways reads them
        self.postgres = PostgresServer.start()
        self.stack.callback(self.postgres.stop)
        self.s3 = SeaweedS3(self.root / "s3").start()
        self.stack.callback(self.s3.stop)
        toml = self.root / "models.toml"
        toml.write_text(f'cache_dir = "cache"\n\n[[models]]\npipeline = "text-to-speech"\nmodel_id = "{TTS}"\n'
                        f"price_per_unit = 1\ncapacity = {ORCH_SLOTS}\nwarm = true\n")
        procs = []
        self.stack.callback(stop_nodes, procs)
        for i in range(ORCHESTRATORS):
            name = f"o{i + 1}"
            proc, url = start_node(self.root, name, "orchestrator", "start", "--name", name, "--data-dir",
                                   str(self.root / name), "--capacity", str(ORCH_SLOTS), "--ai-config", str(toml),
                                   timeout=600)
            procs.append(proc)
            self.orchestrators.append(url)
        postmaster = int((self.postgres.root / "data" / "postmaster.pid").read_text().split()[0])
        assert self.s3.proc is not None
        self.pids = {"orchestrators": [p.pid for p in procs], "postgresql": [postmaster], "seaweedfs": [self.s3.proc.pid]}

    def __exit__(self, *exc: object) -> None:
        self.stack.close()


class Gateways:
    """`count` gateway processes on a fresh schema of the shared database, all with the
    object store (or none, given `object_store=False`), stopped on exit."""

    def __init__(self, shared: Shared, count: int, object_store: bool, lease: float | None = None) -> None:
        self.shared, self.count, self.object_store, self.lease = shared, count, object_store, lease
        self.procs: list[Any] = []
        self.urls: list[str] = []
        self.logs: list[Path] = []
        self.bucket = ""

    def __enter__(self) -> Gateways:
        shared = self.shared
        tag = f"g{self.count}{'s3' if self.object_store else 'local'}" + (f"-lease{self.lease:g}" if self.lease else "")
        self.database = shared.postgres.fresh_url()
        args = ["gateway", "start", "--database", self.database, "--admin-token", ADMIN,
                "--no-ai-result-cache", "--queue-seconds", "120", "--no-explorer"]
        if self.lease is not None:
            args += ["--lease-seconds", str(self.lease)]
        if self.object_store:
            self.bucket = shared.s3.bucket(f"scale-{uuid.uuid4().hex[:8]}")
            args += ["--object-store", shared.s3.location(self.bucket)]
        for url in shared.orchestrators:
            args += ["--orchestrator", url]

        def start(i: int) -> tuple[Any, str]:
            name = f"{tag}-{i + 1}"
            self.logs.append(shared.root / f"{name}.log")
            return start_node(shared.root, name, *args, "--data-dir", str(shared.root / name))

        try:
            with ThreadPoolExecutor(self.count) as pool:  # they migrate one schema together: it takes turns
                futures = [pool.submit(start, i) for i in range(self.count)]
            started = [f.result() for f in futures if f.exception() is None]
            self.procs, self.urls = [p for p, _ in started], [u for _, u in started]
            for f in futures:
                f.result()  # the first failure, once every started one is held (and so stopped below)
            for url in self.urls:
                self._wait_ready(url)
            answer = httpx.post(f"{self.urls[0]}/admin/keys", json={"name": "scale"},
                                headers={"Authorization": f"Bearer {ADMIN}"}, timeout=30)
            answer.raise_for_status()
            self.auth = {"Authorization": f"Bearer {answer.json()['key']}"}
        except BaseException:
            stop_nodes(self.procs)
            raise
        return self

    def _wait_ready(self, url: str) -> None:
        """Until it knows both orchestrators serve the model."""
        deadline = time.monotonic() + 60
        while True:
            models = httpx.get(f"{url}/ai/models", headers={"Authorization": f"Bearer {ADMIN}"}, timeout=10).json()
            if any(m["model_id"] == TTS and len(m["orchestrators"]) == ORCHESTRATORS for m in models):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the gateway at {url} found no orchestrators serving {TTS}: {models}")
            time.sleep(0.3)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def __exit__(self, *exc: object) -> None:
        stop_nodes(self.procs)


async def ai_load(urls: list[str], auth: dict[str, str], clients: int, seconds: float, w: Window) -> None:
    rotation = itertools.cycle(urls)
    limits = httpx.Limits(max_connections=clients + 8)
    async with httpx.AsyncClient(timeout=120, limits=limits, headers=auth) as http:
        stop = time.monotonic() + seconds

        async def client() -> None:
            while time.monotonic() < stop:
                started = time.monotonic()
                answer = await http.post(f"{next(rotation)}/text-to-speech", json={"text": SENTENCE, "model_id": TTS})
                if answer.status_code == 200:
                    w.done += 1
                    w.latencies.append(time.monotonic() - started)
                else:
                    w.failed += 1
                    await asyncio.sleep(0.2)

        await asyncio.gather(*(client() for _ in range(clients)))


async def vod_load(urls: list[str], auth: dict[str, str], clip: Path, clients: int, seconds: float, w: Window) -> None:
    rotation = itertools.cycle(urls)
    async with httpx.AsyncClient(timeout=120, headers=auth) as http:
        stop = time.monotonic() + seconds

        async def client() -> None:
            while time.monotonic() < stop:
                started = time.monotonic()
                with clip.open("rb") as fh:
                    accepted = await http.post(f"{next(rotation)}/jobs", files={"file": (clip.name, fh, "video/mp4")},
                                               data={"profiles": "240p"})
                accepted.raise_for_status()
                job_id = accepted.json()["id"]
                while True:  # any gateway answers for any job: the records are shared
                    await asyncio.sleep(0.5)
                    status = (await http.get(f"{next(rotation)}/jobs/{job_id}")).json()
                    if status["state"] in ("completed", "failed"):
                        break
                if status["state"] == "completed":
                    w.done += status["segments"]["done"]
                    w.latencies.append(time.monotonic() - started)
                else:
                    w.failed += 1

        await asyncio.gather(*(client() for _ in range(clients)))


def measure(w: Window, gws: Gateways, meter: Meter, args: argparse.Namespace, clip: Path) -> None:
    before, started = meter.read(), time.monotonic()
    if w.kind == "ai":
        asyncio.run(ai_load(gws.urls, gws.auth, args.ai_clients, args.seconds, w))
    else:
        asyncio.run(vod_load(gws.urls, gws.auth, clip, args.vod_jobs, args.seconds, w))
    w.seconds = time.monotonic() - started
    w.cpu = Meter.spent(before, meter.read())


def warm_up(gws: Gateways, clip: Path) -> int:
    """Each gateway's first requests, untimed: connections, its worker pool, and the full
    checks of each orchestrator's first five segments (each gateway process counts its
    own; WARM_JOBS jobs, most often past them). Returns the AI answers."""
    ai, vod = Window("ai"), Window("vod")
    for url in gws.urls:
        asyncio.run(ai_load([url], gws.auth, 2, 0.5, ai))
        asyncio.run(vod_load([url], gws.auth, clip, WARM_JOBS, 0.1, vod))
    if ai.failed or vod.failed:
        raise RuntimeError(f"{ai.failed + vod.failed} warm-up request(s) failed; see the logs in {gws.shared.root}")
    return ai.done


def idle_share(gws: Gateways, settle: float = 2.0, seconds: float = IDLE_SECONDS) -> float:
    """The share of one core each gateway process takes with no requests (its background
    loops), after the warm-up's uploads have settled."""
    time.sleep(settle)
    before = tree_cpu(gws.pids)
    time.sleep(seconds)
    return (tree_cpu(gws.pids) - before) / seconds / gws.count


def ai_outputs_stored(gws: Gateways, settle: float = 2.0, most: float = 30.0) -> int:
    """AI outputs in the run's bucket, once the uploads stop coming (each gateway uploads
    after it answers)."""
    client = gws.shared.s3.client()
    deadline, last, steady = time.monotonic() + most, -1, 0.0
    while True:
        keys = 0
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=gws.bucket, Prefix="ai/"):
            keys += page.get("KeyCount", 0)
        if keys == last:
            steady += 0.5
            if steady >= settle:
                return keys
        else:
            last, steady = keys, 0.0
        if time.monotonic() > deadline:
            return keys
        time.sleep(0.5)


def measure_takeover(shared: Shared, clip: Path, lease: float, jobs: int = TAKEOVER_JOBS) -> Takeover:
    """Two gateways; `jobs` VOD jobs submitted to the first, which is killed (-9) once
    one has a segment delivered; from the kill, the time until the second holds each
    job (its lease ran out and the second's next pass claimed it) and until each completed."""
    from framemesh.postgres import PostgresDatabase

    result = Takeover(lease)
    with Gateways(shared, 2, True, lease=lease) as gws:
        first, second = gws.urls
        second_name = f"{socket.gethostname()}:{second.rsplit(':', 1)[-1]}"  # a gateway's default --name
        ids = []
        for _ in range(jobs):
            with clip.open("rb") as fh:
                answer = httpx.post(f"{first}/jobs", files={"file": (clip.name, fh, "video/mp4")},
                                    data={"profiles": "240p"}, headers=gws.auth, timeout=60)
            answer.raise_for_status()
            ids.append(answer.json()["id"])

        def segments_done(job_id: str) -> int:
            return httpx.get(f"{second}/jobs/{job_id}", headers=gws.auth, timeout=10).json()["segments"]["done"]

        deadline = time.monotonic() + 120
        while not any(segments_done(i) >= 1 for i in ids):  # the first delivered: the others are in flight
            if time.monotonic() > deadline:
                raise RuntimeError("the jobs delivered no segment in 120 s")
            time.sleep(0.02)
        gws.procs[0].kill()  # as a crashed machine: no goodbye, its leases stay until they run out
        killed = time.monotonic()
        running = [i for i in ids if httpx.get(f"{second}/jobs/{i}", headers=gws.auth).json()["state"]
                   not in ("completed", "failed")]
        db = PostgresDatabase(gws.database)
        marks = ", ".join("?" * len(running))
        try:
            held: dict[str, float] = {}
            ended: dict[str, float] = {}
            while len(ended) < len(running) and time.monotonic() - killed < 10 * lease + 120:
                with db.lock:  # one query for every job: the claim is seen within a few ms
                    rows = db.execute(f"SELECT id, holder, state FROM jobs WHERE id IN ({marks})", running).fetchall()
                now = time.monotonic() - killed
                for row in rows:
                    if row["holder"] == second_name:
                        held.setdefault(row["id"], now)
                    if row["state"] in ("completed", "failed") and row["id"] not in ended:
                        ended[row["id"]] = now
                        result.failed += row["state"] == "failed"
                time.sleep(0.005)
        finally:
            db.close()
        result.taken = sorted(held.values())
        result.completed = sorted(ended.values())
        result.jobs = len(running)
    return result


def dropped_uploads(gws: Gateways) -> int:
    return sum(log.read_text().count("is no longer on disk; not uploaded") for log in gws.logs)


def run(args: argparse.Namespace, root: Path) -> tuple[list[Run], list[Takeover]]:
    from framemesh.media.testclip import make_test_clip

    clip = make_test_clip(root / "clip.mp4", duration=CLIP_SECONDS, width=426, height=240, fps=24, audio=False)
    runs = [Run(n, True) for n in args.gateways] + ([] if args.no_local else [Run(1, False)])
    runs.sort(key=lambda r: (r.gateways, not r.object_store))  # one gateway with the store, then without: side by side
    with ExitStack() as stack:
        with console.status("starting PostgreSQL, SeaweedFS and the orchestrators"):
            shared = stack.enter_context(Shared(root))
        progress = stack.enter_context(Progress(console=console))
        task = progress.add_task("runs", total=2 * len(runs) + len(args.leases))
        for r in runs:
            label = f"{r.gateways} gateway{'s' if r.gateways > 1 else ''}" + ("" if r.object_store else ", no object store")
            progress.update(task, description=f"{label}: starting")
            with Gateways(shared, r.gateways, r.object_store) as gws:
                meter = Meter({"gateways": gws.pids, **shared.pids})
                progress.update(task, description=f"{label}: warming up")
                r.ai_answered = warm_up(gws, clip)
                progress.update(task, description=f"{label}: idle")
                r.idle = idle_share(gws)
                for w in (r.ai, r.vod):
                    progress.update(task, description=f"{label}: {w.kind}")
                    measure(w, gws, meter, args, clip)
                    progress.advance(task)
                    progress.console.print(f"{label}, {w.kind}: {w.rate:.2f}/s, gateways {w.ms_per('gateways'):.1f} ms "
                                           f"CPU each, {w.failed} failed, others' work {w.others_share:.0%} of the cores")
                r.ai_answered += r.ai.done
                if r.object_store:
                    progress.update(task, description=f"{label}: counting the outputs stored")
                    r.ai_stored = ai_outputs_stored(gws)
                r.dropped = dropped_uploads(gws)
        takeovers = []
        for lease in args.leases:
            progress.update(task, description=f"takeover of a killed gateway's jobs, lease {lease:g} s")
            takeovers.append(measure_takeover(shared, clip, lease))
            progress.advance(task)
            t = takeovers[-1]
            progress.console.print(f"lease {lease:g} s: {t.jobs} jobs taken over {t.describe()}")
    return runs, takeovers
def command(args: argparse.Namespace) -> str:
    extra = [f"--gateways {','.join(map(str, args.gateways))}" if args.gateways != [1, 2, 3] else "",
             f"--seconds {args.seconds:g}" if args.seconds != SECONDS else "", "--no-local" if args.no_local else ""]
    return " ".join(["python benchmarks/scale.py", *filter(None, extra)])


def intro(args: argparse.Namespace) -> str:
    return (
        f"Every node its own process on loopback, off-chain: {ORCHESTRATORS} orchestrators with {ORCH_SLOTS} slots each "
        "for text-to-speech and for transcoding (more than the clients use), one PostgreSQL and one SeaweedFS shared "
        f"by all the gateways (a fresh schema and bucket per run), requests round-robin over the gateways. AI: "
        f"{args.ai_clients} clients sending `POST /text-to-speech` (a repeated sentence; the gateways' result cache "
        "off, the orchestrators answering from theirs, so the gateway's own work shows) for "
        f"{args.seconds:g} s. VOD: {args.vod_jobs} clients each uploading a {CLIP_SECONDS:g} s 240p clip "
        f"(`POST /jobs`, one 240p rendition, 5 segments) and polling it on the next gateway, for {args.seconds:g} s, "
        "then the jobs in flight finish. CPU from /proc over each window, per part (a node with its workers). "
        f"Machine: {platform.machine()}, {CORES} cores. Command: `{command(args)}`"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gateways", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2, 3],
                        help="gateway counts to run, e.g. 1,2,3")
    parser.add_argument("--seconds", type=float, default=SECONDS, help="seconds of each kind of work per run")
    parser.add_argument("--ai-clients", type=int, default=16, help="AI clients at once")
    parser.add_argument("--vod-jobs", type=int, default=3, help="VOD jobs at once")
    parser.add_argument("--no-local", action="store_true", help="skip the run of one gateway without the object store")
    parser.add_argument("--leases", type=lambda s: [float(x) for x in s.split(",") if x], default=[10.0, 3.0],
                        help="--lease-seconds values to measure a takeover with (empty: none)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md, the JSON and the plot")
    parser.add_argument("--keep", type=Path, default=None, help="run in this directory and keep it (the nodes' logs)")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="framemesh-scale-"))
    root.mkdir(parents=True, exist_ok=True)
    started, load = time.monotonic(), os.getloadavg()[0]
    try:
        runs, takeovers = run(args, root)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    body = markdown(runs, intro(args), takeovers)
    console.print(body, markup=False, highlight=False)
    console.print(f"{time.monotonic() - started:.0f} s (load average at the start: {load:.1f})")
    if args.no_write:
        return
    figures = {"command": command(args), "machine": platform.machine(), "cores": CORES, "load_average_at_start": load,
               "orchestrators": ORCHESTRATORS, "orchestrator_slots": ORCH_SLOTS, "ai_clients": args.ai_clients,
               "vod_jobs": args.vod_jobs, "runs": [r.summary() for r in runs],
               "takeovers": [t.summary() for t in takeovers]}
    (ROOT / "benchmarks" / "scale.json").write_text(json.dumps(figures, indent=1) + "\n")
    plot(runs, ROOT / "benchmarks" / "scale.png")
    update_section("scale", "Several gateways, one database and one object store", body)
    console.print("wrote BENCHMARKS.md (scale), benchmarks/scale.json and benchmarks/scale.png")


if __name__ == "__main__":
    main()
