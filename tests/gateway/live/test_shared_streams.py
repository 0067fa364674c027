"""A live stream between two gateways on one database: the one taking its media holds
it, and a settings change asked through the other reaches its next segment."""

from __future__ import annotations

import asyncio
from pathlib import Path

from framemesh.gateway.app import Gateway
from framemesh.gateway.config import GatewayConfig

AI = {"pipeline": "live-video-to-video", "model_id": "tiny/live", "params": {"prompt": "a fox", "strength": 0.5}}


def _gateway(root: Path, name: str, database: str) -> Gateway:
    return Gateway(GatewayConfig(data_dir=root / name, name=name, database=database))


def _close(gateway: Gateway) -> None:
    gateway.executor.shutdown(wait=False)
    gateway.database.close()


def test_a_change_asked_through_another_gateway_reaches_the_one_taking_the_media(postgres_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url = postgres_server.fresh_url()
    a, b = _gateway(tmp_path, "a", url), _gateway(tmp_path, "b", url)
    try:
        record = a.live.create("shared", (), False, AI)
        assert a.live._hold(record) is None, "the first to take its media holds it"
        assert b.live._hold(record) == "a", "the other is told who does"
        session = a.live._session(record)

        async def go() -> None:
            change = await b.live.control(record.id, {"prompt": "a whale"}, False)
            assert change.state == "pending" and change.params == {"prompt": "a whale", "strength": 0.5}
            assert b.live.session(record.id) is None, "b keeps no session of a stream it does not take"
            await session.pick_up_controls()
            assert session.params == {"prompt": "a whale", "strength": 0.5} and session.control_n == change.n
            replaced = await b.live.control(record.id, {"prompt": "a cat"}, True)
            await session.pick_up_controls()
            assert session.params == {"prompt": "a cat"} and session.control_n == replaced.n

        asyncio.run(go())
    finally:
        _close(a)
        _close(b)
