"""Errors raised by `framemesh.chain`.

Everything the chain part raises derives from one root, so a caller can catch the
whole part with one clause and the CLI can map it to one line and an exit code::

    ChainError                    anything that went wrong reaching or using a chain
    ├── ContractRevert            a contract refused a call/transaction (carries .reason)
    ├── ChainUnavailable          the JSON-RPC endpoint did not answer (carries .url)
    ├── AnvilNotFound             no anvil binary to start a local dev chain with
    ├── DevChainOnly              a dev-chain feature (mine, snapshot, dev accounts)
    │                             was used on a chain that is not a dev chain
    ├── KeystoreError             a keystore file is missing, malformed or the password
    │                             is wrong; never contains key material
    ├── CompileError              the Vyper compiler rejected a source
    └── DeploymentError           a deployment could not be made, written, read or
                                  does not match the contracts we have

`ContractRevert` is "the chain said no" (the peer's answer); the others are "we could
not ask" or "we asked wrongly".  Reverts are translated from both backends'
exceptions (eth-tester's `TransactionFailed`, web3's `ContractLogicError`) in exactly
one place: `framemesh.chain.backend`.
"""

from __future__ import annotations


class ChainError(Exception):
    """Root of every error raised by `framemesh.chain`."""


class ContractRevert(ChainError):
    """A contract call or transaction reverted.

    `reason` is the revert string (``assert x, "reason"`` in Vyper), or ``""`` when the
    contract reverted without one.  `data` is the raw revert data when the backend
    gave it; `tx_hash` is set when the revert happened in a mined transaction.
    """

    def __init__(self, reason: str, *, data: bytes | None = None, tx_hash: str | None = None) -> None:
        self.reason = reason
        self.data = data
        self.tx_hash = tx_hash
        text = f"contract reverted: {reason}" if reason else "contract reverted without a reason"
        if tx_hash:
            text += f" (transaction {tx_hash})"
        super().__init__(text)


class ChainUnavailable(ChainError):
    """The JSON-RPC endpoint at `url` could not be reached or did not answer."""

    def __init__(self, url: str, detail: str = "") -> None:
        self.url = url
        text = (
            f"chain RPC endpoint {url} is not reachable"
            + (f" ({detail})" if detail else "")
            + ": check that the node is running and the URL is right"
            " (for a local dev chain run `scripts/install-anvil` and start anvil,"
            " or use the embedded chain)"
        )
        super().__init__(text)


class AnvilNotFound(ChainError):
    """No anvil binary could be found."""

    def __init__(self) -> None:
        super().__init__(
            "no anvil binary: run scripts/install-anvil, set $FRAMEMESH_ANVIL to an anvil binary,"
            " or put anvil on PATH (or use the embedded chain, which needs nothing)"
        )


class DevChainOnly(ChainError):
    """A dev-chain-only feature was used on a chain that is not a dev chain."""

    def __init__(self, what: str, chain_id: int) -> None:
        self.what = what
        self.chain_id = chain_id
        super().__init__(
            f"{what} is only available on a dev chain (embedded, or chain id 31337/1337); this chain has id {chain_id}"
        )


class KeystoreError(ChainError):
    """A keystore could not be created or opened.  Never carries key material."""


class CompileError(ChainError):
    """The Vyper compiler rejected a source file."""


class DeploymentError(ChainError):
    """A deployment could not be made, saved, loaded or matched to our contracts."""
