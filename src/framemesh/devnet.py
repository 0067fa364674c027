"""A whole local network in one process: a chain with the protocol deployed, staked
orchestrators, a delegator, a funded gateway, all on loopback.

Used by `framemesh demo`, the end-to-end tests and the benchmarks. The chain is the
embedded py-evm by default; `rpc` points it at a dev node such as anvil instead.
Rounds are short and advanced by mining blocks, so a demo sees several of them.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Self

from framemesh.chain.backend import Chain
from framemesh.chain.errors import ChainError
from framemesh.chain.keys import Signer
from framemesh.chain.protocol_deployment import ProtocolParams
from framemesh.gateway.app import create_app as create_gateway
from framemesh.gateway.config import GatewayConfig
from framemesh.net.server import ServerThread
from framemesh.orchestrator.app import create_app as create_orchestrator
from framemesh.orchestrator.config import OrchestratorConfig
from framemesh.protocol.network import Protocol

log = logging.getLogger("framemesh.devnet")

FMT = ETH = 10**18


@dataclass(frozen=True)
class DevnetConfig:
    root: Path
    orchestrators: int = 2
    capacity: int = 1
    round_length: int = 40
    price_per_pixel: int = 1000
    # A few tickets per segment, half of them winning: a short demo shows them all.
    ticket_face_value: int = 10**10
    ticket_win_prob: Fraction = Fraction(1, 2)
    stakes: tuple[int, ...] = (3000 * FMT, 2000 * FMT)
    reward_cuts: tuple[int, ...] = (100_000, 200_000)  # over 1e6
    fee_shares: tuple[int, ...] = (500_000, 250_000)  # over 1e6
    delegation: int = 1000 * FMT  # the delegator bonds this to the first orchestrator
    deposit: int = 5 * ETH
    reserve: int = 1 * ETH
    rpc: str | None = None
    encoder_preset: str = "veryfast"
    ai_config: Path | None = None  # a models.toml every orchestrator serves AI pipelines from
    rtmp_port: int | None = None  # the gateway listens for live streams over RTMP here (0: any free port)
    # The gateway's access: open to any caller (tests), or API keys only, made with
    # `admin_token` on its admin API (the demo does that, and uses its key).
    open_gateway: bool = True
    admin_token: str | None = None
    live_idle_timeout: float = 30.0


@dataclass
class Node:
    name: str
    signer: Signer
    server: ServerThread

    @property
    def url(self) -> str:
        return self.server.url


@dataclass
class Devnet:
    config: DevnetConfig
    chain: Chain = field(init=False)
    protocol: Protocol = field(init=False)
    deployer: Signer = field(init=False)
    orchestrators: list[Node] = field(default_factory=list)
    delegator: Signer = field(init=False)
    gateway_signer: Signer = field(init=False)
    gateway: ServerThread = field(init=False)
    supply_at_start: int = 0

    def start(self) -> Self:
        cfg = self.config
        self.chain = Chain.embedded() if cfg.rpc is None else Chain.connect(cfg.rpc)
        self.deployer = self.chain.accounts[0]
        self.protocol = Protocol.deploy(self.chain, ProtocolParams(round_length=cfg.round_length), sender=self.deployer)
        if not self.protocol.round_initialized():
            self.protocol.initialize_round(self.deployer)
        # Local keys, as real nodes have (dev accounts are signed by the node; tickets can't be).
        self.delegator = Signer.from_key(_key(100))
        self.gateway_signer = Signer.from_key(_key(101))
        signers = [Signer.from_key(_key(i + 1)) for i in range(cfg.orchestrators)]
        for who in [*signers, self.delegator, self.gateway_signer]:
            self.chain.send_eth(who.address, 20 * ETH, self.deployer)
        for i, who in enumerate(signers):
            self.protocol.transfer_tokens(self.deployer, who.address, cfg.stakes[i % len(cfg.stakes)])
        self.protocol.transfer_tokens(self.deployer, self.delegator.address, cfg.delegation)
        for i, who in enumerate(signers):
            name = f"orchestrator-{i + 1}"
            config = OrchestratorConfig(
                data_dir=cfg.root / name, name=name, capacity=cfg.capacity, price_per_pixel=cfg.price_per_pixel,
                ticket_face_value=cfg.ticket_face_value, ticket_win_prob=cfg.ticket_win_prob,
                duties_interval=0.5, redeem_interval=0.5, encoder_preset=cfg.encoder_preset,
                dev_keys_dir=self.keys_dir, ai_config=cfg.ai_config,
            )
            app = create_orchestrator(config, protocol=self.protocol, signer=who)
            server = ServerThread(app).start(timeout=20.0 if cfg.ai_config is None else 600.0)  # models load first
            self.orchestrators.append(Node(name, who, server))
            self.protocol.become_orchestrator(
                who, stake=cfg.stakes[i % len(cfg.stakes)], reward_cut=cfg.reward_cuts[i % len(cfg.reward_cuts)],
                fee_share=cfg.fee_shares[i % len(cfg.fee_shares)], service_uri=server.url,
            )
        if self.orchestrators and cfg.delegation:
            self.protocol.bond(self.delegator, cfg.delegation, self.orchestrators[0].signer.address)
        self.protocol.fund_deposit_and_reserve(self.gateway_signer, cfg.deposit, cfg.reserve)
        self.advance_rounds(1)  # registrations and bonds count from the next round
        self.supply_at_start = self.protocol.total_supply()
        gateway_config = GatewayConfig(
            data_dir=cfg.root / "gateway", discovery_interval=2.0, info_refresh_seconds=2.0,
            trust_anchors=(self.keys_dir / "ca.pem",), rtmp_port=cfg.rtmp_port, live_idle_timeout=cfg.live_idle_timeout,
            open=cfg.open_gateway, admin_token=cfg.admin_token,
        )
        self.gateway = ServerThread(
            create_gateway(gateway_config, protocol=self.protocol, signer=self.gateway_signer)
        ).start()
        return self

    @property
    def keys_dir(self) -> Path:
        """The devnet's C2PA dev CA and the orchestrators' signing identities."""
        return self.config.root / "keys"

    def advance_rounds(self, rounds: int = 1, *, wait_for_rewards: float = 10.0) -> int:
        """Mine into the next round(s); the orchestrators' duty loops initialize and reward."""
        for _ in range(rounds):
            start = self.protocol.current_round_start_block()
            self.chain.mine(max(1, start + self.protocol.round_length() - self.chain.block_number))
            self.initialize_round()
            self._wait_rewards(wait_for_rewards)
        return self.protocol.current_round()

    def initialize_round(self) -> None:
        """Initialize the round the next transaction runs in if no one has (anyone may;
        the orchestrators' duty loops usually get there first). See
        `Protocol.round_needs_initializing`: on this chain a block is mined only for a
        transaction that succeeds, so a round left uninitialized stalls everything."""
        if self.protocol.round_needs_initializing():
            try:
                self.protocol.initialize_round(self.deployer)
            except ChainError as exc:  # an orchestrator's duty loop got there first
                log.debug("round not initialized by the devnet: %s", exc)

    def _wait_rewards(self, timeout: float) -> None:
        current = self.protocol.current_round()
        deadline = time.monotonic() + timeout
        for node in self.orchestrators:
            if not self.protocol.is_active(node.signer.address):
                continue
            while self.protocol.terms(node.signer.address)[2] < current and time.monotonic() < deadline:
                time.sleep(0.1)

    def wait_redeemed(self, timeout: float = 30.0) -> None:
        """Until every orchestrator's winning tickets are redeemed.

        Redeeming needs the round initialized, and the redemptions themselves mine
        blocks into new rounds: when one is left uninitialized, the devnet initializes
        it rather than wait (a winning ticket expires two rounds after it was made).
        """
        deadline = time.monotonic() + timeout
        for node in self.orchestrators:
            billing = node.server.app.state.orchestrator.billing
            while billing.store.pending() and time.monotonic() < deadline:
                self.initialize_round()
                time.sleep(0.1)

    def stop(self) -> None:
        for server in [getattr(self, "gateway", None), *[n.server for n in self.orchestrators]]:
            if server is not None:
                server.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _key(i: int) -> bytes:
    # Deterministic dev keys: the demo's accounts are the same every run (dev chains only).
    return (0xF0000 + i).to_bytes(32, "big")
