"""The devnet's own chores: initializing the round the next transaction will run in."""

from __future__ import annotations

import time
from pathlib import Path

from framemesh.devnet import Devnet, DevnetConfig


def test_on_a_rounds_last_block_the_next_round_is_initialized(tmp_path: Path) -> None:
    with Devnet(DevnetConfig(root=tmp_path, orchestrators=1, delegation=0)) as net:
        proto, chain = net.protocol, net.chain
        chain.mine(proto.current_round_start_block() + proto.round_length() - 1 - chain.block_number)
        last = proto.current_round()
        # Calls see this round, initialized; a transaction would run in the next one, which is not.
        assert proto.round_initialized()

        net.initialize_round()

        assert proto.current_round() == last + 1 and proto.round_initialized()
        block = chain.block_number
        net.initialize_round()  # mid-round, already initialized: nothing to send
        assert chain.block_number == block


def test_an_orchestrators_duties_initialize_the_round_its_next_transaction_runs_in(tmp_path: Path) -> None:
    """The orchestrators' own duty loops: nothing else sends a transaction here, and this
    chain mines only for one, so the round moves on only if a duty loop sees that the
    next block starts a new round."""
    with Devnet(DevnetConfig(root=tmp_path, orchestrators=1, delegation=0)) as net:
        proto, chain = net.protocol, net.chain
        chain.mine(proto.current_round_start_block() + proto.round_length() - 1 - chain.block_number)
        last = proto.current_round()
        assert proto.round_initialized() and proto.round_needs_initializing()
        deadline = time.monotonic() + 30
        while proto.current_round() == last and time.monotonic() < deadline:
            time.sleep(0.1)
        assert proto.current_round() == last + 1 and proto.round_initialized()
        assert not proto.round_needs_initializing()
