"""Errors of the gateway part.

    GatewayError
    ├── JobNotFound          no job has that id
    ├── JobFailed            a job could not be completed (the reason says why)
    └── PeerError            an orchestrator did not do what was asked
        ├── PeerBusy         it is at capacity: try again after `retry_after` seconds
        ├── PeerUnpaid       it wants (more, or fresher) payment: 402
        ├── PeerRefused      it refused the request itself (4xx): the client's fault
        └── PeerFailed       it failed, timed out, broke the protocol or cheated
"""

from __future__ import annotations


class GatewayError(Exception):
    """Root of the gateway's errors."""


class JobNotFound(GatewayError):
    def __init__(self, job_id: str) -> None:
        super().__init__(f"no job with id {job_id!r}")
        self.job_id = job_id


class JobFailed(GatewayError):
    """A job that can't complete; its message is shown to the client."""


class LeaseLost(GatewayError):
    """Another gateway took this job over (this one stalled past its lease): stop
    working on it, and leave its records to the new holder."""


class PeerError(GatewayError):
    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


class PeerBusy(PeerError):
    def __init__(self, url: str, retry_after: float) -> None:
        super().__init__(url, f"busy, retry after {retry_after:g} s")
        self.retry_after = retry_after


class PeerUnpaid(PeerError):
    """402: `code` says why (stale parameters, insufficient payment, ...); `balance` is
    the orchestrator's view of our credit with it, when it says."""

    def __init__(self, url: str, code: str, reason: str, balance: str | None) -> None:
        super().__init__(url, f"payment refused ({code}): {reason}")
        self.code = code
        self.balance = balance


class PeerRefused(PeerError):
    """The orchestrator refused the request as malformed (`status` 400/413/415/422):
    another orchestrator would refuse it too, so there is no failover."""

    def __init__(self, url: str, status: int, reason: str) -> None:
        super().__init__(url, reason)
        self.status = status
        self.detail = reason


class PeerFailed(PeerError):
    """The orchestrator failed this segment; `kind` says how (error, timeout, unreachable, bad_result)."""

    def __init__(self, url: str, kind: str, reason: str) -> None:
        super().__init__(url, f"{kind}: {reason}")
        self.kind = kind
