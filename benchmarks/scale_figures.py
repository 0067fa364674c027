"""The figures of `benchmarks/scale.py`: what each run of gateways measured, and how
they are written: the tables and the reasoning under them (from the figures, so a new
run rewrites them) for BENCHMARKS.md, and the plot."""

from __future__ import annotations

import os
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from framemesh.gateway.core.takeover import takeover_bound

CORES = os.cpu_count() or 1
PARTS = ("gateways", "orchestrators", "postgresql", "seaweedfs", "client", "other")  # where CPU seconds go


@dataclass
class Window:
    """One kind of work measured against one set of gateways."""

    kind: str  # "ai" (units: requests) or "vod" (units: segments)
    seconds: float = 0.0
    done: int = 0  # requests answered 200, or segments of completed jobs
    failed: int = 0
    latencies: list[float] = field(default_factory=list)  # per request, or per job
    cpu: dict[str, float] = field(default_factory=dict)  # part -> CPU seconds over the window

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0

    def ms_per(self, part: str) -> float:
        return 1e3 * self.cpu.get(part, 0.0) / self.done if self.done else 0.0

    @property
    def others_share(self) -> float:
        """Of the machine's cores over the window, the share other people's work took."""
        return self.cpu.get("other", 0.0) / (self.seconds * CORES) if self.seconds else 0.0

    def summary(self) -> dict[str, Any]:
        return {
            "seconds": self.seconds, "done": self.done, "failed": self.failed, "rate": self.rate,
            "latency_median": statistics.median(self.latencies) if self.latencies else None,
            "cpu_seconds": self.cpu, "cpu_ms_per_unit": {part: self.ms_per(part) for part in self.cpu},
            "others_share_of_cores": self.others_share,
        }


@dataclass
class Run:
    """One count of gateways, with or without the object store: both kinds of work."""

    gateways: int
    object_store: bool
    ai: Window = field(default_factory=lambda: Window("ai"))
    vod: Window = field(default_factory=lambda: Window("vod"))
    ai_answered: int = 0  # every AI answer of the run, warm-up included
    ai_stored: int | None = None  # AI outputs in the object store after the run
    dropped: int = 0  # uploads a gateway dropped ("no longer on disk": the file was on another gateway's)
    idle: float = 0.0  # CPU share of one core each gateway process takes with no requests

    @property
    def label(self) -> str:
        return f"{self.gateways}" + ("" if self.object_store else " (no object store)")

    def summary(self) -> dict[str, Any]:
        return {"gateways": self.gateways, "object_store": self.object_store, "ai": self.ai.summary(),
                "vod": self.vod.summary(), "ai_answered": self.ai_answered, "ai_stored": self.ai_stored,
                "uploads_dropped": self.dropped,
                "idle_core_share_per_gateway": self.idle}


@dataclass
class Takeover:
    """A gateway killed (-9) with VOD jobs in flight; another takes them over."""

    lease: float  # --lease-seconds
    jobs: int = 0  # jobs still running when it was killed
    taken: list[float] = field(default_factory=list)  # per job: seconds from the kill until the other held it
    completed: list[float] = field(default_factory=list)  # per job: seconds from the kill until it ended
    failed: int = 0

    @property
    def bound(self) -> float:
        return takeover_bound(self.lease)

    def describe(self) -> str:
        if not self.taken:
            return "(none taken over)"
        return (f"{min(self.taken):.1f} to {max(self.taken):.1f} s after the kill (bound {self.bound:.1f} s), "
                f"completed {max(self.completed):.1f} s after it, {self.failed} failed")

    def summary(self) -> dict[str, Any]:
        return {"lease_seconds": self.lease, "bound_seconds": self.bound, "jobs": self.jobs, "taken_seconds": self.taken,
                "completed_seconds": self.completed, "failed": self.failed}


def takeover_table(takeovers: list[Takeover]) -> list[str]:
    lines = [
        "| --lease-seconds | bound (lease × 4/3) | jobs in flight | taken over after the kill: first | last "
        "| all completed after the kill | failed |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for t in takeovers:
        if not t.taken:
            lines.append(f"| {t.lease:g} s | {t.bound:.1f} s | {t.jobs} | – | – | – | {t.failed} |")
            continue
        lines.append(f"| {t.lease:g} s | {t.bound:.1f} s | {t.jobs} | {min(t.taken):.1f} s | {max(t.taken):.1f} s "
                     f"| {max(t.completed):.1f} s | {t.failed} |")
    return lines


def table(runs: list[Run], kind: str) -> list[str]:
    unit, per = ("requests/s", "request") if kind == "ai" else ("segments/s", "segment")
    lines = [
        f"| gateways | {unit} | latency p50 | CPU ms per {per}: gateways | orchestrators | PostgreSQL | SeaweedFS "
        "| client | others' work, share of the cores | failed |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in runs:
        w = getattr(r, kind)
        latency = statistics.median(w.latencies) if w.latencies else 0.0
        lines.append(f"| {r.label} | {w.rate:.1f} | {latency:.2f} s | **{w.ms_per('gateways'):.1f}** | "
                     + " | ".join(f"{w.ms_per(p):.1f}" for p in ("orchestrators", "postgresql", "seaweedfs", "client"))
                     + f" | {w.others_share:.0%} | {w.failed} |")
    return lines


def ours(w: Window) -> float:
    """CPU ms per unit of everything this benchmark ran (all but other people's work)."""
    return sum(w.ms_per(p) for p in PARTS if p != "other")


def gateways_text(count: int) -> str:
    return "one gateway" if count == 1 else f"{count} gateways"


def added(ms: float) -> str:
    return f"{ms:+.1f} ms" if ms >= 0 else f"{ms:+.1f} ms (less: the store's share is within the runs' spread)"


def reasoning(runs: list[Run]) -> list[str]:
    """The paragraphs under the tables, from the figures (so a new run rewrites them)."""
    stored = [r for r in runs if r.object_store]
    one = next((r for r in stored if r.gateways == 1), stored[0])
    local = next((r for r in runs if not r.object_store), None)
    paragraphs = [per_core(one, stored), this_machine(one, stored), more_machines(one, stored[-1])]
    if local is not None:
        paragraphs.append(store_adds(one, local))
    if any(r.ai_stored is not None and r.ai_stored < r.ai_answered for r in stored):
        paragraphs.append(outputs_lost(stored))
    others = [w.others_share for r in runs for w in (r.ai, r.vod)]
    paragraphs.append(
        f"**Load.** The machine is shared with other agents' tests: their work took {min(others):.0%} to "
        f"{max(others):.0%} of the cores during the windows (the last column); the throughputs move with it and "
        "with this machine's drift, the CPU per request, counted per process, moves less."
    )
    return [line for paragraph in paragraphs for line in ("", paragraph)][1:]


def per_core(one: Run, stored: list[Run]) -> str:
    g_ai, g_vod = one.ai.ms_per("gateways"), one.vod.ms_per("gateways")
    across = ", ".join(f"{r.gateways} → {r.ai.ms_per('gateways'):.1f} ms (AI), {r.vod.ms_per('gateways'):.0f} ms (VOD)"
                       for r in stored)
    idle = ", ".join(f"{r.idle:.1%}" for r in stored)
    return (
        f"**One core of gateway.** With the object store, {gateways_text(one.gateways)} spent {g_ai:.1f} ms of CPU "
        f"per AI request and {g_vod:.0f} ms per VOD segment (its worker pool included): one core of gateway passes on "
        f"about {1000 / g_ai:.0f} such requests/s, or {1000 / g_vod:.0f} segments/s of 2 s 240p video, whatever the "
        f"models cost (that work is on the orchestrators' machines). Per request, by gateways: {across}. With no "
        f"requests a gateway process takes {idle} of a core (by gateways, in the same order), so the figures per "
        f"request are the requests' own work. {growth(stored)}"
    )


def growth(stored: list[Run]) -> str:
    first, last = stored[0], stored[-1]
    if first is last:
        return ""
    ai = last.ai.ms_per("gateways") / first.ai.ms_per("gateways") - 1
    vod = last.vod.ms_per("gateways") / first.vod.ms_per("gateways") - 1
    said = (f"From {first.gateways} to {last.gateways} gateways it changed by {ai:+.0%} per AI request and "
            f"{vod:+.0%} per segment")
    if max(ai, vod) < 0.1:
        return said + ": spreading the requests over more processes costs next to nothing."
    return said + (
        ": the same work done apart costs more. Each process keeps its own connections to the orchestrators and "
        "the database and its own count of each orchestrator's fully checked segments (every gateway checks the "
        "first five of each in full), and with several, each one's uploader also takes up the others' upload rows "
        "(below)."
    )


def this_machine(one: Run, stored: list[Run]) -> str:
    relative = ", ".join(f"{r.gateways} → {r.ai.rate / one.ai.rate:.2f}× (AI), {r.vod.rate / one.vod.rate:.2f}× (VOD)"
                         for r in stored if r is not one)
    busy = one.ai.rate * one.ai.ms_per("gateways") / 1000
    gains = max(r.ai.rate / one.ai.rate for r in stored) if one.ai.rate else 1.0
    why = (
        f" More processes still passed on more AI requests here ({gains:.2f}× at most): one gateway kept only "
        f"{busy:.2f} of a core busy, since a Python process runs its threads (database calls, uploads, checks) one "
        "at a time and talks to the database over one connection, so a second process on the same cores fills "
        "the gaps the first leaves."
    ) if gains > 1.15 else ""
    return (
        f"**This machine.** Everything here shares {CORES} cores: with {gateways_text(one.gateways)} all our processes "
        f"together spent {ours(one.ai):.0f} ms per AI request and {ours(one.vod):.0f} ms per segment, so the machine "
        f"tops out near {1000 * CORES / ours(one.ai):.0f} requests/s and {1000 * CORES / ours(one.vod):.0f} "
        "segments/s however many gateways run: gateway processes on the same cores share them, they add no cores. "
        f"Throughput relative to {gateways_text(one.gateways)}: {relative}.{why}"
    )


def more_machines(one: Run, most: Run) -> str:
    g_ai, g_vod, pg = one.ai.ms_per("gateways"), one.vod.ms_per("gateways"), max(one.ai.ms_per("postgresql"), 1e-3)
    apart = "" if most is one else (
        f" ({1000 / most.ai.ms_per('gateways'):.0f} and {1000 / most.vod.ms_per('gateways'):.0f} at the CPU per "
        f"request of {most.gateways} gateways)")
    return (
        f"**More machines.** Gateways on machines of their own add about {1000 / g_ai:.0f} AI requests/s (or "
        f"{1000 / g_vod:.0f} segments/s) per core{apart} until a shared part fills. PostgreSQL spent {pg:.1f} ms per AI "
        f"request and {one.vod.ms_per('postgresql'):.1f} ms per segment: one core of it carries about "
        f"{1000 / pg:.0f} requests/s, what {g_ai / pg:.0f} gateway cores pass on. SeaweedFS spent "
        f"{one.ai.ms_per('seaweedfs'):.1f} ms per AI output and {one.vod.ms_per('seaweedfs'):.1f} ms per segment (a "
        "managed S3 service does that work on its own machines). The orchestrators scale by adding machines "
        f"already; here they answered from their result cache ({one.ai.ms_per('orchestrators'):.1f} ms per request: "
        "sign and bundle), where a real model costs them seconds."
    )


def store_adds(one: Run, local: Run) -> str:
    g_ai, g_vod = one.ai.ms_per("gateways"), one.vod.ms_per("gateways")
    return (
        f"**What the object store adds.** One gateway without it spent {local.ai.ms_per('gateways'):.1f} ms per AI "
        f"request and {local.vod.ms_per('gateways'):.0f} ms per segment; with it {g_ai:.1f} and {g_vod:.0f}: "
        f"{added(g_ai - local.ai.ms_per('gateways'))} of gateway CPU per AI output and "
        f"{added(g_vod - local.vod.ms_per('gateways'))} per segment (the upload row, boto3's PUT, the row done), "
        f"plus SeaweedFS's own {one.ai.ms_per('seaweedfs'):.1f} / {one.vod.ms_per('seaweedfs'):.1f} ms. Throughput "
        f"on these shared cores: {local.ai.rate:.1f} → {one.ai.rate:.1f} requests/s, {local.vod.rate:.1f} → "
        f"{one.vod.rate:.1f} segments/s. The time a PUT and a fetch take: see *Object storage* "
        "(`benchmarks/object_store.py`)."
    )


def outputs_lost(stored: list[Run]) -> str:
    found = ", ".join(f"{r.gateways} → {r.ai_stored}/{r.ai_answered}" for r in stored)
    dropped = ", ".join(f"{r.gateways} → {r.dropped}" for r in stored)
    return (
        "**Found while measuring: with several gateways, outputs never reach the store.** AI outputs in the bucket "
        f"after each run / AI answers, by gateways: {found}; uploads (AI and VOD files) dropped as \"no longer on "
        f"disk\": {dropped}. The upload queue (`object_uploads`) is in the shared database and every gateway's "
        "uploader takes any due row, but the file is on the disk of the gateway that made it: another gateway finds "
        "no file, deletes the row, and the output stays on one gateway's disk only (a fetch through another gateway "
        "finds it nowhere). Upload rows need an owner (issue #15, point 3); until then the SeaweedFS and upload "
        "figures for 2 and 3 gateways count only the uploads that happened."
    )


def markdown(runs: list[Run], intro: str, takeovers: list[Takeover] = ()) -> str:  # type: ignore[assignment]
    """The section of BENCHMARKS.md: what was run (`intro`), the plot, the tables, the reasoning."""
    taking = [] if not takeovers else [
        "",
        "**Takeover.** Two gateways; six VOD jobs (10 s, 240p) submitted to the first, which is killed with `-9` as "
        "soon as one has a segment delivered. From the kill: when the second gateway held each job still running (its lease "
        "ran out, and the second's next pass claimed it with `SELECT … FOR UPDATE SKIP LOCKED`) and when the last "
        "completed (the segments in flight at the kill run again; the delivered ones do not):",
        "",
        *takeover_table(takeovers),
        "",
        "A job is taken over within the lease plus one pass (a third of the lease), counted from the killed gateway's "
        "last renewal (so a kill just after a renewal comes closest to the bound), plus the pass's own few database "
        "round trips and, here, the time the machine's 2 cores take to get to it. The times are read from the database "
        "every 5 ms. A shorter lease takes over sooner and costs each gateway one renewal every third of it (one "
        "`UPDATE` per kind of work: nothing next to the work).",
    ]
    return "\n".join([
        intro,
        "",
        "![scale](benchmarks/scale.png)",
        "",
        "AI requests (text-to-speech):",
        "",
        *table(runs, "ai"),
        "",
        "VOD segments (2 s, 240p; latency per 5-segment job):",
        "",
        *table(runs, "vod"),
        "",
        *reasoning(runs),
        *taking,
    ])


def plot(runs: list[Run], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {"gateways": "tab:blue", "orchestrators": "tab:orange", "postgresql": "tab:green",
               "seaweedfs": "tab:purple", "client": "tab:grey", "other": "lightgrey"}
    labels = [r.label.replace(" (no object store)", "\nno store") for r in runs]
    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5))
    for col, (kind, unit) in enumerate((("ai", "AI requests/s"), ("vod", "VOD segments/s"))):
        top, bottom = axes[0][col], axes[1][col]
        rates = [getattr(r, kind).rate for r in runs]
        top.bar(labels, rates, color=["tab:blue" if r.object_store else "tab:cyan" for r in runs])
        for x, y in enumerate(rates):
            top.annotate(f"{y:.1f}", (x, y), ha="center", va="bottom", fontsize=9)
        top.set_ylim(0, 1.15 * max(rates + [1e-9]))
        top.set_ylabel(unit)
        top.set_xlabel("gateway processes")
        top.set_title(f"{'AI (text-to-speech)' if kind == 'ai' else 'VOD (240p segments)'}: throughput")
        base = [0.0] * len(runs)
        for part in PARTS:
            values = [getattr(r, kind).ms_per(part) for r in runs]
            bottom.bar(labels, values, bottom=base, color=colours[part], label=part if part != "other" else "others' work")
            base = [b + v for b, v in zip(base, values)]
        bottom.set_ylabel(f"CPU ms per {'request' if kind == 'ai' else 'segment'}")
        bottom.set_xlabel("gateway processes")
        bottom.set_title("where the CPU went")
        bottom.set_ylim(0, 1.35 * max(base + [1e-9]))  # room above the bars for the legend
        bottom.legend(fontsize=7, ncol=3, loc="upper center")
    fig.suptitle(f"gateways sharing one PostgreSQL and one object store, {CORES} cores shared by every process")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
