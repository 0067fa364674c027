"""Errors raised by `framemesh.ai`.

One root, and a split between "the request is bad" (the client can fix it; never
reaches a worker), "this node is misconfigured" and "we failed on a good request"::

    AIError                     root of every error raised by framemesh.ai
    ├── InvalidRequest          the request cannot be run as sent: impossible
    │   │                       width/height, prompt too long, malformed image or
    │   │                       audio, a value out of range (also a ValueError).
    │   │                       The message says what is wrong and what is allowed.
    │   └── UnknownModel        no such pipeline or model here; the message lists
    │                           what is served (HTTP 404)
    ├── ConfigError             models.toml is wrong; the message names the bad key
    ├── ModelLoadError          a model directory is missing or not loadable
    ├── PipelineFailed          the model raised on a request that passed the checks
    └── WorkerDied              the worker process crashed, ran out of memory or was
                                killed mid-job; it is restarted, and the job can be
                                retried (the gateway retries it elsewhere)

Servers map InvalidRequest to 400/422, UnknownModel to 404 and the rest to 5xx.
Every error pickles (it crosses from worker process to parent).
"""

from __future__ import annotations


class AIError(Exception):
    """Root of every error raised by `framemesh.ai`."""


class InvalidRequest(AIError, ValueError):
    """The request is malformed or out of limits: the message says how to fix it.

    `errors`, when set, are the fields of the wrong type or missing, each as
    `{"loc": [...], "msg": ..., "type": ...}` (a schema violation, HTTP 422 on
    Livepeer's API); without them the request is well formed but cannot run (400)."""

    def __init__(self, message: str, errors: list[dict[str, object]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors


class UnknownModel(InvalidRequest):
    """No such pipeline or model is served; the message lists what is."""


class ConfigError(AIError):
    """models.toml is wrong: the message names the bad key."""


class ModelLoadError(AIError):
    """A model could not be loaded from its directory (or its package)."""


class PipelineFailed(AIError):
    """A model raised on a request that passed its input checks."""


class WorkerDied(AIError):
    """The worker process ended mid-job (crash, out of memory, killed)."""
