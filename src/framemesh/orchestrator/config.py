"""The orchestrator's configuration: one frozen object, built once at the edge (CLI)."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from framemesh.media.profiles import PROFILES


@dataclass(frozen=True)
class OrchestratorConfig:
    """What an orchestrator offers and how much it takes on.

    `price_per_pixel` is in wei per output pixel, Livepeer's unit for transcoding.
    """

    data_dir: Path
    name: str = "orchestrator"
    host: str = "127.0.0.1"
    port: int = 8935
    capacity: int = 2
    price_per_pixel: int = 1000
    profiles: tuple[str, ...] = field(default_factory=lambda: tuple(PROFILES))
    max_segment_bytes: int = 64 * 1024 * 1024
    retry_after_seconds: int = 1
    encoder_preset: str = "veryfast"
    # Payments (used when the node runs with a chain): each ticket is worth
    # face value x win probability on average; winners are redeemed on-chain.
    ticket_face_value: int = 10**16
    ticket_win_prob: Fraction = Fraction(1, 100_000)
    duties_interval: float = 2.0
    redeem_interval: float = 2.0
    # Provenance: the C2PA signing identity (an ES256 key and its certificate chain).
    # Without one, a development identity is issued from the dev CA in `dev_keys_dir`
    # (default: data_dir/keys), made there once.
    signing_key: Path | None = None
    signing_chain: Path | None = None
    dev_keys_dir: Path | None = None
    # AI: a models.toml (see docs/ai.md) to serve AI pipelines from; None serves none.
    ai_config: Path | None = None
    ai_timeout: float = 600.0  # seconds a worker gets per AI job before it is restarted
    # Testing only (`orchestrator.faults`): a delay before each transcode or AI job, and
    # the share of them answered with a 500 instead, to see what gateways make of it.
    slow_seconds: float = 0.0
    fail_share: float = 0.0

    def __post_init__(self) -> None:
        if self.capacity < 1:
            raise ValueError(f"capacity: must be at least 1, got {self.capacity}")
        if self.price_per_pixel < 0:
            raise ValueError(f"price_per_pixel: must not be negative, got {self.price_per_pixel}")
        unknown = [p for p in self.profiles if p not in PROFILES]
        if unknown:
            raise ValueError(f"profiles: unknown {unknown}; known: {sorted(PROFILES)}")
        if self.max_segment_bytes < 1:
            raise ValueError("max_segment_bytes: must be positive")
        if self.ticket_face_value < 1:
            raise ValueError("ticket_face_value: must be positive")
        if (self.signing_key is None) != (self.signing_chain is None):
            raise ValueError("signing_key and signing_chain: give both or neither")
        if self.slow_seconds < 0 or not 0.0 <= self.fail_share <= 1.0:
            raise ValueError("slow_seconds: must not be negative; fail_share: must be between 0 and 1")
        if not 0 < self.ticket_win_prob <= 1:
            raise ValueError(f"ticket_win_prob: must be in (0, 1], got {self.ticket_win_prob}")

    def describe(self) -> dict[str, object]:
        """The configuration as printed at start-up (no secrets here yet)."""
        return {
            "name": self.name,
            "listen": f"{self.host}:{self.port}",
            "data_dir": str(self.data_dir),
            "capacity": self.capacity,
            "price_per_pixel": self.price_per_pixel,
            "profiles": list(self.profiles),
            "max_segment_bytes": self.max_segment_bytes,
            "ticket_face_value": self.ticket_face_value,
            "ticket_win_prob": str(self.ticket_win_prob),
            "ai_config": str(self.ai_config) if self.ai_config is not None else None,
            **({"TESTING faults": f"{self.slow_seconds:g} s slower, {self.fail_share:.0%} failed"}
               if self.slow_seconds or self.fail_share else {}),
        }
