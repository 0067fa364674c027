"""Read and check the provenance of a file: `read_provenance(path) -> Verdict`.

Never raises for bad input: whatever the file is, the verdict says so.

Statuses, worst first (a verdict takes the worst that applies):

- ``unreadable``  no such file, empty, or bytes c2pa cannot parse as the format;
- ``unsupported`` a file type that cannot carry a manifest here;
- ``unsigned``    a readable file with no manifest;
- ``tampered``    a manifest whose hashes no longer match: the media or the manifest
  changed after signing (c2pa codes ``*.mismatch``);
- ``invalid``     a manifest that is well formed but must not be believed: expired,
  revoked or unfit certificate, a signature that does not check, an orchestrator
  address that the certificate or the chain key contradicts;
- ``untrusted``   intact and well signed, but by a certificate that does not chain to
  one of `trust_anchors` (or no anchors were given);
- ``valid``       intact, well signed, trusted.

Trust concerns the active manifest (the one that signed this file). c2pa re-checks an
ingredient's manifest against its recorded hash when reading (a failure there counts),
but judges its signer's trust only once, when the ingredient was signed in (the
orchestrator trusts its own root); those recorded findings (e.g. a user's input signed
by an unknown camera vendor) are listed in `problems` without changing the status.

The manifests come active first, then the ingredients' manifests, depth first, in
ingredient order: for a two-stage job (text-to-image, then image-to-video) that is the
video's manifest, then the image's.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Literal

import c2pa  # type: ignore[import-untyped]

from . import binding, trust
from .errors import UnsupportedFormat
from .formats import mime_type
from .identity import address_from_text

__all__ = ["ManifestInfo", "Status", "Verdict", "read_provenance"]

Status = Literal["valid", "untrusted", "invalid", "tampered", "unsigned", "unsupported", "unreadable"]
_RANK: dict[str, int] = {"valid": 0, "untrusted": 1, "invalid": 2, "tampered": 3}

UNTRUSTED = "signingCredential.untrusted"


@dataclass(frozen=True)
class ManifestInfo:
    """One manifest of the chain, in words."""

    label: str
    title: str | None = None
    signer: str | None = None
    organization: str | None = None
    issuer: str | None = None
    certificate_serial: str | None = None
    address: str | None = None
    address_bound_by: tuple[str, ...] = ()
    time: str | None = None
    claim_generator: str | None = None
    software_agent: str | None = None
    actions: tuple[str, ...] = ()
    digital_source_type: str | None = None
    pipeline: str | None = None
    model: str | None = None
    job_id: str | None = None
    parameters: dict[str, Any] | None = None  # what the model ran with, when the signer says
    ingredients: tuple[str, ...] = ()
    #: SHA-256 (hex) of each ingredient file, as the signer recorded it (None if not)
    ingredient_sha256: tuple[str | None, ...] = ()
    #: whether the signer chains to a trusted root: for the active manifest, per the
    #: reader's anchors; for an ingredient's, as judged when it was signed in; None
    #: when unknown
    trusted: bool | None = None


@dataclass(frozen=True)
class Verdict:
    """What a file's provenance says and whether to believe it."""

    path: str
    status: Status
    problems: tuple[str, ...] = ()
    manifests: tuple[ManifestInfo, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == "valid"

    @property
    def active(self) -> ManifestInfo | None:
        return self.manifests[0] if self.manifests else None

    @property
    def address(self) -> str | None:
        """The orchestrator address of the manifest that signed this file."""
        return self.manifests[0].address if self.manifests else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "status": self.status,
            "ok": self.ok,
            "address": self.address,
            "problems": list(self.problems),
            "manifests": [
                {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(m).items()} for m in self.manifests
            ],
        }

    def to_json(self, *, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent)


def read_provenance(
    path: Path | str,
    *,
    trust_anchors: Sequence[str | bytes] | None = None,
    revoked_serials: Collection[int | str] = (),
) -> Verdict:
    """Read `path`'s manifests and check them; never raises for bad input.

    `trust_anchors`: root certificates (PEM text, one or several per item) that make a
    signer trusted; None or empty trusts nobody (every signed file is at best
    ``untrusted``). `revoked_serials`: certificate serial numbers (int, or hex
    string) to refuse, a local revocation list (c2pa does no OCSP here: it is offline).
    """
    where = str(path)
    file = Path(path)
    try:
        mime = mime_type(file)
    except UnsupportedFormat as exc:
        return Verdict(where, "unsupported", (str(exc),))
    try:
        size = file.stat().st_size
    except OSError as exc:
        return Verdict(where, "unreadable", (f"cannot read {file.name}: {exc.strerror}",))
    if not file.is_file() or size == 0:
        return Verdict(where, "unreadable", (f"{file.name} is empty" if size == 0 else f"{file.name} is not a file",))
    try:
        with (
            c2pa.Context.from_dict(trust.settings(trust_anchors or ())) as context,
            file.open("rb") as stream,
            c2pa.Reader(mime, stream, context=context) as reader,
        ):
            store = json.loads(reader.json())
            certs = _certificates(json.loads(reader.crjson()))
    except c2pa.C2paError.ManifestNotFound:
        return Verdict(where, "unsigned", (f"{file.name} carries no C2PA manifest",))
    except c2pa.C2paError as exc:
        return _unreadable(where, file, exc)
    except (OSError, ValueError) as exc:
        return Verdict(where, "unreadable", (f"cannot read {file.name}: {exc}",))
    try:
        return _judge(where, store, certs, {_serial(s) for s in revoked_serials})
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # a store shaped unlike any c2pa writes
        return Verdict(where, "invalid", (f"{file.name}: cannot interpret its manifest store ({exc!r})",))


def _unreadable(where: str, file: Path, exc: Exception) -> Verdict:
    text = (str(exc).strip() or type(exc).__name__).splitlines()[0][:300]
    if isinstance(exc, c2pa.C2paError.NotSupported):
        return Verdict(where, "unsupported", (f"{file.name}: {text}",))
    if _has_manifest_store(file):
        # a manifest store is there but c2pa cannot parse it: altered or badly written
        return Verdict(where, "invalid", (f"{file.name}: its C2PA manifest is damaged and cannot be read ({text})",))
    return Verdict(where, "unreadable", (f"{file.name} is not a readable {file.suffix.lstrip('.')} file ({text})",))


def _has_manifest_store(file: Path) -> bool:
    """True if the bytes hold a JUMBF box labelled c2pa (a manifest store)."""
    try:
        data = file.read_bytes()
    except OSError:
        return False
    at = data.find(b"jumb")
    while at != -1:
        if b"c2pa" in data[at : at + 64]:
            return True
        at = data.find(b"jumb", at + 4)
    return False


def _judge(where: str, store: dict[str, Any], certs: dict[str, dict[str, Any]], revoked: set[str]) -> Verdict:
    manifests: dict[str, Any] = store.get("manifests") or {}
    active = store.get("active_manifest")
    if not active or active not in manifests:
        return Verdict(where, "invalid", ("the manifest store names no active manifest",))
    problems: list[str] = []
    status = "valid"
    results = store.get("validation_results") or {}
    failures = _failures((results.get("activeManifest") or {}).get("failure"))
    if not results:  # older stores: a flat status list
        failures = _failures(store.get("validation_status"))
    for code, text in failures:
        status = _worse(status, _class_of(code))
        problems.append(f"{code}: {text}")
    for delta in results.get("ingredientDeltas") or ():
        for code, text in _failures((delta.get("validationDeltas") or {}).get("failure")):
            problems.append(f"ingredient {delta.get('ingredientAssertionURI', '?')}: {code}: {text}")
            if code != UNTRUSTED:
                status = _worse(status, _class_of(code))
    labels = _order(active, manifests)
    trusted: dict[str, bool | None] = {active: not any(code == UNTRUSTED for code, _ in failures)}
    for label in labels:
        for ingredient in manifests[label].get("ingredients") or ():
            recorded = (ingredient.get("validation_results") or {}).get("activeManifest") or {}
            codes = [str(i.get("code")) for i in recorded.get("success") or ()]
            for code, text in _failures(recorded.get("failure")):
                problems.append(f"input {ingredient.get('title')} (judged when signed in): {code}: {text}")
                codes.append(code)
            if ingredient.get("active_manifest"):
                judged = UNTRUSTED in codes or "signingCredential.trusted" in codes
                trusted.setdefault(
                    ingredient["active_manifest"], "signingCredential.trusted" in codes if judged else None
                )
    chain = [_describe(label, manifests[label], certs.get(label, {})) for label in labels]
    infos: list[ManifestInfo] = []
    for n, (info, checks) in enumerate(chain):
        for check in checks:
            problems.append(f"{'' if n == 0 else f'ingredient manifest {info.label}: '}{check}")
            status = _worse(status, "invalid")
        if info.certificate_serial and _serial(info.certificate_serial) in revoked:
            problems.append(f"certificate {info.certificate_serial} of {info.signer} is revoked")
            status = _worse(status, "invalid")
        infos.append(replace(info, trusted=trusted.get(info.label)))
    return Verdict(where, status, tuple(problems), tuple(infos))  # type: ignore[arg-type]


def _failures(items: Iterable[dict[str, Any]] | None) -> list[tuple[str, str]]:
    return [(str(i.get("code", "?")), str(i.get("explanation", ""))) for i in items or ()]


def _class_of(code: str) -> str:
    if code == UNTRUSTED:
        return "untrusted"
    if "mismatch" in code or code.endswith(".missing"):
        return "tampered"
    return "invalid"


def _worse(a: str, b: str) -> str:
    return a if _RANK[a] >= _RANK[b] else b


def _order(active: str, manifests: dict[str, Any]) -> list[str]:
    """Active first, then ingredients' manifests depth first; each label once."""
    seen: list[str] = []

    def visit(label: str) -> None:
        if label in seen or label not in manifests:
            return
        seen.append(label)
        for ingredient in manifests[label].get("ingredients") or ():
            child = ingredient.get("active_manifest")
            if child:
                visit(child)

    visit(active)
    return seen


def _describe(label: str, manifest: dict[str, Any], cert: dict[str, Any]) -> tuple[ManifestInfo, list[str]]:
    """The manifest in words, and what its own framemesh facts contradict."""
    info: dict[str, Any] = {"label": label, "title": manifest.get("title")}
    generators = manifest.get("claim_generator_info") or []
    if generators:
        g = generators[0]
        info["claim_generator"] = " ".join(str(x) for x in (g.get("name"), g.get("version")) if x)
    else:
        info["claim_generator"] = manifest.get("claim_generator")
    signature = manifest.get("signature_info") or {}
    subject, issuer = cert.get("subject") or {}, cert.get("issuer") or {}
    info["signer"] = subject.get("CN") or signature.get("common_name")
    info["organization"] = subject.get("O")
    info["issuer"] = issuer.get("CN") or signature.get("issuer")
    serial = cert.get("serialNumber") or signature.get("cert_serial_number")
    if serial and "serialNumber" not in cert:
        serial = format(int(serial), "x")
    info["certificate_serial"] = serial
    info["time"] = signature.get("time")
    actions: list[str] = []
    for assertion in manifest.get("assertions") or ():
        if str(assertion.get("label", "")).startswith("c2pa.actions"):
            for action in (assertion.get("data") or {}).get("actions") or ():
                actions.append(str(action.get("action")))
                agent = action.get("softwareAgent")
                agent = agent.get("name") if isinstance(agent, dict) else agent
                info.setdefault("software_agent", agent)
                info.setdefault("digital_source_type", action.get("digitalSourceType"))
                if not info["time"] and action.get("when"):
                    info["time"] = action.get("when")
    info["actions"] = tuple(actions)
    ingredients = manifest.get("ingredients") or ()
    info["ingredients"] = tuple(str(i.get("title")) for i in ingredients)
    info["ingredient_sha256"] = tuple((i.get("metadata") or {}).get(binding.INGREDIENT_SHA256) for i in ingredients)
    facts = _assertion(manifest, binding.LABEL)
    cert_address = next((a for a in map(address_from_text, subject.get("OU", "").split(",")) if a), None)
    if isinstance(subject.get("OU"), list):
        cert_address = next((a for a in map(address_from_text, subject["OU"]) if a), None)
    checks: list[str] = []
    bound_by: list[str] = []
    address = cert_address
    if cert_address:
        bound_by.append("certificate")
    if facts is not None:
        info["pipeline"], info["model"], info["job_id"] = facts.get("pipeline"), facts.get("model"), facts.get("job_id")
        if isinstance(facts.get("parameters"), dict):
            info["parameters"] = facts["parameters"]
        info["time"] = facts.get("created") or info["time"]
        claimed = address_from_text(f"eth:{facts.get('address')}")
        if claimed is None:
            checks.append(f"{binding.LABEL} names no valid address ({facts.get('address')!r})")
        elif cert_address and claimed != cert_address:
            checks.append(f"{binding.LABEL} names {claimed} but the certificate binds {cert_address}")
        address = address or claimed
        if binding.SIGNATURE in facts:
            checks += _check_chain_key(facts, claimed, info)
            if not checks and claimed:
                bound_by.append("chain-key")
    info["address"] = address
    info["address_bound_by"] = tuple(bound_by)
    return ManifestInfo(**info), checks


def _check_chain_key(facts: dict[str, Any], claimed: str | None, info: dict[str, Any]) -> list[str]:
    try:
        signer = binding.recover(facts)
    except ImportError:
        return ["cannot check the chain-key signature: install framemesh[chain]"]
    except ValueError as exc:
        return [f"the chain-key signature does not check ({exc})"]
    if signer != claimed:
        return [f"the chain-key signature is by {signer}, not by {claimed}"]
    named = facts.get("certificate") or {}
    serial = info.get("certificate_serial")
    if not serial or _serial(str(named.get("serial", ""))) != _serial(serial):
        return [f"the chain key vouches for certificate {named.get('serial')}, but {serial} signed"]
    if named.get("issuer") != info.get("issuer"):
        return [
            f"the chain key vouches for a certificate of {named.get('issuer')}, but {info.get('issuer')} issued the signer's"
        ]
    return []


def _assertion(manifest: dict[str, Any], label: str) -> dict[str, Any] | None:
    for assertion in manifest.get("assertions") or ():
        if assertion.get("label") == label and isinstance(assertion.get("data"), dict):
            return dict(assertion["data"])
    return None


def _certificates(crjson: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Signing certificate facts per manifest label (c2pa reports them only here)."""
    out: dict[str, dict[str, Any]] = {}
    for manifest in crjson.get("manifests") or ():
        info = (manifest.get("signature") or {}).get("certificateInfo")
        if isinstance(info, dict) and manifest.get("label"):
            out[manifest["label"]] = info
    return out


def _serial(value: int | str) -> str:
    if isinstance(value, int):
        return format(value, "x")
    text = value.strip().lower().removeprefix("0x").replace(":", "")
    try:
        return format(int(text, 16), "x")
    except ValueError:
        return text
