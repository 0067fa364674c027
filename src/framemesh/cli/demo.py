"""`framemesh demo`: a whole local network in one process, and a video through it.

A chain with the protocol deployed (embedded py-evm, or `--rpc` a dev node such as
anvil), two staked orchestrators and a delegator, a funded gateway that finds the
orchestrators on-chain and pays them in tickets; a clip transcoded through it; AI
jobs through the gateway's Livepeer-compatible API, paid the same way (`demo_ai`:
speech and back to text with built-in models, a tiny Stable Diffusion image upscaled
and animated, a manifest verified); a few rounds advanced so rewards are minted;
then what everyone earned. The gateway takes API keys only, as an operator's would:
the demo makes one on its admin API, sends everything with it, and shows its usage.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import tempfile
import urllib.request
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from framemesh.cli.output import console, fail, setup_logging
from framemesh.gateway.config import DEFAULT_PROFILES
from framemesh.wire.keys import KeyCreated, KeyOut


def _get_json(url: str, token: str | None = None) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(request, timeout=5) as response:  # loopback only
        return json.loads(response.read())


def demo(
    input: Annotated[Path | None, typer.Option("--input", help="A video to use instead of the generated clip.")] = None,
    out: Annotated[Path, typer.Option(help="Directory to write the HLS ladder (and ai/, the AI outputs) to.")] = Path("framemesh-demo"),
    profiles: Annotated[str, typer.Option(help="Renditions, comma-separated.")] = ",".join(DEFAULT_PROFILES),
    duration: Annotated[float, typer.Option(min=1.0, max=600.0, help="Length of the generated clip, seconds.")] = 8.0,
    rpc: Annotated[str | None, typer.Option(help="A dev chain's JSON-RPC URL (e.g. anvil's) instead of the embedded chain.")] = None,
    rounds: Annotated[int, typer.Option(min=0, max=50, help="Rounds to advance after the job, for rewards.")] = 2,
    ai: Annotated[bool, typer.Option("--ai/--no-ai", help="Also send AI jobs through the network (needs the 'ai' extra).")] = True,
    live: Annotated[bool, typer.Option("--live/--no-live", help="Also run a short live stream through the network (RTMP in, live HLS out).")] = True,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "warning",
) -> None:
    """Start a chain, a gateway and two orchestrators locally; transcode a clip and run AI jobs through them, paid in tickets."""
    setup_logging(log_level)
    if input is not None and not input.is_file():
        fail(f"--input {input}: no such file")
    from framemesh.chain.errors import ChainError
    from framemesh.chain.units import format_amount
    from framemesh.cli.demo_ai import prepare_models, run_ai_jobs
    from framemesh.cli.demo_live import run_live_stream
    from framemesh.cli.transcode import transcode_via_gateway
    from framemesh.devnet import Devnet, DevnetConfig
    from framemesh.media.testclip import make_test_clip
    from framemesh.sdk.client import GatewayRequestError

    with tempfile.TemporaryDirectory(prefix="framemesh-demo-") as tmp:
        root = Path(tmp)
        source = input
        if source is None:
            source = root / "clip.mp4"
            with console.status("making a test clip"):
                make_test_clip(source, duration=duration, width=1280, height=720)
            console.print(f"made a {duration:g} s 1280x720 test clip with audio")
        ai_config = prepare_models(root) if ai else None
        # As an operator would: the gateway takes API keys only; the demo makes one on its admin API.
        admin_token = secrets.token_urlsafe(18)
        net = Devnet(DevnetConfig(root=root, rpc=rpc, ai_config=ai_config, rtmp_port=0 if live else None,
                                  open_gateway=False, admin_token=admin_token))
        try:
            with console.status("deploying the protocol, staking, funding the gateway"):
                net.start()
        except ChainError as exc:
            net.stop()
            fail(f"could not set up the chain: {exc}")
        try:
            proto = net.protocol
            console.print(
                f"chain {net.chain.chain_id} ({'embedded' if rpc is None else rpc}), round {proto.current_round()}; "
                f"gateway {net.gateway.url}; " + ", ".join(f"{n.name} {n.url}" for n in net.orchestrators),
                soft_wrap=True,
            )
            console.print(f"explorer (while the demo runs): {net.gateway.url}/explorer/", soft_wrap=True)
            key = asyncio.run(_make_key(net.gateway.url, admin_token))
            console.print(f"API key {key.prefix}… ({key.name!r}, spend limit {key.spend_limit}) made on the admin API",
                          soft_wrap=True)
            try:
                status, master = asyncio.run(
                    transcode_via_gateway(net.gateway.url, source, out, profiles, token=key.key)
                )
            except GatewayRequestError as exc:
                fail(str(exc))
            if master is None:
                fail(f"job {status.id} {status.state}: {status.error or 'unknown error'}")
            live_result = live_ai_result = None
            if live:
                outputs = net.config.root / "gateway" / "outputs"
                live_result = run_live_stream(net.gateway.url, source, out, outputs, duration, token=key.key)
                if ai_config is not None and live_result.ok:
                    live_ai_result = run_live_stream(net.gateway.url, source, out, outputs, duration, token=key.key, ai=True)
            ai_result = None
            if ai_config is not None:
                names = {n.signer.address.lower(): n.name for n in net.orchestrators}
                ai_result = asyncio.run(
                    run_ai_jobs(net.gateway.url, out / "ai", net.keys_dir / "ca.pem", names, token=key.key)
                )
            with console.status("redeeming winning tickets"):
                net.wait_redeemed()
            fees_before_rounds = {str(n.signer.address): proto.pending_fees(n.signer.address) for n in net.orchestrators}
            with console.status(f"advancing {rounds} rounds (orchestrators call reward())"):
                net.advance_rounds(rounds)
            _report(net, status, fees_before_rounds, format_amount, live_result.by_orchestrator if live_result else None)
            _report_usage(net.gateway.url, key.key)
            console.print(f"{status.segments.total} segments, renditions {', '.join(status.profiles)}")
            console.print(f"master playlist: [bold]{master.resolve()}[/]", soft_wrap=True)
            if ai_result is not None:
                console.print(f"AI outputs: [bold]{(out / 'ai').resolve()}[/]", soft_wrap=True)
            if live_result is not None and not live_result.ok:
                fail(f"the live stream failed: {live_result.problem}")
            if live_ai_result is not None and not live_ai_result.ok:
                fail(f"the live AI stream failed: {live_ai_result.problem}")
            if ai_result is not None:
                if not ai_result.ok:
                    fail(f"{len(ai_result.failures)} AI job(s) failed: {'; '.join(ai_result.failures)}")
        finally:
            net.stop()


async def _make_key(gateway: str, admin_token: str) -> KeyCreated:
    from framemesh.sdk.client import GatewayClient

    async with GatewayClient(gateway, token=admin_token) as admin:
        return await admin.create_key("demo", spend_limit="1 ETH/day")


def _report_usage(gateway: str, key: str) -> None:
    """What the gateway charged the demo's key, by kind of work (GET /usage)."""
    from framemesh.sdk.client import GatewayClient

    async def usage() -> KeyOut | None:
        async with GatewayClient(gateway, token=key) as client:
            return await client.usage()

    mine = asyncio.run(usage())
    if mine is None or mine.usage is None:
        return
    u = mine.usage
    kinds = ", ".join(f"{kind} {int(wei) / 1e9:g} gwei" for kind, wei in sorted(u.by_kind.items()))
    console.print(f"API key {mine.prefix}… used {u.requests} piece(s) of work, {u.units} units, "
                  f"{int(u.wei) / 1e9:g} gwei ({kinds}); within its {mine.spend_limit} limit", soft_wrap=True)


def _report(net, status, fees: dict[str, int], fmt, live: dict[str, int] | None) -> None:  # type: ignore[no-untyped-def]
    proto = net.protocol
    gateway = _get_json(f"{net.gateway.url}/payments", net.config.admin_token)
    table = Table(title="orchestrators", title_justify="left")
    metrics = {node.name: _get_json(f"{node.url}/stats") for node in net.orchestrators}
    ai = all(m["ai"] is not None for m in metrics.values())  # when the orchestrators run AI models
    columns = ["orchestrator", "segments"] + (["live segments"] if live is not None else []) + ["transcode fees"]
    columns += ["AI jobs", "AI fees"] if ai else []
    columns += ["tickets in/won/redeemed", "fee pool (own)", "rewards (stake now)"]
    for col in columns:
        table.add_column(col, justify="right" if col != "orchestrator" else "left")
    for node in net.orchestrators:
        m = metrics[node.name]
        pay = m["payments"]
        row = [node.name, str(status.orchestrators.get(node.url, 0))]
        row += [str(live.get(node.url, 0))] if live is not None else []
        row += [fmt(int(m["fees_charged_wei"]), "gwei")]
        row += [str(m["ai"]["jobs_done"]), fmt(int(m["ai"]["fees_charged_wei"]), "gwei")] if ai else []
        row += [
            f"{pay['tickets_received']}/{pay['tickets_won']}/{pay['tickets']['redeemed']}",
            fmt(proto.pending_fees(node.signer.address), "gwei"), fmt(proto.pending_stake(node.signer.address)),
        ]
        table.add_row(*row)
    console.print(table)
    d = net.delegator.address
    console.print(
        f"delegator {d[:10]}… bonded {fmt(net.config.delegation)} to {net.orchestrators[0].name}: "
        f"stake now {fmt(proto.pending_stake(d))} (reward share), fees {fmt(proto.pending_fees(d), 'gwei')} (fee share)",
        soft_wrap=True,
    )
    console.print(
        f"gateway sent {gateway['tickets_sent']} tickets ({fmt(int(gateway['face_value_sent']), 'gwei')} face value, "
        f"{fmt(int(gateway['expected_value_sent']), 'gwei')} expected); "
        f"rewards minted since start {fmt(proto.total_supply() - net.supply_at_start)}; "
        f"inflation {proto.inflation() / 1e7:.5f}% per round; bonding rate {proto.bonding_rate() / 1e7:.4f}% (target 50%)",
        soft_wrap=True,
    )
