"""`framemesh keys api`: a gateway's API keys, through its admin API, and what
your own key has used.

    framemesh keys api create --name alice --spend-limit "0.1 ETH/day" --rate 5/s --concurrency 4
    framemesh keys api list;  framemesh keys api revoke ID
    FRAMEMESH_API_KEY=fmk_... framemesh keys api usage

The admin commands send the gateway's admin token ($FRAMEMESH_ADMIN_TOKEN or
--admin-token); `usage` sends your API key ($FRAMEMESH_API_KEY).
"""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.table import Table

from framemesh.cli.gateway_call import ask
from framemesh.cli.output import console, fail
from framemesh.gateway.core.limits import rate_text
from framemesh.wire.keys import KeyOut

api_keys_app = typer.Typer(help="A gateway's API keys: create, list, revoke (its admin API); usage (your own key).", no_args_is_help=True)
GATEWAY = typer.Option(help="The gateway's URL.")
ADMIN = typer.Option(envvar="FRAMEMESH_ADMIN_TOKEN", help="The gateway's admin token.")


def _admin(token: str | None) -> str:
    if not token:
        fail("the admin API takes the gateway's admin token: pass --admin-token or set FRAMEMESH_ADMIN_TOKEN", 2)
    return token


def _when(at: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(at)) if at else "-"


def _limits(k: KeyOut) -> str:
    parts = [f"spend {k.spend_limit}" if k.spend_limit else "",
             f"rate {rate_text(k.rate)}" if k.rate is not None else "",
             f"{k.concurrency} at once" if k.concurrency is not None else ""]
    return ", ".join(p for p in parts if p) or "none"


def show(keys: list[KeyOut], title: str) -> None:
    table = Table(title=title, title_justify="left")
    for column in ("id", "name", "key", "created", "revoked", "limits", "requests", "units", "wei"):
        table.add_column(column, justify="right" if column in ("requests", "units", "wei") else "left")
    for k in keys:
        u = k.usage
        table.add_row(k.id, k.name, k.prefix + "…", _when(k.created), _when(k.revoked), _limits(k),
                      str(u.requests) if u else "-", str(u.units) if u else "-", u.wei if u else "-")
    console.print(table, soft_wrap=True)


@api_keys_app.command("create")
def create(
    name: Annotated[str, typer.Option(help="Whose key: a label for people.")],
    spend_limit: Annotated[str | None, typer.Option(help="Wei per period, e.g. '0.1 ETH/day', '5e15 wei/hour'.")] = None,
    rate: Annotated[str | None, typer.Option(help="Requests per period, e.g. '5/s', '100/min'.")] = None,
    concurrency: Annotated[int | None, typer.Option(min=1, help="Requests at once.")] = None,
    gateway: Annotated[str, GATEWAY] = "http://127.0.0.1:8936",
    admin_token: Annotated[str | None, ADMIN] = None,
) -> None:
    """Create an API key; prints it once (the gateway keeps only its digest)."""
    created = ask(gateway, lambda c: c.create_key(name, spend_limit=spend_limit, rate=rate, concurrency=concurrency),
                  token=_admin(admin_token))
    console.print(f"API key {created.id} for {created.name!r} (limits: {_limits(created)}):", soft_wrap=True)
    console.print(created.key, style="bold", highlight=False, soft_wrap=True)
    console.print("[dim]shown this once: give it to its user (FRAMEMESH_API_KEY, or 'Authorization: Bearer …')[/]")


@api_keys_app.command("list")
def list_keys(
    gateway: Annotated[str, GATEWAY] = "http://127.0.0.1:8936",
    admin_token: Annotated[str | None, ADMIN] = None,
) -> None:
    """Every API key with its limits and usage (never a secret)."""
    keys = ask(gateway, lambda c: c.keys(), token=_admin(admin_token))
    show(keys, f"{len(keys)} API key(s) of {gateway}")


@api_keys_app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (from 'list').")],
    gateway: Annotated[str, GATEWAY] = "http://127.0.0.1:8936",
    admin_token: Annotated[str | None, ADMIN] = None,
) -> None:
    """Revoke an API key: its next request is refused (401)."""
    key = ask(gateway, lambda c: c.revoke_key(key_id), token=_admin(admin_token))
    console.print(f"revoked {key.id} ({key.name!r}) at {_when(key.revoked)}", soft_wrap=True)


@api_keys_app.command("usage")
def usage(gateway: Annotated[str, GATEWAY] = "http://127.0.0.1:8936") -> None:
    """What your API key ($FRAMEMESH_API_KEY) has used, and its limits."""
    key = ask(gateway, lambda c: c.usage())
    if key is None:
        fail("this call carried no API key: set FRAMEMESH_API_KEY", 2)
    show([key], f"API key {key.id} ({key.name!r})")
    if key.usage is not None:
        by_kind = ", ".join(f"{kind} {wei} wei" for kind, wei in sorted(key.usage.by_kind.items())) or "nothing yet"
        window = f"; {key.usage.spent_in_window} wei within its spend limit's period" if key.usage.spent_in_window else ""
        console.print(f"by kind: {by_kind}{window}", soft_wrap=True)
