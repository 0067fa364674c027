"""What an orchestrator's delegators want to hear of, read from the index: its terms
set or changed (a raised reward cut said so), a reward call it missed, its leaving the
active set. Served as an Atom feed per address, which any feed reader can follow
without an account (Livepeer's explorer users asked for alerts: explorer #628, #319).

Pure: the index's models in, alerts and the feed's XML out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from xml.etree import ElementTree as ET

from framemesh.wire.explorer import OrchestratorDetail

ATOM = "http://www.w3.org/2005/Atom"
CUT_CHANGE, REWARD_MISSED, DEACTIVATED = "cut_change", "reward_missed", "deactivated"


@dataclass(frozen=True)
class Alert:
    kind: str
    round: int
    key: str  # unique within its orchestrator's alerts, and stable: feed readers dedupe on it
    title: str
    text: str
    at: int | None  # unix time, when the index knows it


def _pct(fraction: float) -> str:
    return f"{fraction * 100:g}%"


def alerts(detail: OrchestratorDetail, round_times: Mapping[int, int | None]) -> list[Alert]:
    """Newest first. `round_times`: each round's start (unix time) as the index has it."""
    found: list[Alert] = []
    before = None
    for change in sorted(detail.cut_history, key=lambda c: c.block):
        terms = f"reward cut {_pct(change.reward_cut_fraction)}, fee share {_pct(change.fee_share_fraction)}"
        if before is None:
            title, text = f"Terms set: {terms}", f"Registered with {terms} (block {change.block})."
        else:
            moved = change.reward_cut_fraction - before.reward_cut_fraction
            verb = "raised its reward cut" if moved > 0 else "changed its terms"
            title = (f"{verb.capitalize()}: reward cut {_pct(before.reward_cut_fraction)} → "
                     f"{_pct(change.reward_cut_fraction)}, fee share {_pct(before.fee_share_fraction)} → "
                     f"{_pct(change.fee_share_fraction)}")
            text = (f"In round {change.round} (block {change.block}) the orchestrator {verb}: its delegators now "
                    f"keep {_pct(1 - change.reward_cut_fraction)} of its rewards and get "
                    f"{_pct(change.fee_share_fraction)} of its fees.")
        found.append(Alert(CUT_CHANGE, change.round, f"cut-{change.block}-{change.tx_hash}", title, text,
                           round_times.get(change.round)))
        before = change
    for r in detail.rounds:
        if r.reward_missed:
            found.append(Alert(
                REWARD_MISSED, r.round, f"missed-{r.round}", f"Reward call missed in round {r.round}",
                f"The orchestrator was active in round {r.round} and did not call reward(): neither it nor its "
                "delegators earned that round's rewards.",
                round_times.get(r.round + 1) or round_times.get(r.round),
            ))
    if detail.deactivation_round is not None:
        found.append(Alert(
            DEACTIVATED, detail.deactivation_round, f"deactivated-{detail.deactivation_round}",
            f"Leaves the active set in round {detail.deactivation_round}",
            "It earns no rewards or fees from that round on unless it is active again.",
            round_times.get(detail.deactivation_round),
        ))
    return sorted(found, key=lambda a: (a.round, a.kind, a.key), reverse=True)


def atom(feed_id: str, title: str, link: str, entries: Iterable[Alert], updated: int | None) -> bytes:
    """An Atom 1.0 feed (RFC 4287) of `entries`."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")

    def add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        element.text = text
        return element

    add(feed, "id", feed_id)
    add(feed, "title", title)
    add(feed, "link", href=link)
    add(feed, "updated", _time(updated))
    add(add(feed, "author"), "name", "framemesh explorer")
    for alert in entries:
        entry = add(feed, "entry")
        add(entry, "id", f"{feed_id}:{alert.key}")
        add(entry, "title", alert.title)
        add(entry, "link", href=link)
        add(entry, "updated", _time(alert.at if alert.at is not None else updated))
        add(entry, "category", term=alert.kind)
        add(entry, "summary", alert.text)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="utf-8")


def _time(at: int | None) -> str:
    return datetime.fromtimestamp(at or 0, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
