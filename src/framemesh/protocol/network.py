"""The protocol's Python face: the deployed contracts behind typed methods.

Nodes, the CLI and the demo talk to staking, rounds, the Minter, the TicketBroker and
the ServiceRegistry through `Protocol`, never through raw contract calls, so the
contract names and argument orders live in one file. Calls are synchronous (the
chain interface is); async callers use `asyncio.to_thread`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from framemesh.chain.backend import Chain, Receipt
from framemesh.chain.compile import Artifact, compile_source
from framemesh.chain.deployment import Deployment
from framemesh.chain.keys import Signer
from framemesh.chain.protocol_deployment import CONTRACTS_DIR, PROTOCOL_CONTRACTS, ProtocolParams, deploy_protocol
from framemesh.payments.ticket import Ticket

ZERO_ADDRESS = "0x" + "00" * 20
PERC_DIVISOR = 10**6
MINTER_DIVISOR = 10**9


@lru_cache(maxsize=1)
def protocol_artifacts() -> dict[str, Artifact]:
    return {name: compile_source(Path(CONTRACTS_DIR) / f"{name}.vy") for name in PROTOCOL_CONTRACTS}


@dataclass(frozen=True)
class SenderInfo:
    deposit: int
    withdraw_round: int
    reserve: int
    reserve_claimed_in_current_round: int


@dataclass(frozen=True)
class OrchestratorStatus:
    address: str
    total_stake: int
    active: bool
    reward_cut: int  # over 1e6
    fee_share: int  # over 1e6
    last_reward_round: int
    service_uri: str


@dataclass(frozen=True)
class NetworkStatus:
    current_round: int
    round_initialized: bool
    round_locked: bool
    block: int
    inflation: int  # over 1e9
    bonding_rate: int  # over 1e9
    total_supply: int
    total_bonded: int
    current_mintable: int
    orchestrators: tuple[OrchestratorStatus, ...]


class Protocol:
    def __init__(self, chain: Chain, contracts: dict[str, Any], deployment: Deployment) -> None:
        self.chain = chain
        self.deployment = deployment
        self.token = contracts["Token"]
        self.rounds = contracts["RoundsManager"]
        self.bonding = contracts["BondingManager"]
        self.minter = contracts["Minter"]
        self.broker = contracts["TicketBroker"]
        self.registry = contracts["ServiceRegistry"]

    # -- making one -------------------------------------------------------------

    @classmethod
    def deploy(cls, chain: Chain, params: ProtocolParams | None = None, *, sender: Signer | None = None) -> "Protocol":
        deployment = deploy_protocol(chain, params or ProtocolParams(), sender=sender)
        return cls.attach(chain, deployment)

    @classmethod
    def attach(cls, chain: Chain, deployment: Deployment) -> "Protocol":
        return cls(chain, deployment.attach(chain, protocol_artifacts()), deployment)

    @classmethod
    def load(cls, chain: Chain, path: Path) -> "Protocol":
        return cls.attach(chain, Deployment.load(path))

    @property
    def block_number(self) -> int:
        return self.chain.block_number

    def _tx(self, fn: Any, sender: Signer, value: int = 0) -> Receipt:
        return self.chain.transact(fn, sender, value=value)

    def _call(self, fn: Any) -> Any:
        return self.chain.call(fn)

    # -- token ------------------------------------------------------------------

    def token_balance(self, who: str) -> int:
        return int(self._call(self.token.functions.balanceOf(who)))

    def total_supply(self) -> int:
        return int(self._call(self.token.functions.totalSupply()))

    def transfer_tokens(self, sender: Signer, to: str, amount: int) -> Receipt:
        return self._tx(self.token.functions.transfer(to, amount), sender)

    def approve_bonding(self, sender: Signer, amount: int) -> Receipt:
        return self._tx(self.token.functions.approve(self.bonding.address, amount), sender)

    # -- rounds -----------------------------------------------------------------

    def current_round(self) -> int:
        return int(self._call(self.rounds.functions.currentRound()))

    def round_initialized(self) -> bool:
        return bool(self._call(self.rounds.functions.currentRoundInitialized()))

    def round_needs_initializing(self) -> bool:
        """True when the round the next transaction runs in is not initialized yet.

        Calls read the latest block; a transaction runs in the next one. On the last
        block of a round every call still sees the round initialized while every
        transaction (a ticket's redemption, reward()) runs in the next, uninitialized
        round and reverts. So the next block's round is the one that counts.
        """
        if not self.round_initialized():
            return True
        return self.block_number + 1 >= self.current_round_start_block() + self.round_length()

    def round_locked(self) -> bool:
        return bool(self._call(self.rounds.functions.currentRoundLocked()))

    def round_length(self) -> int:
        return int(self._call(self.rounds.functions.roundLength()))

    def current_round_start_block(self) -> int:
        return int(self._call(self.rounds.functions.currentRoundStartBlock()))

    def block_hash_for_round(self, round_: int) -> bytes:
        return bytes(self._call(self.rounds.functions.blockHashForRound(round_)))

    def initialize_round(self, sender: Signer) -> Receipt:
        return self._tx(self.rounds.functions.initializeRound(), sender)

    def advance_rounds(self, sender: Signer, rounds: int = 1) -> int:
        """Dev chains: mine to the start of a later round and initialise it."""
        for _ in range(rounds):
            start = self.current_round_start_block()
            self.chain.mine(max(1, start + self.round_length() - self.chain.block_number))
            self.initialize_round(sender)
        return self.current_round()

    # -- bonding ----------------------------------------------------------------

    def register(self, sender: Signer, reward_cut: int, fee_share: int) -> Receipt:
        """`transcoder(rewardCut, feeShare)`: become (or change terms as) an orchestrator; both over 1e6."""
        return self._tx(self.bonding.functions.transcoder(reward_cut, fee_share), sender)

    def become_orchestrator(
        self, sender: Signer, *, stake: int, reward_cut: int, fee_share: int, service_uri: str
    ) -> bool:
        """Make `sender` a registered orchestrator with these terms and URI; idempotent.

        A new orchestrator self-bonds `stake` first (Livepeer's order: a transcoder
        must be bonded to itself before it sets its terms). One already registered
        (a node restarting) bonds nothing more, and sets its terms only if they
        changed, since an active orchestrator may change them only after its
        `reward()` of the round. Returns True if anything was sent.
        """
        changed = False
        if not self.is_registered(sender.address):
            if stake:
                self.bond(sender, stake, sender.address)
            self.register(sender, reward_cut, fee_share)
            changed = True
        else:
            cut, share, _ = self.terms(sender.address)
            if (cut, share) != (reward_cut, fee_share):
                self.register(sender, reward_cut, fee_share)
                changed = True
        if self.service_uri(sender.address) != service_uri:
            self.set_service_uri(sender, service_uri)
            changed = True
        return changed

    def bond(self, sender: Signer, amount: int, to: str) -> Receipt:
        """Approve and bond `amount` to `to` (self-bond when `to` is the sender)."""
        if amount:
            self.approve_bonding(sender, amount)
        return self._tx(self.bonding.functions.bond(amount, to), sender)

    def unbond(self, sender: Signer, amount: int) -> Receipt:
        return self._tx(self.bonding.functions.unbond(amount), sender)

    def rebond(self, sender: Signer, lock_id: int) -> Receipt:
        return self._tx(self.bonding.functions.rebond(lock_id), sender)

    def withdraw_stake(self, sender: Signer, lock_id: int) -> Receipt:
        return self._tx(self.bonding.functions.withdrawStake(lock_id), sender)

    def reward(self, sender: Signer) -> Receipt:
        return self._tx(self.bonding.functions.reward(), sender)

    def claim_earnings(self, sender: Signer, end_round: int | None = None) -> Receipt:
        return self._tx(self.bonding.functions.claimEarnings(end_round or self.current_round()), sender)

    def withdraw_fees(self, sender: Signer, recipient: str, amount: int) -> Receipt:
        return self._tx(self.bonding.functions.withdrawFees(recipient, amount), sender)

    def pending_stake(self, who: str, end_round: int | None = None) -> int:
        return int(self._call(self.bonding.functions.pendingStake(who, end_round or self.current_round())))

    def pending_fees(self, who: str, end_round: int | None = None) -> int:
        return int(self._call(self.bonding.functions.pendingFees(who, end_round or self.current_round())))

    def total_stake(self, orchestrator: str) -> int:
        return int(self._call(self.bonding.functions.transcoderTotalStake(orchestrator)))

    def is_active(self, orchestrator: str) -> bool:
        return bool(self._call(self.bonding.functions.isActiveTranscoder(orchestrator)))

    def is_registered(self, orchestrator: str) -> bool:
        return bool(self._call(self.bonding.functions.isRegisteredTranscoder(orchestrator)))

    def total_bonded(self) -> int:
        return int(self._call(self.bonding.functions.getTotalBonded()))

    def terms(self, orchestrator: str) -> tuple[int, int, int]:
        """(reward cut, fee share, last reward round) of an orchestrator."""
        t = self._call(self.bonding.functions.getTranscoder(orchestrator))
        return int(t[1]), int(t[2]), int(t[0])

    def delegator(self, who: str) -> tuple[Any, ...]:
        return tuple(self._call(self.bonding.functions.getDelegator(who)))

    def pool(self) -> list[str]:
        """The orchestrator pool (candidates for the active set), highest stake first."""
        out: list[str] = []
        addr = self._call(self.bonding.functions.getFirstTranscoderInPool())
        while addr != ZERO_ADDRESS and len(out) < 10_000:
            out.append(addr)
            addr = self._call(self.bonding.functions.getNextTranscoderInPool(addr))
        return out

    def active_set(self) -> list[str]:
        return [a for a in self.pool() if self.is_active(a)]

    # -- minter -----------------------------------------------------------------

    def inflation(self) -> int:
        return int(self._call(self.minter.functions.inflation()))

    def bonding_rate(self) -> int:
        return int(self._call(self.minter.functions.currentBondingRate()))

    def current_mintable(self) -> int:
        return int(self._call(self.minter.functions.currentMintableTokens()))

    # -- ticket broker ----------------------------------------------------------

    def fund_deposit_and_reserve(self, sender: Signer, deposit: int, reserve: int) -> Receipt:
        return self._tx(self.broker.functions.fundDepositAndReserve(deposit, reserve), sender, value=deposit + reserve)

    def fund_deposit(self, sender: Signer, amount: int) -> Receipt:
        return self._tx(self.broker.functions.fundDeposit(), sender, value=amount)

    def fund_reserve(self, sender: Signer, amount: int) -> Receipt:
        return self._tx(self.broker.functions.fundReserve(), sender, value=amount)

    def unlock(self, sender: Signer) -> Receipt:
        return self._tx(self.broker.functions.unlock(), sender)

    def cancel_unlock(self, sender: Signer) -> Receipt:
        return self._tx(self.broker.functions.cancelUnlock(), sender)

    def withdraw_deposit(self, sender: Signer) -> Receipt:
        return self._tx(self.broker.functions.withdraw(), sender)

    def sender_info(self, sender: str) -> SenderInfo:
        d, w, r, c = self._call(self.broker.functions.getSenderInfo(sender))
        return SenderInfo(int(d), int(w), int(r), int(c))

    def claimable_reserve(self, holder: str, claimant: str) -> int:
        return int(self._call(self.broker.functions.claimableReserve(holder, claimant)))

    def is_unlocking(self, sender: str) -> bool:
        return bool(self._call(self.broker.functions.isUnlockInProgress(sender)))

    def redeem_winning_ticket(self, sender: Signer, ticket: Ticket, signature: bytes, recipient_rand: int) -> Receipt:
        return self._tx(self.broker.functions.redeemWinningTicket(_ticket_tuple(ticket), signature, recipient_rand), sender)

    def is_ticket_used(self, ticket_hash: bytes) -> bool:
        return bool(self._call(self.broker.functions.usedTickets(ticket_hash)))

    # -- service registry -------------------------------------------------------

    def set_service_uri(self, sender: Signer, uri: str) -> Receipt:
        return self._tx(self.registry.functions.setServiceURI(uri), sender)

    def service_uri(self, who: str) -> str:
        return str(self._call(self.registry.functions.getServiceURI(who)))

    # -- summary ----------------------------------------------------------------

    def status(self) -> NetworkStatus:
        orchestrators = []
        for addr in self.pool():
            cut, share, last = self.terms(addr)
            orchestrators.append(
                OrchestratorStatus(addr, self.total_stake(addr), self.is_active(addr), cut, share, last, self.service_uri(addr))
            )
        return NetworkStatus(
            current_round=self.current_round(),
            round_initialized=self.round_initialized(),
            round_locked=self.round_locked(),
            block=self.chain.block_number,
            inflation=self.inflation(),
            bonding_rate=self.bonding_rate(),
            total_supply=self.total_supply(),
            total_bonded=self.total_bonded(),
            current_mintable=self.current_mintable(),
            orchestrators=tuple(orchestrators),
        )


def _ticket_tuple(ticket: Ticket) -> tuple[Any, ...]:
    return (
        ticket.recipient,
        ticket.sender,
        ticket.face_value,
        ticket.win_prob,
        ticket.sender_nonce,
        ticket.recipient_rand_hash,
        ticket.aux_data,
    )
