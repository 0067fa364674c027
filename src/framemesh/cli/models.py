"""`framemesh models ...`: the AI models an orchestrator serves.

    framemesh models tiny DIR     write tiny random models of every diffusion
                                  pipeline's architecture, a tiny LLM, and
                                  DIR/models.toml
    framemesh models check FILE   parse a models.toml and print what it serves
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

models_app = typer.Typer(
    help="AI models: write tiny test models, check a models.toml.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@models_app.command()
def tiny(
    out: Annotated[Path, typer.Argument(help="directory to write the models and models.toml into")],
) -> None:
    """Write tiny randomly-initialised diffusion models, a tiny LLM (Llama) and a
    models.toml serving them plus the built-in models (Piper, PocketSphinx, Real-ESRGAN)."""
    try:
        from framemesh.ai.tiny import write_tiny_models
    except ImportError as exc:
        typer.echo(f"error: needs the 'ai' extra (pip install 'framemesh[ai]'): {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        toml = write_tiny_models(out)
    except ImportError as exc:
        typer.echo(f"error: needs the 'ai' extra (pip install 'framemesh[ai]'): {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"wrote {toml}")
    typer.echo(f"serve them with: framemesh orchestrator start --ai-config {toml}")


@models_app.command()
def check(
    config: Annotated[Path, typer.Argument(help="a models.toml")],
) -> None:
    """Parse a models.toml and print the models it serves (exit 2 on a bad key)."""
    from framemesh.ai.config import load_config
    from framemesh.ai.errors import ConfigError

    try:
        parsed = load_config(config)
    except ConfigError as exc:
        typer.echo(f"error: {config}: {exc}", err=True)
        raise typer.Exit(2) from None
    for spec in parsed.models:
        where = str(spec.path) if spec.path else "built-in"
        state = "warm" if spec.warm else "cold"
        typer.echo(
            f"{spec.pipeline:15} {spec.model_id:28} {state} x{spec.capacity} "
            f"{spec.price_per_unit} wei/unit  {where}"
        )
