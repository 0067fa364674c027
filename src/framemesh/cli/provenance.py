"""`framemesh keys init` and `framemesh verify FILE`: signing identities and reading
a file's provenance in words.

Mount in the main app::

    app.add_typer(keys_app, name="keys")
    app.command()(verify)

`verify` exit codes: 0 valid (or untrusted: intact and well signed, but by a root not
trusted here; it says so), 1 tampered, invalid or unsigned, 2 unreadable or
unsupported file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from framemesh.cli.output import console, fail
from framemesh.provenance import (
    ProvenanceError,
    Verdict,
    init_dev_identity,
    read_provenance,
)
from framemesh.provenance.identity import CA_CERT

DEFAULT_KEYS_DIR = Path("framemesh-data/keys")
TRUST_ENV = "FRAMEMESH_TRUST_ANCHORS"

keys_app = typer.Typer(help="Keys: signing identities for C2PA provenance (init, ...) and a gateway's API keys (api ...).", no_args_is_help=True)

_STYLE = {
    "valid": "bold green",
    "untrusted": "bold yellow",
    "invalid": "bold red",
    "tampered": "bold red",
    "unsigned": "bold red",
    "unsupported": "bold red",
    "unreadable": "bold red",
}
_SAYS = {
    "valid": "intact, signed by a trusted certificate",
    "untrusted": "intact and signed, but the certificate does not chain to a trusted root",
    "invalid": "signed, but the signature or the signer must not be believed",
    "tampered": "changed after it was signed",
    "unsigned": "carries no provenance manifest",
    "unsupported": "this file type cannot carry a manifest",
    "unreadable": "cannot be read",
}
_EXIT = {"valid": 0, "untrusted": 0, "invalid": 1, "tampered": 1, "unsigned": 1, "unsupported": 2, "unreadable": 2}


@keys_app.command("init")
def keys_init(
    address: Annotated[str, typer.Option(help="The orchestrator's on-chain address (0x...).")],
    name: Annotated[str, typer.Option(help="The name in the certificate (its CN).")],
    dir: Annotated[Path, typer.Option("--dir", help="Where the dev CA and the keys live.")] = DEFAULT_KEYS_DIR,
) -> None:
    """Make a development signing identity: a local CA (once per --dir) and a
    certificate binding ADDRESS, fit for C2PA signing."""
    try:
        identity = init_dev_identity(dir, address=address, name=name)
    except ProvenanceError as exc:
        fail(str(exc))
    assert identity.address is not None
    console.print(f"signing identity for [bold]{escape(name)}[/] ({identity.address})", highlight=False)
    console.print(f"  key:   {dir / f'{identity.address}.key.pem'}", highlight=False)
    console.print(f"  chain: {dir / f'{identity.address}.chain.pem'}", highlight=False)
    console.print(f"  trust anchor for verifiers: {dir / CA_CERT}", highlight=False)
    expires = identity.certificate.not_valid_after_utc.date().isoformat()
    console.print(f"  certificate {identity.serial:x}, valid until {expires}", highlight=False)


def verify(
    file: Annotated[Path, typer.Argument(help="The file to check (PNG, JPEG, MP4, WAV, MP3, ...).")],
    json_out: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON.")] = False,
    trust: Annotated[
        list[Path] | None,
        typer.Option(
            "--trust",
            help=f"PEM file of a trusted root (repeatable). Default: ${TRUST_ENV}, else {DEFAULT_KEYS_DIR / CA_CERT}.",
        ),
    ] = None,
) -> None:
    """Print FILE's provenance chain: who made it, when, with what pipeline and model,
    from what inputs, and whether it is intact and trusted."""
    anchors = _anchors(trust or [])
    verdict = read_provenance(file, trust_anchors=anchors)
    if json_out:
        console.print_json(verdict.to_json())
    elif verdict.status in ("unreadable", "unsupported"):
        fail("; ".join(verdict.problems) or f"{file}: {verdict.status}", _EXIT[verdict.status])
    else:
        _print(verdict, trusted=len(anchors))
    if _EXIT[verdict.status]:
        raise typer.Exit(_EXIT[verdict.status])


def _anchors(paths: list[Path]) -> list[str]:
    if not paths:
        env = os.environ.get(TRUST_ENV, "")
        paths = [Path(p) for p in env.split(os.pathsep) if p]
        if not paths and (DEFAULT_KEYS_DIR / CA_CERT).is_file():
            paths = [DEFAULT_KEYS_DIR / CA_CERT]
    anchors: list[str] = []
    for path in paths:
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"--trust {path}: cannot read it ({getattr(exc, 'strerror', None) or exc})", 2)
        if "-----BEGIN CERTIFICATE-----" not in text:
            fail(f"--trust {path}: not a PEM certificate", 2)
        anchors.append(text)
    return anchors


def _print(verdict: Verdict, *, trusted: int) -> None:
    status = verdict.status
    head = f"[{_STYLE[status]}]{status.upper()}[/]"
    console.print(f"{escape(verdict.path)}: {head} — {_SAYS[status]}", highlight=False)
    if not trusted and verdict.manifests:
        console.print("  (no trust anchors given: pass --trust CA.pem to trust a root)", highlight=False)
    for n, m in enumerate(verdict.manifests, 1):
        role = "made this file" if n == 1 else "made an input"
        who = escape(m.signer or "an unknown signer")
        if m.organization:
            who += f" ({escape(m.organization)})"
        address = f", orchestrator {m.address}" if m.address else ""
        bound = (
            f" (bound by {', '.join(m.address_bound_by)})"
            if m.address_bound_by
            else " (claimed, not bound)"
            if m.address
            else ""
        )
        if m.trusted is False:
            bound += " — untrusted signer"
        console.print(f"  {n}. {who}{address}{escape(bound)} {role}", highlight=False)
        if m.time:
            console.print(f"     when: {escape(m.time)}", highlight=False)
        what = ", ".join(a.removeprefix("c2pa.") for a in m.actions) or "no actions"
        how = " ".join(
            x for x in (f"pipeline {m.pipeline}" if m.pipeline else "", f"model {m.model}" if m.model else "") if x
        )
        console.print(f"     what: {escape(what)}" + (f" — {escape(how)}" if how else ""), highlight=False)
        if m.software_agent or m.claim_generator:
            console.print(f"     with: {escape(m.software_agent or m.claim_generator or '')}", highlight=False)
        if m.job_id:
            console.print(f"     job:  {escape(m.job_id)}", highlight=False)
        if m.ingredients:
            console.print(f"     from: {escape(', '.join(m.ingredients))}", highlight=False)
        if m.issuer:
            console.print(f"     certificate {m.certificate_serial} issued by {escape(m.issuer)}", highlight=False)
    for problem in verdict.problems:
        console.print(f"  [red]problem:[/] {escape(problem)}", highlight=False)
