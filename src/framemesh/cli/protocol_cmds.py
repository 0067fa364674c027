"""On-chain commands: deploy the protocol, look at it, and act on it (rounds, stake,
deposits, orchestrator registration)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from framemesh.chain.units import format_amount
from framemesh.cli.chain_context import (
    DEFAULT_DEPLOYMENT,
    DEFAULT_RPC,
    DeploymentOption,
    DevAccountOption,
    KeystoreOption,
    PasswordFileOption,
    RpcOption,
    amount,
    chain_errors,
    connect,
    percent,
)
from framemesh.cli.output import console, fail

if TYPE_CHECKING:
    from framemesh.protocol.network import NetworkStatus

# The chain stack (web3, the Vyper compiler) takes seconds to import: commands import it
# when they run, so `framemesh --help` and the node commands start fast.
PERC_DIVISOR = 10**6
MINTER_DIVISOR = 10**9

chain_app = typer.Typer(help="Deploy the protocol and manage accounts.", no_args_is_help=True)
protocol_app = typer.Typer(help="The protocol's state and economics.", no_args_is_help=True)
round_app = typer.Typer(help="Rounds.", no_args_is_help=True)
stake_app = typer.Typer(help="Bond stake to an orchestrator, unbond, rebond, withdraw, claim earnings.", no_args_is_help=True)
deposit_app = typer.Typer(help="A gateway's deposit and reserve in the TicketBroker.", no_args_is_help=True)


def _pct(value: int, divisor: int) -> str:
    text = f"{100 * value / divisor:.5f}".rstrip("0").rstrip(".")
    return f"{text}%"


def _done(what: str, receipt: object) -> None:
    console.print(f"{what} (tx {getattr(receipt, 'tx_hash', '?')}, gas {getattr(receipt, 'gas_used', '?')})", soft_wrap=True)


# -- chain -------------------------------------------------------------------


@chain_app.command("deploy")
def chain_deploy(
    rpc: RpcOption = DEFAULT_RPC,
    out: Annotated[Path, typer.Option("--out", help="Where to write the deployment file.")] = DEFAULT_DEPLOYMENT,
    keystore: KeystoreOption = None,
    password_file: PasswordFileOption = None,
    dev_account: DevAccountOption = 0,
    round_length: Annotated[int, typer.Option(min=1, help="Blocks per round.")] = 20,
    unbonding_period: Annotated[int, typer.Option(min=0, help="Rounds before unbonded stake can be withdrawn.")] = 7,
    num_active: Annotated[int, typer.Option(min=1, help="Size of the active set.")] = 100,
    force: Annotated[bool, typer.Option(help="Overwrite an existing deployment file.")] = False,
) -> None:
    """Compile, deploy and wire the protocol contracts; write the deployment file."""
    from framemesh.chain.protocol_deployment import ProtocolParams
    from framemesh.protocol.network import Protocol

    if out.exists() and not force:
        fail(f"{out} exists: pass --force to deploy again and overwrite it")
    ctx = connect(rpc, keystore=keystore, password_file=password_file, dev_account=None if keystore else dev_account)
    params = ProtocolParams(round_length=round_length, unbonding_period=unbonding_period, num_active_transcoders=num_active)
    with chain_errors(), console.status("compiling and deploying the contracts"):
        protocol = Protocol.deploy(ctx.chain, params, sender=ctx.need_signer())
        if not protocol.round_initialized():
            protocol.initialize_round(ctx.need_signer())
    out.parent.mkdir(parents=True, exist_ok=True)
    protocol.deployment.save(out)
    table = Table(title=f"deployed on chain {ctx.chain.chain_id}", title_justify="left")
    table.add_column("contract")
    table.add_column("address")
    for name, address in protocol.deployment.addresses.items():
        table.add_row(name, address)
    console.print(table)
    console.print(f"deployment file: {out}", soft_wrap=True)


@chain_app.command("serve")
def chain_serve(
    host: Annotated[str, typer.Option(help="Address to listen on. Its dev accounts are unlocked: keep it on loopback.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on (0: a free one).")] = 8545,
) -> None:
    """Serve a fresh embedded chain (py-evm) over JSON-RPC, so that separate node processes share it
    as they share anvil: ten unlocked dev accounts (--dev-account N), a block per transaction. Runs
    until Ctrl-C or SIGTERM; the chain lives in memory and ends with it."""
    from framemesh.chain.rpc_server import RpcServer, serve_until_signalled

    try:
        server = RpcServer(host, port)
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    accounts = server.rpc.provider.ethereum_tester.get_accounts()
    print(f"embedded chain (chain id {int(server.rpc.call('eth_chainId', []), 16)}, {len(accounts)} unlocked dev accounts) "
          f"serving JSON-RPC at {server.url}", flush=True)
    for i, account in enumerate(accounts):
        print(f"  --dev-account {i}: {account}", flush=True)
    serve_until_signalled(server)


@chain_app.command("fund")
def chain_fund(
    to: Annotated[str, typer.Argument(help="The address to fund.")],
    eth: Annotated[str, typer.Option(help="ETH to send, e.g. '10 ETH'.")] = "0",
    fmt: Annotated[str, typer.Option(help="Tokens to send, e.g. '1000 FMT'.")] = "0",
    rpc: RpcOption = DEFAULT_RPC, deployment: DeploymentOption = DEFAULT_DEPLOYMENT,
    keystore: KeystoreOption = None, password_file: PasswordFileOption = None, dev_account: DevAccountOption = None,
) -> None:
    """Send ETH and/or tokens to an address (e.g. from a dev account to a new node's account)."""
    e, f = amount(eth, "ETH"), amount(fmt, "FMT")
    if e == 0 and f == 0:
        fail("nothing to send: pass --eth and/or --fmt", 2)
    ctx = connect(rpc, deployment=deployment, keystore=keystore, password_file=password_file, dev_account=dev_account)
    me = ctx.need_signer()
    with chain_errors():
        if e:
            _done(f"sent {format_amount(e, 'ETH')} to {to}", ctx.chain.send_eth(to, e, me))
        if f:
            _done(f"sent {format_amount(f)} to {to}", ctx.need_protocol().transfer_tokens(me, to, f))


@chain_app.command("new-account")
def new_account(
    keystore: Annotated[Path, typer.Argument(help="Path of the keystore file to create.")],
    password_file: PasswordFileOption = None,
) -> None:
    """Create an account in an encrypted keystore (password from $FRAMEMESH_KEYSTORE_PASSWORD or --password-file)."""
    import os

    from framemesh.chain.keys import create_keystore

    password = os.environ.get("FRAMEMESH_KEYSTORE_PASSWORD")
    if password is None and password_file is not None:
        password = password_file.read_text().splitlines()[0] if password_file.exists() else None
    if not password:
        fail("set FRAMEMESH_KEYSTORE_PASSWORD or pass --password-file to encrypt the keystore")
    with chain_errors():
        signer = create_keystore(keystore, password)
    console.print(f"created {signer.address} in {keystore}", soft_wrap=True)


# -- protocol ----------------------------------------------------------------


def print_status(status: "NetworkStatus") -> None:
    summary = Table(show_header=False, title="protocol", title_justify="left")
    rows = [
        ("round", f"{status.current_round} ({'initialized' if status.round_initialized else 'NOT initialized'}"
                  f"{', locked' if status.round_locked else ''})"),
        ("block", str(status.block)),
        ("inflation per round", _pct(status.inflation, MINTER_DIVISOR)),
        ("bonding rate", _pct(status.bonding_rate, MINTER_DIVISOR) + " (target 50%)"),
        ("total supply", format_amount(status.total_supply)),
        ("total bonded", format_amount(status.total_bonded)),
        ("mintable this round", format_amount(status.current_mintable)),
    ]
    for key, value in rows:
        summary.add_row(key, value)
    console.print(summary)
    table = Table(title="orchestrators (pool, highest stake first)", title_justify="left")
    for col in ("address", "stake", "active", "reward cut", "fee share", "last reward", "service URI"):
        table.add_column(col)
    for o in status.orchestrators:
        table.add_row(
            o.address, format_amount(o.total_stake), "yes" if o.active else "no", _pct(o.reward_cut, PERC_DIVISOR),
            _pct(o.fee_share, PERC_DIVISOR), str(o.last_reward_round), o.service_uri or "-",
        )
    console.print(table)


@protocol_app.command("status")
def protocol_status(rpc: RpcOption = DEFAULT_RPC, deployment: DeploymentOption = DEFAULT_DEPLOYMENT) -> None:
    """Round, inflation, bonding rate, supply, and the orchestrators with their stake and terms."""
    ctx = connect(rpc, deployment=deployment)
    with chain_errors():
        print_status(ctx.need_protocol().status())


# -- round -------------------------------------------------------------------


@round_app.command("init")
def round_init(
    rpc: RpcOption = DEFAULT_RPC, deployment: DeploymentOption = DEFAULT_DEPLOYMENT,
    keystore: KeystoreOption = None, password_file: PasswordFileOption = None, dev_account: DevAccountOption = None,
) -> None:
    """Initialize the current round (anyone may, once per round)."""
    ctx = connect(rpc, deployment=deployment, keystore=keystore, password_file=password_file, dev_account=dev_account)
    proto = ctx.need_protocol()
    with chain_errors():
        if proto.round_initialized():
            console.print(f"round {proto.current_round()} is already initialized")
            return
        _done(f"initialized round {proto.current_round()}", proto.initialize_round(ctx.need_signer()))


# -- stake -------------------------------------------------------------------


def _acting(rpc: str, deployment: Path, keystore: Path | None, password_file: Path | None, dev_account: int | None):  # type: ignore[no-untyped-def]
    ctx = connect(rpc, deployment=deployment, keystore=keystore, password_file=password_file, dev_account=dev_account)
    return ctx.need_protocol(), ctx.need_signer()


@stake_app.command("bond")
def stake_bond(
    amount_: Annotated[str, typer.Argument(metavar="AMOUNT", help="e.g. '100 FMT'.")],
    to: Annotated[str, typer.Option(help="The orchestrator to bond to (your own address to self-bond).")],
    rpc: RpcOption = DEFAULT_RPC, deployment: DeploymentOption = DEFAULT_DEPLOYMENT,
    keystore: KeystoreOption = None, password_file: PasswordFileOption = None, dev_account: DevAccountOption = None,
) -> None:
    """Bond stake to an orchestrator (or move your delegation to another one)."""
    proto, me = _acting(rpc, deployment, keystore, password_file, dev_account)
    wei = amount(amount_, "FMT")
    with chain_errors():
        if proto.token_balance(me.address) < wei:
            fail(f"insufficient balance: {me.address} holds {format_amount(proto.token_balance(me.address))}")
        _done(f"bonded {format_amount(wei)} to {to}", proto.bond(me, wei, to))


@stake_app.command("unbond")
def stake_unbond(
    amount_: Annotated[str, typer.Argument(metavar="AMOUNT")],
    rpc: RpcOption = DEFAULT_RPC, deployment: DeploymentOption = DEFAULT_DEPLOYMENT,
    keystore: KeystoreOption = None, password_file: PasswordFileOption = None, dev_account: DevAccountOption = None,
) -> None:
    """Unbond stake: it becomes an unbonding lock, withdrawable after the unbonding period."""
    proto, me = _acting(rpc, deployment, keystore, password_file, dev_account)
    with chain_errors():
        receipt = proto.unbond(me, amount(amount_, "FMT"))
        events = receipt.events(proto.bonding.events.Unbond)
        lock = events[0]["args"] if events else {}
        _done(f"unbonding lock {lock.get('unbondingLockId', '?')}, withdrawable from round {lock.get('withdrawRound', '?')}", receipt)


@stake_app.command("rebond")
def stake_rebond(
    lock_id: Annotated[int, typer.Argument(min=0)],
    rpc: RpcOption = DEFAULT_RPC, deployment: DeploymentOption = DEFAULT_DEPLOYMENT,
    keystore: KeystoreOption = None, password_file: PasswordFileOption = None, dev_account: DevAccountOption = None,
) -> None:
    """Undo an unbonding lock: its stake is bonded again."""
    proto, me = _acting(rpc, deployment, keystore, password_file, dev_account)
    with chain_errors():
        _done(f"rebonded lock {lock_id}", proto.rebond(me, lock_id))


@stake_app.command("withdraw")
def stake_withdraw(
    lock_id: Annotated[int, typer.Argument(min=0)],
    rpc: RpcOption = DEFAULT_RPC, deployment: DeploymentOption = DEFAULT_DEPLOYMENT,
    keystore: KeystoreOption = None, password_file: PasswordFileOption = None, dev_account: DevAccountOption = None,
) -> None:
    """Withdraw an unbonding lock's tokens once its unbonding period is over."""
    proto, me = _acting(rpc, deployment, keystore, password_file, dev_account)
    with chain_errors():
        _done(f"withdrew lock {lock_id}", proto.withdraw_stake(me, lock_id))


@stake_app.command("claim")
def stake_claim(
    end_round: Annotated[int | None, typer.Option(help="Claim up to this round (default: the current one).")] = None,
    rpc: RpcOption = DEFAULT_RPC, deployment: DeploymentOption = DEFAULT_DEPLOYMENT,
    keystore: KeystoreOption = None, password_file: PasswordFileOption = None, dev_account: DevAccountOption = None,
) -> None:
    """Claim rewards and fees into your bonded stake and fee balance."""
    proto, me = _acting(rpc, deployment, keystore, password_file, dev_account)
    with chain_errors():
        _done("claimed earnings", proto.claim_earnings(me, end_round))
        console.print(f"stake {format_amount(proto.pending_stake(me.address))}, fees {format_amount(proto.pending_fees(me.address), 'ETH')}")


# -- orchestrator registration ---------------------------------------------


def orchestrator_register(
    reward_cut: Annotated[str, typer.Option(help="Share of rewards kept, e.g. 10%.")],
    fee_share: Annotated[str, typer.Option(help="Share of fees passed to delegators, e.g. 50%.")],
    service_uri: Annotated[str, typer.Option(help="The URL gateways reach this orchestrator at.")],
    stake: Annotated[str, typer.Option(help="Self-bond to add first, e.g. '1000 FMT' (0 if already bonded).")] = "0",
    rpc: RpcOption = DEFAULT_RPC, deployment: DeploymentOption = DEFAULT_DEPLOYMENT,
    keystore: KeystoreOption = None, password_file: PasswordFileOption = None, dev_account: DevAccountOption = None,
) -> None:
    """Register as an orchestrator: self-bond, set reward cut and fee share, publish the service URI."""
    if not service_uri.startswith(("http://", "https://")):
        fail(f"--service-uri {service_uri!r} is not an http(s) URL", 2)
    cut, share, wei = percent(reward_cut), percent(fee_share), amount(stake, "FMT")
    proto, me = _acting(rpc, deployment, keystore, password_file, dev_account)
    with chain_errors():
        proto.become_orchestrator(me, stake=wei, reward_cut=cut, fee_share=share, service_uri=service_uri)
        console.print(
            f"{me.address} registered: reward cut {_pct(cut, PERC_DIVISOR)}, fee share {_pct(share, PERC_DIVISOR)}, "
            f"stake {format_amount(proto.total_stake(me.address))}, active from round {proto.current_round() + 1}",
            soft_wrap=True,
        )


# -- deposit -----------------------------------------------------------------


@deposit_app.command("fund")
def deposit_fund(
    deposit: Annotated[str, typer.Option(help="Deposit to add, e.g. '1 ETH'.")] = "0",
    reserve: Annotated[str, typer.Option(help="Reserve to add, e.g. '0.5 ETH'.")] = "0",
    rpc: RpcOption = DEFAULT_RPC, deployment: DeploymentOption = DEFAULT_DEPLOYMENT,
    keystore: KeystoreOption = None, password_file: PasswordFileOption = None, dev_account: DevAccountOption = None,
) -> None:
    """Fund the gateway's deposit (pays winning tickets) and reserve (guarantees them)."""
    d, r = amount(deposit, "ETH"), amount(reserve, "ETH")
    if d == 0 and r == 0:
        fail("nothing to fund: pass --deposit and/or --reserve", 2)
    proto, me = _acting(rpc, deployment, keystore, password_file, dev_account)
    with chain_errors():
        if proto.chain.balance(me) < d + r:
            fail(f"insufficient balance: {me.address} holds {format_amount(proto.chain.balance(me), 'ETH')}")
        _done(f"funded deposit {format_amount(d, 'ETH')} and reserve {format_amount(r, 'ETH')}", proto.fund_deposit_and_reserve(me, d, r))
        info = proto.sender_info(me.address)
        console.print(f"deposit {format_amount(info.deposit, 'ETH')}, reserve {format_amount(info.reserve, 'ETH')}")


@deposit_app.command("unlock")
def deposit_unlock(
    rpc: RpcOption = DEFAULT_RPC, deployment: DeploymentOption = DEFAULT_DEPLOYMENT,
    keystore: KeystoreOption = None, password_file: PasswordFileOption = None, dev_account: DevAccountOption = None,
) -> None:
    """Start the unlock period after which the deposit and reserve can be withdrawn."""
    proto, me = _acting(rpc, deployment, keystore, password_file, dev_account)
    with chain_errors():
        _done("unlock started", proto.unlock(me))
        console.print(f"withdrawable from round {proto.sender_info(me.address).withdraw_round}")


@deposit_app.command("withdraw")
def deposit_withdraw(
    rpc: RpcOption = DEFAULT_RPC, deployment: DeploymentOption = DEFAULT_DEPLOYMENT,
    keystore: KeystoreOption = None, password_file: PasswordFileOption = None, dev_account: DevAccountOption = None,
) -> None:
    """Withdraw the deposit and reserve once the unlock period is over."""
    proto, me = _acting(rpc, deployment, keystore, password_file, dev_account)
    with chain_errors():
        _done("withdrew deposit and reserve", proto.withdraw_deposit(me))
