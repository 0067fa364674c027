"""`framemesh orchestrator ...` and `framemesh gateway ...`: run a node in the foreground."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from framemesh.cli.chain_context import (
    DEFAULT_DEPLOYMENT,
    DeploymentOption,
    DevAccountOption,
    KeystoreOption,
    PasswordFileOption,
    amount,
    chain_errors,
    connect,
    percent,
)
from framemesh.cli.output import console, fail, setup_logging
from framemesh.gateway.config import GatewayConfig
from framemesh.media.profiles import PROFILES
from framemesh.orchestrator.config import OrchestratorConfig

orchestrator_app = typer.Typer(help="Run an orchestrator: the node that sells transcoding work.", no_args_is_help=True)
gateway_app = typer.Typer(help="Run a gateway: the node that takes jobs and buys work.", no_args_is_help=True)


def _print_config(title: str, values: dict[str, object]) -> None:
    table = Table(title=title, show_header=False, title_justify="left")
    for key, value in values.items():
        table.add_row(key, str(value))
    console.print(table)


@orchestrator_app.command("start")
def orchestrator_start(
    port: Annotated[int, typer.Option(help="TCP port to listen on.")] = 8935,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    name: Annotated[str, typer.Option(help="Name shown to gateways (defaults to orchestrator-PORT).")] = "",
    capacity: Annotated[int, typer.Option(min=1, help="Segments transcoded at once; past that, 503.")] = 2,
    price_per_pixel: Annotated[int, typer.Option(min=0, help="Price in wei per output pixel.")] = 1000,
    profiles: Annotated[str, typer.Option(help="Profiles offered, comma-separated.")] = ",".join(PROFILES),
    data_dir: Annotated[Path, typer.Option(help="Where work files go.")] = Path("framemesh-data/orchestrator"),
    max_segment_mb: Annotated[int, typer.Option(min=1, help="Largest segment accepted, in MiB.")] = 64,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
    rpc: Annotated[str | None, typer.Option(envvar="FRAMEMESH_RPC", help="Run on this chain: charge in tickets, redeem them, call reward() each round.")] = None,
    deployment: DeploymentOption = DEFAULT_DEPLOYMENT,
    keystore: KeystoreOption = None,
    password_file: PasswordFileOption = None,
    dev_account: DevAccountOption = None,
    register: Annotated[bool, typer.Option(help="Register on start: self-bond --stake, set terms, publish --service-uri.")] = False,
    stake: Annotated[str, typer.Option(help="Self-bond to add when registering, e.g. '1000 FMT'.")] = "0",
    reward_cut: Annotated[str, typer.Option(help="Share of rewards kept, when registering.")] = "10%",
    fee_share: Annotated[str, typer.Option(help="Share of fees passed to delegators, when registering.")] = "50%",
    service_uri: Annotated[str, typer.Option(help="URL gateways reach this node at (default http://HOST:PORT).")] = "",
    ticket_face_value: Annotated[str, typer.Option(help="Face value of each ticket, e.g. '0.01 ETH'.")] = "0.01 ETH",
    ticket_win_prob: Annotated[str, typer.Option(help="Win probability of each ticket, e.g. 1/100000 or 0.00001.")] = "1/100000",
    redeem_interval: Annotated[float, typer.Option(min=0.1, help="Seconds between passes of the ticket redeemer.")] = 2.0,
    ai_config: Annotated[Path | None, typer.Option(help="Serve the AI pipelines and models of this models.toml (see docs/ai.md).")] = None,
    slow_seconds: Annotated[float, typer.Option(min=0.0, help="TESTING: wait this long before each transcode or AI job (a slow node, for scores and benchmarks).")] = 0.0,
    fail_share: Annotated[float, typer.Option(min=0.0, max=1.0, help="TESTING: answer this share of transcode and AI jobs with a 500 (a flaky node).")] = 0.0,
) -> None:
    """Start an orchestrator node and serve until interrupted."""
    setup_logging(log_level)
    from fractions import Fraction

    try:
        win_prob = Fraction(ticket_win_prob)
    except (ValueError, ZeroDivisionError):
        fail(f"--ticket-win-prob {ticket_win_prob!r} is not a probability (write 1/100 or 0.01)", 2)
    try:
        config = OrchestratorConfig(
            data_dir=data_dir,
            name=name or f"orchestrator-{port}",
            host=host,
            port=port,
            capacity=capacity,
            price_per_pixel=price_per_pixel,
            profiles=tuple(p.strip() for p in profiles.split(",") if p.strip()),
            max_segment_bytes=max_segment_mb * 1024 * 1024,
            ticket_face_value=amount(ticket_face_value, "ETH"),
            ticket_win_prob=win_prob,
            redeem_interval=redeem_interval,
            ai_config=ai_config,
            slow_seconds=slow_seconds,
            fail_share=fail_share,
        )
    except ValueError as exc:
        fail(str(exc), 2)
    if ai_config is not None:
        from framemesh.ai import ConfigError, load_config

        try:
            load_config(ai_config)
        except ConfigError as exc:
            fail(f"--ai-config: {exc}", 2)
    protocol = signer = None
    if rpc is not None:
        ctx = connect(rpc, deployment=deployment, keystore=keystore, password_file=password_file, dev_account=dev_account)
        protocol, signer = ctx.need_protocol(), ctx.need_signer()
        if register:
            uri = service_uri or f"http://{host}:{port}"
            with chain_errors():
                protocol.become_orchestrator(
                    signer, stake=amount(stake, "FMT"), reward_cut=percent(reward_cut), fee_share=percent(fee_share), service_uri=uri
                )
            console.print(f"registered {signer.address} at {uri}; active from round {protocol.current_round() + 1}", soft_wrap=True)
    _print_config("orchestrator", config.describe() | ({"address": signer.address, "chain": rpc} if signer else {}))
    from framemesh.net.server import serve_forever
    from framemesh.orchestrator.app import create_app

    serve_forever(create_app(config, protocol=protocol, signer=signer), host=host, port=port, log_level=log_level)


@gateway_app.command("start")
def gateway_start(
    orchestrator: Annotated[
        list[str] | None, typer.Option("--orchestrator", "-o", help="An orchestrator's URL; repeat for several (off-chain, unpaid).")
    ] = None,
    port: Annotated[int, typer.Option(help="TCP port to listen on.")] = 8936,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    data_dir: Annotated[Path, typer.Option(help="Where jobs, outputs and the SQLite store go.")] = Path(
        "framemesh-data/gateway"
    ),
    max_upload_mb: Annotated[int, typer.Option(min=1, help="Largest upload accepted, in MiB.")] = 1024,
    segment_timeout: Annotated[float, typer.Option(help="Seconds an orchestrator gets per segment.")] = 120.0,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
    rpc: Annotated[str | None, typer.Option(envvar="FRAMEMESH_RPC", help="Find orchestrators on this chain and pay them in tickets.")] = None,
    deployment: DeploymentOption = DEFAULT_DEPLOYMENT,
    keystore: KeystoreOption = None,
    password_file: PasswordFileOption = None,
    max_price: Annotated[int | None, typer.Option(min=0, help="Highest price accepted, wei per pixel.")] = None,
    max_price_per_unit: Annotated[int | None, typer.Option(min=0, help="Highest AI price accepted, wei per unit.")] = None,
    api_token: Annotated[str | None, typer.Option(envvar="FRAMEMESH_API_TOKEN", help="A shared bearer token accepted besides API keys (no limits, not per user).")] = None,
    admin_token: Annotated[str | None, typer.Option(envvar="FRAMEMESH_ADMIN_TOKEN", help="The admin API's token: create, list and revoke API keys (framemesh keys api ...).")] = None,
    open_access: Annotated[bool, typer.Option("--open", help="Serve callers without an API key: anyone who reaches the gateway spends its deposit.")] = False,
    ai_result_cache: Annotated[bool, typer.Option(help="Answer a repeated exact AI request (same seed and inputs) from its stored outputs.")] = True,
    retention_days: Annotated[float, typer.Option(min=0, help="Forget jobs (records, outputs, files) this many days after they end; 0 keeps them forever.")] = 30.0,
    rtmp_port: Annotated[int | None, typer.Option(min=0, max=65535, help="Listen for live streams over RTMP on this port (1935 is RTMP's).")] = None,
    live_idle_timeout: Annotated[float, typer.Option(min=1.0, help="End a live stream after this many seconds without media.")] = 30.0,
    queue_seconds: Annotated[float, typer.Option(min=0.0, help="How long an AI request waits for a free orchestrator before a 503.")] = 30.0,
    queue_limit: Annotated[int, typer.Option(min=0, help="How many requests may wait for a free orchestrator; past it, a 503.")] = 1000,
    score_window: Annotated[float, typer.Option(min=1.0, help="Seconds a result counts in an orchestrator's performance score.")] = 600.0,
    score_interval: Annotated[float, typer.Option(min=0.1, help="Seconds between points of the score history (GET /scores/history).")] = 60.0,
    score_history_days: Annotated[float, typer.Option(min=0, help="Forget score history points this many days old; 0 keeps them forever.")] = 30.0,
    score_weights: Annotated[bool, typer.Option(help="Weigh orchestrators by their performance score when choosing who gets work (--no-score-weights: stake, price and free slots only).")] = True,
    probe_interval: Annotated[float | None, typer.Option(min=1.0, help="Send a tiny paid test segment to each idle orchestrator with no transcoding result in this many seconds (off unless given).")] = None,
    explorer: Annotated[bool, typer.Option(help="Serve the network's explorer at /explorer/ (on a chain; public: it shows this gateway's scores, ticket totals and live streams' names and players).")] = True,
    database: Annotated[str | None, typer.Option(envvar="FRAMEMESH_DATABASE", help="Keep the gateway's records (jobs, streams, API keys, scores) in PostgreSQL at this postgresql://USER:PASSWORD@HOST:PORT/NAME URL instead of the SQLite file in --data-dir (needs the postgres extra: pip install 'framemesh\\[postgres]'). Several gateways may share one: see --name.")] = None,
    name: Annotated[str | None, typer.Option(envvar="FRAMEMESH_GATEWAY_NAME", help="The name this gateway holds its jobs and streams under in a shared --database (default HOST:PORT; unique per gateway, the same across its restarts).")] = None,
    lease_seconds: Annotated[float, typer.Option(min=1.0, max=3600.0, help="How long a gateway holds a job between renewals; another takes over a killed gateway's jobs within this plus a third.")] = 10.0,
    object_store: Annotated[str | None, typer.Option(envvar="FRAMEMESH_OBJECT_STORE", help="Also keep outputs in an S3-compatible object store: s3://BUCKET?endpoint=URL (credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY; needs the s3 extra). Default: the local outputs folder only.")] = None,
) -> None:
    """Start a gateway node and serve until interrupted."""
    setup_logging(log_level)
    if not orchestrator and rpc is None:
        fail("give orchestrators with --orchestrator URL, or a chain to find them on with --rpc URL", 2)
    try:
        config = GatewayConfig(
            data_dir=data_dir,
            max_price_per_pixel=max_price,
            orchestrators=tuple(url.rstrip("/") for url in orchestrator or ()),
            host=host,
            port=port,
            max_upload_bytes=max_upload_mb * 1024 * 1024,
            segment_timeout=segment_timeout,
            max_price_per_unit=max_price_per_unit,
            api_token=api_token,
            admin_token=admin_token,
            open=open_access,
            ai_result_cache=ai_result_cache,
            retention=retention_days * 86400 if retention_days > 0 else None,
            rtmp_port=rtmp_port,
            live_idle_timeout=live_idle_timeout,
            queue_seconds=queue_seconds,
            queue_limit=queue_limit,
            score_window=score_window,
            score_interval=score_interval,
            score_retention=score_history_days * 86400 if score_history_days > 0 else None,
            score_weights=score_weights,
            probe_interval=probe_interval,
            explorer=explorer,
            database=database,
            object_store=object_store,
            name=name,
            lease_seconds=lease_seconds,
        )
    except ValueError as exc:
        fail(str(exc), 2)
    if not (open_access or api_token or admin_token):
        fail("no one could use this gateway: give --admin-token to create API keys (framemesh keys api create), "
             "--api-token for one shared token, or --open to serve anyone who reaches it", 2)
    protocol = signer = None
    if rpc is not None:
        if keystore is None:
            fail("a gateway on a chain signs tickets with its own key: pass --keystore FILE", 2)
        ctx = connect(rpc, deployment=deployment, keystore=keystore, password_file=password_file)
        protocol, signer = ctx.need_protocol(), ctx.need_signer()
    on_chain = {"address": signer.address, "chain": rpc} if signer else {}
    if signer and config.explorer:
        on_chain["explorer"] = f"http://{host}:{port}/explorer/"
    _print_config("gateway", config.describe() | on_chain)
    from framemesh.gateway.app import create_app
    from framemesh.net.server import serve_forever
    from framemesh.sql import DatabaseError
    from rich.markup import escape

    try:
        app = create_app(config, protocol=protocol, signer=signer)
    except DatabaseError as exc:
        fail(escape(str(exc)), 1)
    serve_forever(app, host=host, port=port, log_level=log_level)
