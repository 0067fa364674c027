"""framemesh.ai: the AI pipelines an orchestrator runs, their worker processes, the
tiny-model writer and the cost savers. See docs/ai.md.

What the nodes use (none of it imports torch; the models load in worker processes):

    from framemesh.ai import ModelHost, load_config, build_request

    config = load_config("models.toml")                 # ConfigError names the bad key
    request = build_request("text-to-image", fields)    # InvalidRequest says what is wrong
    request.check(); request.units()                    # gateway: before sending, for the price
    async with ModelHost(config) as host:               # orchestrator
        result = await host.run("text-to-image", model_id, request)
        host.status()                                   # capabilities: warm, capacity, price
"""

from framemesh.ai.config import AIConfig, ModelOptions, ModelSpec, load_config, parse_config
from framemesh.ai.errors import (
    AIError,
    ConfigError,
    InvalidRequest,
    ModelLoadError,
    PipelineFailed,
    UnknownModel,
    WorkerDied,
)
from framemesh.ai.host import ModelHost, ModelStatus
from framemesh.ai.requests import DEFAULT_LIMITS, Limits, build_request, checked_units

__all__ = [
    "AIConfig",
    "AIError",
    "ConfigError",
    "DEFAULT_LIMITS",
    "InvalidRequest",
    "Limits",
    "ModelHost",
    "ModelLoadError",
    "ModelOptions",
    "ModelSpec",
    "ModelStatus",
    "PipelineFailed",
    "UnknownModel",
    "WorkerDied",
    "build_request",
    "checked_units",
    "load_config",
    "parse_config",
]
