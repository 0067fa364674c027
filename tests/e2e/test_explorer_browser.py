"""The explorer in a real browser (Debian's chromium, driven by Playwright), served by a
real gateway at /explorer over a devnet on the embedded chain, after a paid job.

One network, one browser, every page: rows and charts appear, sorting works, a round
advanced on the chain reaches the open page over server-sent events, axe finds no
accessibility violation, and the largest paint comes under a second with no layout shift.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import httpx

from framemesh.devnet import Devnet, DevnetConfig
from framemesh.explorer.service import build_explorer, explorer_app
from framemesh.explorer.sources import HttpGateway
from framemesh.net.server import ServerThread
from framemesh.sdk.client import GatewayClient
from tests.e2e.clips import PROFILES
from tests.e2e.live import browser, status, stream, ts_segments, wait_for

# LCP and CLS of the page just loaded, read by PerformanceObserver (buffered entries):
# read once the page has settled, with the charts drawn.
PAINT = """() => new Promise(resolve => {
  let lcp = null, cls = 0;
  new PerformanceObserver(l => { for (const e of l.getEntries()) lcp = e.startTime; })
    .observe({type: "largest-contentful-paint", buffered: true});
  new PerformanceObserver(l => { for (const e of l.getEntries()) if (!e.hadRecentInput) cls += e.value; })
    .observe({type: "layout-shift", buffered: true});
  setTimeout(() => resolve({lcp: lcp, cls: cls}), 1000);
})"""


def _synced(explorer: str) -> dict[str, Any] | None:
    """The overview's JSON once the index has caught up with the head."""
    body = httpx.get(f"{explorer}/api/overview", timeout=30).json()
    status = body.get("status") or {}
    return body if status.get("blocks_behind") == 0 and status.get("current_round") is not None else None


def _axe(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    result = Axe().run(page)
    return [f"{v['id']}: {[n['html'][:80] for n in v['nodes'][:2]]}" for v in result.response["violations"]]


def test_the_explorer_in_a_browser(tmp_path: Path, clip: Path) -> None:
    shots = Path(os.environ.get("FRAMEMESH_KEEP_SCREENSHOTS_DIR", tmp_path))
    with Devnet(DevnetConfig(root=tmp_path, live_idle_timeout=600)) as net:
        async def job() -> str:
            async with GatewayClient(net.gateway.url) as client:
                submitted = await client.submit(clip, PROFILES)
                return (await client.wait(submitted.id, timeout=180)).state

        assert asyncio.run(job()) == "completed"
        # a live stream, pushed over HTTP: two segments, then it stays live (no media yet for a while)
        cam = stream(net.gateway.url, name="explorer-cam", profiles="240p")
        for n, path in enumerate(ts_segments(clip, tmp_path / "ts")[:2]):
            assert httpx.put(f"{cam['push_url']}/{n}.ts", content=path.read_bytes(), timeout=60).status_code == 201
        wait_for("the pushed segments listed", lambda: status(net.gateway.url, cam["id"])["segments"]["listed"] == 2)
        net.wait_redeemed()
        net.advance_rounds(1)
        explorer = f"{net.gateway.url}/explorer"
        overview = wait_for("the index caught up with the chain", lambda: _synced(explorer), timeout=120)
        addresses = {n.signer.address.lower() for n in net.orchestrators}
        measured: dict[str, dict[str, float]] = {}

        with browser() as b:
            page = b.new_page(viewport={"width": 1366, "height": 900})
            page.goto(f"{explorer}/orchestrators")  # a first load, to warm the server's caches

            def visit(path: str, name: str) -> None:
                page.goto(f"{explorer}{path}")
                page.wait_for_load_state("load")
                measured[name] = page.evaluate(PAINT)
                assert _axe(page) == [], f"{name}: accessibility violations"
                page.screenshot(path=str(shots / f"explorer-{name}.png"), full_page=True)

            # Orchestrators: the seeded rows, ranked by stake; every sortable column sorts.
            visit("/orchestrators", "orchestrators")
            rows = page.locator("#orchestrators tbody tr")
            assert rows.count() == 2
            shown = [a.lower() for a in rows.evaluate_all("rs => rs.map(r => r.dataset.address)")]
            assert set(shown) == addresses
            assert shown[0] == net.orchestrators[0].signer.address.lower(), "the larger stake ranks first"
            assert page.locator("#orchestrators tbody tr").first.locator("td").first.inner_text() == "1"
            order = lambda: [a.lower() for a in rows.evaluate_all("rs => rs.map(r => r.dataset.address)")]  # noqa: E731
            page.get_by_role("link", name="Stake", exact=True).click()
            page.wait_for_url("**sort=stake")
            assert page.locator("th[aria-sort]").count() == 1
            assert page.locator("th[aria-sort]").get_attribute("aria-sort") == "descending" and order() == shown
            page.get_by_role("link", name="Stake", exact=True).click()  # again: the other way
            page.wait_for_url("**sort=stake&dir=asc")
            assert page.locator("th[aria-sort]").get_attribute("aria-sort") == "ascending"
            assert order() == list(reversed(shown))
            assert rows.evaluate_all("rs => rs.map(r => r.querySelector('td').innerText)") == ["2", "1"], "rank stays with its row"
            scores = page.locator("#orchestrators tbody tr td:last-child").all_inner_texts()
            assert any(s != "—" for s in scores), "the gateway scored the orchestrators of its job"
            fees = page.locator("#orchestrators tbody tr td:nth-child(8)").all_inner_texts()
            assert any(f not in ("0 ETH", "—") for f in fees), "the job's fees are on the chain and in the table"

            # An orchestrator's page, a delegator's, rounds, the gateway, streams.
            o1 = net.orchestrators[0].signer.address
            visit(f"/orchestrators/{o1}", "orchestrator")
            assert page.locator("#orchestrator-rounds tbody tr").count() >= 2
            assert "transcode" in page.locator("#caps-title + p").inner_text()
            visit(f"/delegators/{net.delegator.address}", "delegator")
            assert page.locator("#earnings tbody tr").count() >= 1
            visit("/rounds", "rounds")
            assert page.locator("#rounds tbody tr").count() == len(overview["series"]["rounds"])
            visit(f"/activity?address={o1}", "activity")
            assert page.locator("#activity tbody tr", has_text="WinningTicketRedeemed").count() >= 1
            visit("/gateway", "gateway")
            assert int(page.locator("#tickets-sent").inner_text()) > 0
            assert page.locator("#used tbody tr").count() == 2
            visit("/streams", "streams")
            row = page.locator("#streams tbody tr", has_text="explorer-cam")
            assert row.count() == 1 and "live" in row.inner_text()
            player = page.locator("iframe.player")
            assert player.count() == 1 and player.get_attribute("src") == f"/streams/{cam['id']}/player"
            assert page.frame_locator("iframe.player").locator("video").count() == 1

            # The overview: its charts drawn; then a round advanced on the chain reaches it
            # over server-sent events, with no reload.
            visit("/", "overview")
            page.wait_for_function("() => document.querySelectorAll('.plot canvas').length === 6")
            assert page.locator("#live-streams").inner_text() == "1"
            before = int(page.locator("#live-round").inner_text())
            page.evaluate("() => { window.notReloaded = true; }")
            net.advance_rounds(1)
            page.wait_for_function(
                f"() => Number(document.getElementById('live-round').innerText) > {before}", timeout=60_000
            )
            assert page.evaluate("() => window.notReloaded") is True
            # the charts over rounds follow too: redrawn with the new round's point
            page.wait_for_function(
                f"() => JSON.parse(document.getElementById('chart-minted').dataset.series).x.slice(-1)[0] > {before}"
                " && document.querySelectorAll('.plot canvas').length === 6", timeout=60_000,
            )
            assert int(page.locator("#status-round").inner_text()) > before
            cls_after = page.evaluate(PAINT)["cls"]
            page.screenshot(path=str(shots / "explorer-overview-live.png"), full_page=True)

            # On a phone's width: still no violation (a wide table scrolls in a focusable region).
            page.set_viewport_size({"width": 390, "height": 800})
            for path in ("/orchestrators", f"/orchestrators/{o1}", "/rounds"):
                page.goto(f"{explorer}{path}")
                assert _axe(page) == [], f"{path} at 390 px: accessibility violations"

        # The same network from an explorer of its own, reading the gateway over HTTP.
        standalone = build_explorer(net.protocol, tmp_path / "standalone.sqlite", gateway=HttpGateway(net.gateway.url),
                                    follow_interval=0.5)
        with ServerThread(explorer_app(standalone)) as server:
            wait_for("the standalone explorer's index caught up", lambda: _synced(server.url), timeout=120)
            rows = httpx.get(f"{server.url}/api/orchestrators", timeout=30).json()["orchestrators"]
            assert all(r["reachable"] and r["capabilities"] for r in rows)
            assert any(r["score"] is not None and r["success_rate"] is not None for r in rows)
            gw = httpx.get(f"{server.url}/api/gateway", timeout=30).json()
            assert gw["address"].lower() == net.gateway_signer.address.lower() and gw["tickets_sent"] > 0
            assert gw["on_chain"]["tickets_redeemed"] > 0 and len(gw["used"]) == 2
            streams = httpx.get(f"{server.url}/api/streams", timeout=30).json()["streams"]
            assert [(s["name"], s["player_url"]) for s in streams] == [("explorer-cam", f"{net.gateway.url}/streams/{cam['id']}/player")]

    print("explorer LCP/CLS per page:", measured, "CLS on the overview after live updates:", cls_after)
    for name, m in measured.items():
        assert m["lcp"] is not None and m["lcp"] < 1000, f"{name}: largest contentful paint {m['lcp']} ms"
        assert m["cls"] == 0, f"{name}: layout shift {m['cls']}"
    assert cls_after == 0
