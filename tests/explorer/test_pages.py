"""The explorer's pages over a real seeded embedded chain and its index (FastAPI's
TestClient): each page renders what the chain holds, and its JSON is the same data."""

from __future__ import annotations

import re
from xml.etree import ElementTree
from typing import Any, Iterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from framemesh.explorer.app import Explorer, create_explorer_app
from framemesh.explorer.index import ChainHistory
from framemesh.explorer.pages import ExplorerData
from framemesh.explorer.sources import HttpGateway, NodeReader
from framemesh.wire.explorer_pages import StreamOut
from framemesh.explorer.sse import frame, fragments
from tests.explorer.web_network import URIS, WebNetwork, seed


class FixedGateway:
    """A gateway's answers as its HTTP API gives them (the shapes of /orchestrators,
    /payments, /scores, /scores/history, /streams), fixed for the test."""

    label = "fixed"

    def __init__(self, net: WebNetwork) -> None:
        self.o1 = net.orchestrators[0].address

    async def orchestrators(self) -> list[dict[str, Any]]:
        return [{"url": URIS[0], "address": self.o1, "successes": 9, "failures": 1, "success_rate": 0.9,
                 "in_flight": 2, "capacity": 1}]

    async def payments(self) -> dict[str, Any]:
        return {"enabled": True, "address": "0x" + "c" * 40, "tickets_sent": 12, "face_value_sent": "120000",
                "expected_value_sent": "60000"}

    async def scores(self) -> dict[str, Any]:
        return {"window_seconds": 600, "ai": {}, "orchestrators": [
            {"url": URIS[0], "address": self.o1, "kind": "transcode", "pipeline": None, "model": None,
             "score": 0.75, "success_rate": 0.9, "latency_score": 0.83, "round_trip_p50": 0.4, "samples": 10,
             "updated_at": 1.0}]}

    async def score_history(self, address: str) -> list[dict[str, Any]]:
        return [{"at": 1000.0 + i, "url": "u", "kind": "transcode", "pipeline": None, "model": None, "score": 0.5 + i / 10,
                 "success_rate": 1.0, "latency_score": 0.5} for i in range(3)] if address == self.o1 else []

    async def streams(self) -> list[StreamOut]:
        return [StreamOut(id="s1", name="cam", state="live", orchestrator=URIS[0], segments=4,
                          live_since=None, model=None, player_url="/streams/s1/player")]

    async def close(self) -> None:
        return None


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> WebNetwork:
    return seed(tmp_path_factory.mktemp("explorer"))


def _client(net: WebNetwork, gateway: Any = None, **history: Any) -> Iterator[TestClient]:
    explorer = Explorer(ExplorerData(lambda: ChainHistory(net.db, **history), NodeReader(), gateway))
    with TestClient(create_explorer_app(explorer)) as client:
        yield client


@pytest.fixture(scope="module")
def client(net: WebNetwork) -> Iterator[TestClient]:
    yield from _client(net)


@pytest.fixture(scope="module")
def with_gateway(net: WebNetwork) -> Iterator[TestClient]:
    yield from _client(net, FixedGateway(net))


def _addresses(html: str) -> list[str]:
    return re.findall(r'<tr data-address="(0x[0-9a-fA-F]{40})"', html)


def test_the_overview_shows_the_round_and_charts_over_rounds(client: TestClient, net: WebNetwork) -> None:
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    body = client.get("/api/overview").json()
    assert body["status"]["current_round"] == net.protocol.current_round()
    assert body["orchestrators"] == 2 and body["series"]["rounds"][-1] == net.protocol.current_round()
    assert f'<dd id="live-round">{net.protocol.current_round()}</dd>' in page.text
    assert page.text.count('class="plot"') == 6
    assert "sse-connect=\"/events?page=overview\"" in page.text
    # nothing answers at the orchestrators' URIs: their live figures say so, the page still renders
    assert body["live"]["orchestrators_answering"] == 0 and body["live"]["jobs_in_flight"] is None


def test_a_page_is_json_when_asked_for_it(client: TestClient) -> None:
    by_accept = client.get("/orchestrators", headers={"Accept": "application/json"})
    assert by_accept.headers["content-type"] == "application/json"
    assert by_accept.json()["orchestrators"] == client.get("/api/orchestrators").json()["orchestrators"]
    assert client.get("/orchestrators", headers={"Accept": "text/html,application/json"}).headers["content-type"].startswith("text/html")


def test_orchestrators_are_ranked_by_stake_and_sort_on_the_server(client: TestClient, net: WebNetwork) -> None:
    a, b = (o.address.lower() for o in net.orchestrators)
    default = client.get("/orchestrators").text
    assert [x.lower() for x in _addresses(default)] == [a, b]  # A has D's delegation too
    assert default.count("aria-sort=") == 1 and 'aria-sort="ascending"><a href="/orchestrators?sort=rank&amp;dir=desc"' in default

    by_cut = client.get("/orchestrators?sort=reward_cut&dir=desc").text
    assert [x.lower() for x in _addresses(by_cut)] == [b, a]  # B 20%, A 5% (changed from 10%)
    rows = client.get("/api/orchestrators?sort=reward_cut&dir=desc").json()["orchestrators"]
    assert [r["rank"] for r in rows] == [2, 1], "the rank stays with its row"
    assert 'aria-sort="descending"><a href="/orchestrators?sort=reward_cut&amp;dir=asc"' in by_cut

    missed = client.get("/api/orchestrators?sort=reward_calls_missed&dir=desc").json()["orchestrators"]
    assert missed[0]["address"].lower() == b and missed[0]["reward_calls_missed"] >= 2 and missed[1]["reward_calls_missed"] == 0
    fees = {r["address"].lower(): int(r["fees_total"]) for r in rows}
    assert fees[a] > 0 and fees[b] > 0  # the redeemed tickets

    assert client.get("/orchestrators?sort=nonsense").status_code == 200  # unknown: the default sort
    assert client.get("/orchestrators?dir=sideways").status_code == 422


def test_every_sortable_column_has_a_working_link(client: TestClient) -> None:
    html = client.get("/orchestrators").text
    links = re.findall(r'<th scope="col"[^>]*><a href="([^"]+)"', html)
    assert len(links) >= 15
    for link in links:
        sorted_page = client.get(link.replace("&amp;", "&"))
        assert sorted_page.status_code == 200 and sorted_page.text.count("aria-sort=") == 1


def test_an_orchestrators_page_has_its_cut_history_and_reward_calls(client: TestClient, net: WebNetwork) -> None:
    a, b = (o.address for o in net.orchestrators)
    cuts = sorted(c["reward_cut"] for c in client.get(f"/api/orchestrators/{a}").json()["detail"]["cut_history"])
    assert cuts == [50_000, 100_000]
    html = client.get(f"/orchestrators/{b}").text
    assert ">missed<" in html and ">made<" in html and 'id="work"' in html
    assert 'sse-connect="/events?page=orchestrator&amp;address=' in html
    detail = client.get(f"/api/orchestrators/{b}").json()["detail"]
    assert detail["reward_calls"] == 2 and detail["reward_calls_missed"] >= 2
    assert "5.0%" in client.get(f"/orchestrators/{a}").text  # its cut now


def test_unknown_addresses_are_404s_for_people_and_programs(client: TestClient) -> None:
    nobody = "0x" + "e" * 40
    page = client.get(f"/orchestrators/{nobody}")
    assert page.status_code == 404 and "<h1>Not found</h1>" in page.text
    api = client.get(f"/api/delegators/{nobody}")
    assert api.status_code == 404 and api.json()["detail"]["code"] == "unknown_address"
    assert client.get("/orchestrators/not-an-address").status_code == 422


def test_a_delegators_page_has_its_earnings_per_round(client: TestClient, net: WebNetwork) -> None:
    body = client.get(f"/api/delegators/{net.delegator.address}").json()
    d = body["delegator"]
    assert d["delegate"].lower() == net.orchestrators[0].address.lower()
    assert d["earnings"] and any(int(e["rewards"]) > 0 for e in d["earnings"]) and any(int(e["fees"]) > 0 for e in d["earnings"])
    html = client.get(f"/delegators/{net.delegator.address}").text
    assert html.count("<tr><th scope=\"row\">") >= len(d["earnings"])


def test_rounds_say_who_initialized_them_and_the_missed_reward_calls(client: TestClient, net: WebNetwork) -> None:
    rounds = client.get("/api/rounds").json()["rounds"]
    assert [r["round"] for r in rounds] == sorted((r["round"] for r in rounds), reverse=True)
    complete = [r for r in rounds if r["complete"]]
    assert complete and all(r["initialized_by"].lower() == net.deployer.address.lower() for r in rounds)
    assert any(r["reward_calls"] == 1 and r["reward_calls_missed"] == 1 for r in complete)  # B missed
    assert any(r["reward_calls"] == 2 and r["reward_calls_missed"] == 0 for r in complete)
    assert "Initialized by" in client.get("/rounds").text


def test_the_activity_feed_pages_back_and_filters_by_address(client: TestClient, net: WebNetwork) -> None:
    everyone = client.get("/api/activity", params={"limit": 500}).json()["events"]
    assert {"NewRound", "Bond", "Reward", "TranscoderUpdate", "WinningTicketRedeemed"} <= {e["name"] for e in everyone}
    keys = [(e["block"], e["log_index"]) for e in everyone]
    assert keys == sorted(keys, reverse=True), "newest first"
    first, rest = client.get("/api/activity", params={"limit": 3}).json()["events"], everyone[3:6]
    assert first == everyone[:3]
    last = first[-1]
    older = client.get("/api/activity", params={"limit": 3, "before": f"{last['block']}-{last['log_index']}"}).json()
    assert older["events"] == rest, "the next page starts after the last row"
    delegator = net.delegator.address
    mine = client.get("/api/activity", params={"address": delegator, "limit": 500}).json()["events"]
    assert mine and len(mine) < len(everyone)
    assert all(delegator.lower() in str(e["fields"]).lower() or (e["tx_from"] or "").lower() == delegator.lower()
               for e in mine)
    html = client.get("/activity", params={"address": delegator}).text
    assert html.count('<tr><th scope="row">') == len(mine) and "Older events" not in html, "all on one page"
    assert len(mine) > 2 and "Older events" in client.get("/activity", params={"address": delegator, "limit": 2}).text
    assert client.get("/activity", params={"before": "x"}).status_code == 422


ATOM = "{http://www.w3.org/2005/Atom}"


def _feed(client: TestClient, address: str) -> list[tuple[str, str]]:
    answer = client.get(f"/feeds/{address}")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/atom+xml")
    feed = ElementTree.fromstring(answer.content)
    assert feed.tag == f"{ATOM}feed" and feed.find(f"{ATOM}id") is not None
    entries = feed.findall(f"{ATOM}entry")
    ids = [e.findtext(f"{ATOM}id") for e in entries]
    assert len(ids) == len(set(ids)), "each entry has its own id"
    return [(e.find(f"{ATOM}category").get("term"), e.findtext(f"{ATOM}title")) for e in entries]  # type: ignore[union-attr]


def test_alert_feeds_tell_of_cut_changes_and_missed_reward_calls(client: TestClient, net: WebNetwork) -> None:
    a, b = (o.address for o in net.orchestrators)
    of_a, of_b = _feed(client, a), _feed(client, b)
    assert [t for k, t in of_a if k == "cut_change"] == [
        "Changed its terms: reward cut 10% → 5%, fee share 50% → 60%", "Terms set: reward cut 10%, fee share 50%"]
    assert not [k for k, _ in of_a if k == "reward_missed"], "A never missed a reward call"
    missed = [int(t.rsplit(" ", 1)[1]) for k, t in of_b if k == "reward_missed"]
    rounds = net.seeded.rounds
    assert {rounds["r2"], rounds["r4"]} <= set(missed) and not {rounds["r1"], rounds["r3"]} & set(missed)
    assert missed == sorted(missed, reverse=True), "newest first"
    assert _feed(client, net.delegator.address) == of_a, "a delegator follows its delegate's alerts"
    # mounted, as on a gateway: the feed links to the page under the mount
    parent = FastAPI()
    parent.mount("/explorer", client.app)
    mounted = ElementTree.fromstring(TestClient(parent).get(f"/explorer/feeds/{a}").content)
    assert mounted.find(f"{ATOM}link").get("href") == f"http://testserver/explorer/orchestrators/{a}"  # type: ignore[union-attr]
    nobody = "0x" + "12" * 20
    assert client.get(f"/feeds/{nobody}").status_code == 404
    assert client.get("/feeds/0x12").status_code == 422


def test_without_a_gateway_its_parts_say_so(client: TestClient, net: WebNetwork) -> None:
    gw = client.get("/api/gateway").json()
    assert gw["address"] is None and gw["used"] is None
    assert [g["address"].lower() for g in gw["gateways"]] == [net.gateway.address.lower()]
    assert client.get("/api/streams").json()["streams"] is None
    row = client.get("/api/orchestrators").json()["orchestrators"][0]
    assert row["score"] is None and row["success_rate"] is None and row["reachable"] is False
    assert "—" in client.get("/orchestrators").text


def test_a_gateways_scores_rates_payments_and_streams(with_gateway: TestClient, net: WebNetwork) -> None:
    o1 = net.orchestrators[0].address
    row = with_gateway.get("/api/orchestrators").json()["orchestrators"][0]
    assert row["address"] == o1 and row["score"] == 0.75 and row["success_rate"] == 0.9
    page = with_gateway.get(f"/api/orchestrators/{o1}").json()
    assert [p["score"] for p in page["score_history"]] == [0.5, 0.6, 0.7]
    assert page["work"]["streams"] == 1  # the gateway's live stream is on its service URI
    assert 'id="chart-score"' in with_gateway.get(f"/orchestrators/{o1}").text
    gw = with_gateway.get("/api/gateway").json()
    assert gw["tickets_sent"] == 12 and gw["used"][0]["success_rate"] == 0.9 and gw["used"][0]["score"] == 0.75
    streams = with_gateway.get("/streams").text
    assert '<iframe class="player" src="/streams/s1/player"' in streams and "stream_key" not in streams


def test_a_gateway_without_scores_is_a_dash_not_an_error() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/orchestrators":
            return httpx.Response(200, json=[{"url": "http://o", "address": None, "successes": 1, "failures": 0,
                                              "success_rate": 1.0, "in_flight": 0}])
        return httpx.Response(404, json={"detail": {"msg": "no", "code": "not_found"}})

    import asyncio

    async def go() -> tuple[Any, Any, Any]:
        gateway = HttpGateway("http://gw", client=httpx.AsyncClient(transport=httpx.MockTransport(answer)))
        return await gateway.scores(), await gateway.orchestrators(), await gateway.score_history("0x1")

    scores, pool, history = asyncio.run(go())
    assert scores is None and history is None and pool is not None and pool[0]["url"] == "http://o"


def test_a_stale_index_shows_its_banner(net: WebNetwork) -> None:
    net.chain.mine(30)  # the head moves on; the indexer sees it but gets only part of the way
    behind = net.chain.block_number - 20
    assert net.index(to_block=behind) == behind
    for client in _client(net, lag_blocks=5):
        html = client.get("/rounds").text
        assert 'class="status stale"' in html and "Data may be out of date" in html
        assert client.get("/api/rounds").json()["status"]["lagging"] is True
    net.index()


def test_live_fragments_follow_the_chain(net: WebNetwork) -> None:
    """What the server-sent events carry: the overview's live part shows a new round
    once it is indexed (the browser test sees it reach the DOM)."""
    import asyncio

    from starlette.requests import Request

    explorer = Explorer(ExplorerData(lambda: ChainHistory(net.db), NodeReader(), None))
    request = Request({"type": "http", "root_path": "/explorer", "path": "/events", "headers": []})

    async def live() -> dict[str, str]:
        return await fragments(explorer, request, "overview", None)

    before = asyncio.run(live())
    net.next_round()
    net.index()
    after = asyncio.run(live())
    round_now = net.protocol.current_round()
    assert f'<dd id="live-round">{round_now - 1}</dd>' in before["live"]
    assert f'<dd id="live-round">{round_now}</dd>' in after["live"] and f"<b id=\"status-round\">{round_now}</b>" in after["status"]
    asyncio.run(explorer.data.close())
    event = frame("live", after["live"]).decode()
    assert event.startswith("event: live\ndata: ") and event.endswith("\n\n") and "\n\n" not in event[:-2]


def test_work_in_flight_from_a_nodes_stats_or_its_info() -> None:
    from framemesh.explorer.views import work

    stats = {"in_flight": {"transcode_segments": 2, "ai_requests": {"text-to-image": 1, "upscale": 2}, "live_ai_segments": 1}}
    assert work(None, stats, 3).model_dump() == {"transcode_jobs": 2, "ai_jobs": 4, "streams": 3}
    info = {"load": 1, "capacity": 2, "capabilities": {"ai": [{"pipeline": "upscale", "in_use": 1, "capacity": 1}]}}
    assert work(info, {"segments_done": 5}, None).model_dump() == {"transcode_jobs": 1, "ai_jobs": 1, "streams": None}
    assert work(None, None, None).model_dump() == {"transcode_jobs": None, "ai_jobs": None, "streams": None}


def test_amounts_read_to_the_unit_that_matters() -> None:
    from framemesh.explorer.formatting import eth, pctg, short, tokens

    assert tokens(3000 * 10**18 + 5 * 10**17) == "3,000.5 FMT" and tokens(None) == "—"
    assert eth(5 * 10**18 - 140 * 10**9) == "4.99999986 ETH"  # a deposit less 140 gwei of tickets
    assert eth(40 * 10**9) == "40 gwei" and eth(0) == "0 ETH"
    assert pctg(1.37e-7) == "0.0000137%" and pctg(0.000138) == "0.0138%" and pctg(0.5) == "50.0%"
    assert short("0x" + "ab" * 20) == "0xabab…abab"
