"""The gateway's configuration: one frozen object, built once at the edge (CLI)."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

from framemesh.durable import POSTGRES_SCHEMES
from framemesh.media.profiles import PROFILES
from framemesh.postgres import redacted

DEFAULT_PROFILES = ("720p", "480p", "360p")
# Jobs a list (GET /jobs, GET /ai/jobs) answers with, by default and at most.
PAGE, MAX_PAGE = 50, 500
# The furthest a list may start (SQLite's largest integer: past it a query cannot even be asked).
MAX_OFFSET = 2**63 - 1


@dataclass(frozen=True)
class GatewayConfig:
    data_dir: Path
    orchestrators: tuple[str, ...] = ()
    host: str = "127.0.0.1"
    port: int = 8936
    default_profiles: tuple[str, ...] = DEFAULT_PROFILES
    max_upload_bytes: int = 1024 * 1024 * 1024
    segment_duration: float = 2.0
    segment_timeout: float = 120.0
    max_attempts: int = 5
    avoid_seconds: float = 5.0
    max_avoid_seconds: float = 120.0
    info_refresh_seconds: float = 10.0
    verify_workers: int = 2
    # Full checks (decode and compare): every segment from an orchestrator until it has
    # `verify_first` checked successes, then this fraction at random (1.0: all).
    verify_fraction: float = 0.25
    verify_first: int = 5
    max_price_per_pixel: int | None = None  # wei; orchestrators asking more get no work
    discovery_interval: float = 10.0  # seconds between reads of the active set (on a chain)
    # C2PA trust anchors (CA certificates, PEM). With some, a rendition signed by a
    # certificate that chains to none of them is refused; with none, it is accepted
    # (and reported as untrusted) as long as its manifest is intact and names the job.
    trust_anchors: tuple[Path, ...] = ()
    # Who may use it: API keys (created on the admin API with `admin_token`), the
    # operator's shared `api_token`, or anyone when `open` (only by choice: --open).
    open: bool = False
    api_token: str | None = None
    admin_token: str | None = None
    max_price_per_unit: int | None = None  # wei per AI unit; orchestrators asking more get no AI work
    ai_timeout: float = 600.0  # seconds an orchestrator gets per AI job
    ai_max_upload_bytes: int = 64 * 1024 * 1024
    ai_attempts: int = 3  # orchestrators tried per AI request
    ai_result_cache: bool = True  # answer a repeated exact AI request (same seed, inputs) from its stored outputs
    # While every orchestrator that could take a request is busy, it waits in line (FIFO,
    # fair across API keys) up to `queue_seconds`, and at most `queue_limit` wait; past
    # either it gets 503 with Retry-After.
    queue_seconds: float = 30.0
    queue_limit: int = 1000
    # A job that ended longer ago than this is forgotten: its records, outputs and files
    # (None: kept forever). Swept every `retention_interval` seconds.
    retention: float | None = 30 * 86400.0
    retention_interval: float = 3600.0
    # Live streams: RTMP ingest on this port (None: HTTP push only), segments of about
    # this many seconds, a playlist window of this many segments, a deadline of this
    # many segment durations for each segment, and an end after this long without media.
    rtmp_port: int | None = None
    rtmp_host: str | None = None  # default: `host`
    live_segment_duration: float = 2.0
    live_window: int = 6
    live_deadline_factor: float = 4.0
    live_idle_timeout: float = 30.0
    # Performance scores (`core.scores`): a result counts for `score_window` seconds;
    # the history keeps a point per orchestrator and kind of work every `score_interval`
    # seconds (when it had new results) for `score_retention` seconds (None: forever).
    # `score_weights` off: selection ignores the scores (stake, price and free slots only).
    score_window: float = 600.0
    score_interval: float = 60.0
    score_retention: float | None = 30 * 86400.0
    score_weights: bool = True
    # Test jobs: every `probe_interval` seconds, an idle orchestrator with no transcoding
    # result that recent is sent a tiny paid segment (None: never).
    probe_interval: float | None = None
    # The network's explorer at /explorer/ (on a chain): public, like the chain it shows,
    # with this gateway's scores, ticket totals and its live streams' names and players.
    explorer: bool = True
    # Where the gateway's records go: a postgresql:// URL, or None for the SQLite file in
    # `data_dir` (the embedded default). Outputs stay in `data_dir` either way.
    database: str | None = None
    # Outputs also kept in an S3-compatible object store (`s3://BUCKET?endpoint=URL`,
    # credentials from AWS_* variables); None: the local outputs folder only. Uploads
    # that fail are retried after 1, 2, 4 ... seconds, at most `object_store_retry_max`.
    object_store: str | None = None
    object_store_retry_max: float = 60.0
    # Several gateway processes on one database (`core.leases`): each holds the jobs and
    # streams it runs under its `name` (default HOST:PORT, the same after a restart, so a
    # restarted gateway carries its own jobs on at once) for `lease_seconds`, renewed a
    # third of that; another takes over a job whose lease ran out.
    name: str | None = None
    lease_seconds: float = 10.0

    def __post_init__(self) -> None:
        for url in self.orchestrators:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"orchestrators: {url!r} is not an http(s) URL")
        unknown = [p for p in self.default_profiles if p not in PROFILES]
        if unknown:
            raise ValueError(f"default_profiles: unknown {unknown}; known: {sorted(PROFILES)}")
        if self.max_upload_bytes < 1:
            raise ValueError("max_upload_bytes: must be positive")
        if self.segment_duration <= 0:
            raise ValueError("segment_duration: must be positive")
        if self.max_attempts < 1:
            raise ValueError("max_attempts: must be at least 1")
        if not 0.0 <= self.verify_fraction <= 1.0:
            raise ValueError(f"verify_fraction: must be between 0 and 1, got {self.verify_fraction}")
        if self.max_price_per_pixel is not None and self.max_price_per_pixel < 0:
            raise ValueError("max_price_per_pixel: must not be negative")
        if self.max_price_per_unit is not None and self.max_price_per_unit < 0:
            raise ValueError("max_price_per_unit: must not be negative")
        if self.ai_attempts < 1:
            raise ValueError("ai_attempts: must be at least 1")
        if self.queue_seconds < 0 or self.queue_limit < 0:
            raise ValueError("queue_seconds and queue_limit: must not be negative")
        if self.retention is not None and self.retention <= 0:
            raise ValueError("retention: must be positive, or None to keep everything")
        if self.retention_interval <= 0:
            raise ValueError("retention_interval: must be positive")
        if self.rtmp_port is not None and not 0 <= self.rtmp_port < 65536:
            raise ValueError(f"rtmp_port: {self.rtmp_port} is not a TCP port")
        if not 1.0 <= self.live_segment_duration <= 10.0:
            raise ValueError("live_segment_duration: must be 1 to 10 seconds")
        if self.live_window < 3:
            raise ValueError("live_window: at least 3 segments (players start 3 from the live edge)")
        if self.score_window <= 0 or self.score_interval <= 0:
            raise ValueError("score_window and score_interval: must be positive")
        if self.score_retention is not None and self.score_retention <= 0:
            raise ValueError("score_retention: must be positive, or None to keep the history forever")
        if self.probe_interval is not None and self.probe_interval <= 0:
            raise ValueError("probe_interval: must be positive, or None for no test jobs")
        if self.database is not None and not self.database.startswith(POSTGRES_SCHEMES):
            raise ValueError(
                f"database: {redacted(self.database)!r} is not a postgresql://USER:PASSWORD@HOST:PORT/NAME URL "
                "(leave it out for the SQLite file in the data directory)"
            )
        if self.object_store is not None:
            from framemesh.storage import parse_location

            try:
                parse_location(self.object_store)
            except ValueError as exc:
                raise ValueError(f"object_store: {exc}") from None
        if self.object_store_retry_max <= 0:
            raise ValueError("object_store_retry_max: must be positive")
        if not 1.0 <= self.lease_seconds <= 3600.0:
            raise ValueError("lease_seconds: must be 1 to 3600 seconds")
        if self.name is not None and not (0 < len(self.name) <= 200 and self.name.isprintable()):
            raise ValueError("name: 1 to 200 printable characters")
        if self.live_deadline_factor < 1.0 or self.live_idle_timeout <= 0:
            raise ValueError("live_deadline_factor must be at least 1 and live_idle_timeout positive")

    @property
    def holder(self) -> str:
        """The name this gateway holds its jobs' leases under."""
        return self.name or f"{socket.gethostname()}:{self.port}"

    @property
    def db_path(self) -> Path:
        return self.data_dir / "gateway.sqlite"

    @property
    def outputs_dir(self) -> Path:
        return self.data_dir / "outputs"

    @property
    def jobs_dir(self) -> Path:
        return self.data_dir / "jobs"

    def describe(self) -> dict[str, object]:
        return {
            "listen": f"{self.host}:{self.port}",
            "name": f"{self.holder} (holds its jobs for {self.lease_seconds:g} s at a time)",
            "data_dir": str(self.data_dir),
            "database": redacted(self.database) if self.database else f"{self.db_path} (SQLite)",
            "orchestrators": list(self.orchestrators),
            "default_profiles": list(self.default_profiles),
            "max_upload_bytes": self.max_upload_bytes,
            "segment_duration": self.segment_duration,
            "segment_timeout": self.segment_timeout,
            "max_attempts": self.max_attempts,
            "max_price_per_pixel": self.max_price_per_pixel,
            "trust_anchors": [str(p) for p in self.trust_anchors],
            "verify": f"first {self.verify_first} per orchestrator, then {self.verify_fraction:.0%}",
            "access": "OPEN to anyone (--open)" if self.open else "API keys" + (" or the shared token" if self.api_token else ""),
            "api_token": "(set)" if self.api_token else None,
            "admin_token": "(set)" if self.admin_token else None,
            "max_price_per_unit": self.max_price_per_unit,
            "queue": f"up to {self.queue_limit} requests wait up to {self.queue_seconds:g} s for a free orchestrator",
            "retention": "forever" if self.retention is None else f"{self.retention / 86400:g} days",
            "rtmp": f"{self.rtmp_host or self.host}:{self.rtmp_port}" if self.rtmp_port is not None else None,
            "live": f"{self.live_segment_duration:g} s segments, a window of {self.live_window}, "
                    f"idle timeout {self.live_idle_timeout:g} s",
            "scores": f"over {self.score_window:g} s, a point every {self.score_interval:g} s, "
                      + ("weighed by selection" if self.score_weights else "NOT weighed by selection"),
            "test_jobs": f"every {self.probe_interval:g} s when idle" if self.probe_interval else "off",
            "explorer": "/explorer/ (public, on a chain)" if self.explorer else "off",
            "object_store": self.object_store or f"local folder {self.outputs_dir}",
        }
