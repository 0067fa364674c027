"""`framemesh demo`: a whole local network in one process, and a video through it.

A chain with the protocol deployed (embedded py-evm, or `--rpc` a dev node such as
anvil), two staked orchestrators and a delegator, a funded gateway that finds the
orchestrators on-chain and pays them in tickets; a clip transcoded through it; a few
rounds advanced so rewards are minted; then what everyone earned.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import urllib.request
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from framemesh.cli.output import console, fail, setup_logging
from framemesh.gateway.config import DEFAULT_PROFILES


def _get_json(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=5) as response:  # loopback only
        return json.loads(response.read())  # type: ignore[no-any-return]


def demo(
    input: Annotated[Path | None, typer.Option("--input", help="A video to use instead of the generated clip.")] = None,
    out: Annotated[Path, typer.Option(help="Directory to write the HLS ladder to.")] = Path("framemesh-demo"),
    profiles: Annotated[str, typer.Option(help="Renditions, comma-separated.")] = ",".join(DEFAULT_PROFILES),
    duration: Annotated[float, typer.Option(min=1.0, max=600.0, help="Length of the generated clip, seconds.")] = 8.0,
    rpc: Annotated[str | None, typer.Option(help="A dev chain's JSON-RPC URL (e.g. anvil's) instead of the embedded chain.")] = None,
    rounds: Annotated[int, typer.Option(min=0, max=50, help="Rounds to advance after the job, for rewards.")] = 2,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "warning",
) -> None:
    """Start a chain, a gateway and two orchestrators locally and transcode a clip through them, paid in tickets."""
    setup_logging(log_level)
    if input is not None and not input.is_file():
        fail(f"--input {input}: no such file")
    from framemesh.chain.errors import ChainError
    from framemesh.chain.units import format_amount
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
        net = Devnet(DevnetConfig(root=root, rpc=rpc))
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
            try:
                status, master = asyncio.run(transcode_via_gateway(net.gateway.url, source, out, profiles))
            except GatewayRequestError as exc:
                fail(str(exc))
            if master is None:
                fail(f"job {status.id} {status.state}: {status.error or 'unknown error'}")
            with console.status("redeeming winning tickets"):
                net.wait_redeemed()
            fees_before_rounds = {n.signer.address: proto.pending_fees(n.signer.address) for n in net.orchestrators}
            with console.status(f"advancing {rounds} rounds (orchestrators call reward())"):
                net.advance_rounds(rounds)
            _report(net, status, fees_before_rounds, format_amount)
            console.print(f"{status.segments.total} segments, renditions {', '.join(status.profiles)}")
            console.print(f"master playlist: [bold]{master.resolve()}[/]", soft_wrap=True)
        finally:
            net.stop()


def _report(net, status, fees: dict[str, int], fmt) -> None:  # type: ignore[no-untyped-def]
    proto = net.protocol
    gateway = _get_json(f"{net.gateway.url}/payments")
    table = Table(title="orchestrators", title_justify="left")
    for col in ("orchestrator", "segments", "tickets received", "won", "redeemed", "fees charged", "fee pool (own)", "rewards (stake now)"):
        table.add_column(col, justify="right" if col != "orchestrator" else "left")
    for node in net.orchestrators:
        m = _get_json(f"{node.url}/metrics")
        pay = m["payments"]
        table.add_row(
            node.name, str(status.orchestrators.get(node.url, 0)), str(pay["tickets_received"]), str(pay["tickets_won"]),
            str(pay["tickets"]["redeemed"]), fmt(int(m["fees_charged_wei"]), "ETH"),
            fmt(proto.pending_fees(node.signer.address), "ETH"), fmt(proto.pending_stake(node.signer.address)),
        )
    console.print(table)
    d = net.delegator.address
    console.print(
        f"delegator {d[:10]}… bonded {fmt(net.config.delegation)} to {net.orchestrators[0].name}: "
        f"stake now {fmt(proto.pending_stake(d))} (reward share), fees {fmt(proto.pending_fees(d), 'ETH')} (fee share)",
        soft_wrap=True,
    )
    console.print(
        f"gateway sent {gateway['tickets_sent']} tickets ({fmt(int(gateway['face_value_sent']), 'ETH')} face value, "
        f"{fmt(int(gateway['expected_value_sent']), 'ETH')} expected); "
        f"rewards minted since start {fmt(proto.total_supply() - net.supply_at_start)}; "
        f"inflation {proto.inflation() / 1e7:.5f}% per round; bonding rate {proto.bonding_rate() / 1e7:.4f}% (target 50%)",
        soft_wrap=True,
    )
