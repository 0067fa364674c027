"""What every on-chain CLI command needs: which chain, which deployment, which account.

Built once per command from its options; every chain error becomes one line.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Iterator

import typer

from framemesh.chain.errors import ChainError, ChainUnavailable, ContractRevert, DeploymentError, KeystoreError
from framemesh.chain.units import parse_amount
from framemesh.cli.output import fail

if TYPE_CHECKING:  # imported when a command runs: web3 and vyper are slow to import
    from framemesh.chain.backend import Chain
    from framemesh.chain.keys import Signer
    from framemesh.protocol.network import Protocol

DEFAULT_RPC = "http://127.0.0.1:8545"
DEFAULT_DEPLOYMENT = Path("framemesh-data/deployment.json")

RpcOption = Annotated[str, typer.Option("--rpc", envvar="FRAMEMESH_RPC", help="JSON-RPC URL of the chain (anvil, or a public chain).")]
DeploymentOption = Annotated[Path, typer.Option("--deployment", envvar="FRAMEMESH_DEPLOYMENT", help="The deployment file `chain deploy` wrote.")]
KeystoreOption = Annotated[Path | None, typer.Option("--keystore", envvar="FRAMEMESH_KEYSTORE", help="Encrypted keystore of the account to act as (password: $FRAMEMESH_KEYSTORE_PASSWORD or --password-file).")]
PasswordFileOption = Annotated[Path | None, typer.Option("--password-file", help="File whose first line is the keystore password.")]
DevAccountOption = Annotated[int | None, typer.Option("--dev-account", min=0, help="Act as the node's unlocked dev account N (dev chains only).")]

# What a revert reason means for someone at a terminal, where the reason alone is terse.
HINTS = {
    "round is locked": "terms can't change in the last part of a round; wait for the next round",
    "current round is not initialized": "run `framemesh round init` first",
    "transcoder must be registered": "bond to yourself first (`framemesh orchestrator register --stake ...`)",
    "caller must be bonded": "stake counts from the round after it was bonded; try again next round",
}


@dataclass(frozen=True)
class ChainContext:
    chain: "Chain"
    protocol: "Protocol | None"
    signer: "Signer | None"

    def need_protocol(self) -> "Protocol":
        if self.protocol is None:
            fail("no deployment: run `framemesh chain deploy` first or pass --deployment")
        return self.protocol

    def need_signer(self) -> "Signer":
        if self.signer is None:
            fail("this command sends a transaction: pass --keystore FILE (or --dev-account N on a dev chain)")
        return self.signer


def connect(
    rpc: str,
    *,
    deployment: Path | None = None,
    keystore: Path | None = None,
    password_file: Path | None = None,
    dev_account: int | None = None,
) -> ChainContext:
    from framemesh.chain.backend import Chain
    from framemesh.chain.keys import load_keystore
    from framemesh.protocol.network import Protocol

    with chain_errors():
        chain = Chain.connect(rpc)
        protocol = Protocol.load(chain, deployment) if deployment is not None and deployment.exists() else None
        signer: "Signer | None" = None
        if keystore is not None:
            signer = load_keystore(keystore, password_file=password_file)
        elif dev_account is not None:
            accounts = chain.accounts
            if dev_account >= len(accounts):
                fail(f"--dev-account {dev_account}: the node has {len(accounts)} dev accounts")
            signer = accounts[dev_account]
    return ChainContext(chain, protocol, signer)


@contextmanager
def chain_errors() -> Iterator[None]:
    """Chain failures as one clear line and a non-zero exit."""
    try:
        yield
    except ContractRevert as exc:
        hint = HINTS.get(exc.reason)
        fail(f"the chain refused: {exc.reason}" + (f" ({hint})" if hint else ""))
    except ChainUnavailable as exc:
        fail(f"{exc} (start a node, e.g. `framemesh chain serve` or `scripts/install-anvil && node_modules/.bin/anvil`, or pass --rpc)")
    except (KeystoreError, DeploymentError) as exc:
        fail(str(exc))
    except ChainError as exc:
        fail(f"chain error: {exc}")


def amount(text: str, unit: str) -> int:
    try:
        return parse_amount(text, unit=unit)
    except ValueError as exc:
        fail(str(exc), 2)


def percent(text: str) -> int:
    """'10%' or '10' -> 100_000 (Livepeer's percentages are over 1e6)."""
    raw = text.strip().removesuffix("%")
    try:
        value = float(raw)
    except ValueError:
        fail(f"{text!r} is not a percentage (write e.g. 10% or 12.5)", 2)
    if not 0 <= value <= 100:
        fail(f"{text!r} is not between 0% and 100%", 2)
    return round(value * 10_000)
