"""Sign an output: embed a C2PA manifest that says who made it, how, and from what.

`sign_file(src, dest, identity, facts)` writes `dest`, a copy of `src` carrying a
manifest signed by `identity` (ES256). The manifest holds:

- ``c2pa.actions.v2``: for generated media, ``c2pa.created`` with the IPTC digital
  source type ``trainedAlgorithmicMedia``; for a transcode, ``c2pa.opened`` (on the
  source, the ``parentOf`` ingredient) then ``c2pa.transcoded`` (and ``c2pa.resized``
  when the picture size changed). Each action names the pipeline/model as its
  software agent and carries the time.
- ``framemesh.orchestrator`` (see `binding`): orchestrator address, job id, pipeline,
  model, time, the signing certificate, and optionally the chain key's signature.
- the ingredients (the source segment, the input image, ...), each with the SHA-256 of
  its file in its metadata (``framemesh.sha256``), so a gateway can check that a
  transcode's parent is the segment it sent. An ingredient of a type c2pa reads
  (`formats.MIME_TYPES`) is read in, and one that already carries a manifest (a
  previous stage's signed output) keeps it: the new manifest store holds both, so the
  chain of custody reads stage by stage. Others (the Matroska source segments the
  gateway cuts) are described: title, format, relationship and hash.

**Sign after the last mux.** Any remux (even a stream copy) drops the manifest, and
any change to the bytes afterwards reads as tampered. For fragmented MP4 the whole
file (``ftyp moov [uuid:c2pa] moof mdat ... mfra``) is signed; see docs/provenance.md
for HLS.

Signing is CPU work in the c2pa library (hashing the file): an orchestrator runs it in
its worker process next to the encoder, not on the event loop.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import mimetypes
import os
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

import c2pa  # type: ignore[import-untyped]
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from framemesh import __version__

from . import binding, trust
from .errors import IdentityError, InvalidFacts, SigningError
from .formats import MIME_TYPES, mime_type
from .identity import Identity, normalize_address

__all__ = ["TRAINED_ALGORITHMIC_MEDIA", "Facts", "Ingredient", "sign_file"]

TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
_OTHER_FORMATS = {".mkv": "video/x-matroska", ".webm": "video/webm", ".ts": "video/mp2t", ".txt": "text/plain"}
Kind = Literal["generated", "transcoded"]
Relationship = Literal["parentOf", "inputTo", "componentOf"]


def _signing_settings(identity: Identity, anchors: Sequence[str]) -> dict[str, Any]:
    """Trust the identity's own root (and `anchors`) when c2pa validates ingredients'
    manifests; the result is recorded in each ingredient. No verify-after-sign: the
    gateway checks what it receives, with its anchors. No thumbnail: an image encode
    per output, and nothing a viewer of the output itself lacks."""
    root = identity.certificates[-1].public_bytes(Encoding.PEM).decode()
    document = trust.settings([root, *anchors], verify={"verify_after_sign": False})
    document["builder"] = {"thumbnail": {"enabled": False}}
    return document


@dataclass(frozen=True)
class Ingredient:
    """An input of the output: a file (possibly signed by an earlier stage).

    ``parentOf``: the output is this file, changed (the source segment of a
    transcode). ``inputTo``: the file went into making the output (the input image of
    image-to-video, a previous stage's output).
    """

    path: Path
    relationship: Relationship = "inputTo"
    title: str | None = None


@dataclass(frozen=True)
class Facts:
    """What the manifest states. `created` defaults to now (UTC)."""

    kind: Kind
    address: str
    job_id: str
    pipeline: str
    model: str | None = None
    software_agent: str | None = None
    created: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    ingredients: Sequence[Ingredient | tuple[Path | str, Relationship]] = ()
    resized: bool = False
    # The settings the model ran with (a live stream's prompt, strength, ...): stated
    # in the signed facts, so a segment says what produced it.
    parameters: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("generated", "transcoded"):
            raise InvalidFacts(f"kind must be 'generated' or 'transcoded', not {self.kind!r}")
        try:
            object.__setattr__(self, "address", normalize_address(self.address))
        except IdentityError as exc:
            raise InvalidFacts(str(exc)) from None
        if not self.job_id or not self.pipeline:
            raise InvalidFacts("facts need a job_id and a pipeline")
        if self.created.tzinfo is None:
            raise InvalidFacts("created must be timezone-aware (UTC)")
        items = tuple(i if isinstance(i, Ingredient) else Ingredient(Path(i[0]), i[1]) for i in self.ingredients)
        object.__setattr__(self, "ingredients", items)
        for item in items:
            if item.relationship not in ("parentOf", "inputTo", "componentOf"):
                raise InvalidFacts(
                    f"ingredient relationship must be parentOf, inputTo or componentOf, not {item.relationship!r}"
                )
        parents = [i for i in items if i.relationship == "parentOf"]
        if self.kind == "transcoded" and len(parents) != 1:
            raise InvalidFacts(f"a transcode names exactly one parentOf ingredient (its source), got {len(parents)}")
        if self.kind == "generated" and parents:
            raise InvalidFacts("generated media has no parentOf ingredient; name inputs as inputTo")

    @property
    def inputs(self) -> tuple[Ingredient, ...]:
        """The ingredients, as `Ingredient`s (tuples given are converted on creation)."""
        return cast(tuple[Ingredient, ...], self.ingredients)

    @property
    def agent(self) -> str:
        """The software agent named in the actions: given, or framemesh, pipeline and model."""
        if self.software_agent:
            return self.software_agent
        return " ".join(x for x in (f"framemesh/{__version__}", self.pipeline, self.model) if x)

    @property
    def when(self) -> str:
        return self.created.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def sign_file(
    src: Path,
    dest: Path,
    identity: Identity,
    facts: Facts,
    *,
    chain_key: binding.ChainKey | None = None,
    trust_anchors: Sequence[str] = (),
) -> Path:
    """Write `dest`: `src` with a manifest signed by `identity` stating `facts`.

    `dest` may be `src` (signed in place, atomically). With `chain_key` (the
    orchestrator's `framemesh.chain.keys.Signer`), the assertion also carries its
    signature; its address must be `facts.address`. `trust_anchors` (PEM roots) add to
    the identity's own root when c2pa judges ingredients' manifests. Raises UnsupportedFormat,
    InvalidFacts (ingredients missing, an address that is not the certificate's or the
    chain key's) or SigningError.
    """
    src, dest = Path(src), Path(dest)
    mime = mime_type(src)
    if mime_type(dest) != mime:
        raise InvalidFacts(f"{dest.name} must keep the type of {src.name} ({mime}); signing does not convert")
    if not src.is_file():
        raise SigningError(f"{src}: no such file to sign")
    bound = identity.address
    if bound is not None and bound != facts.address:
        raise InvalidFacts(f"the facts name orchestrator {facts.address} but the certificate binds {bound}")
    if chain_key is not None and normalize_address(chain_key.address) != facts.address:
        raise InvalidFacts(f"the chain key is {chain_key.address}, not the orchestrator {facts.address}")
    for item in facts.inputs:
        if not Path(item.path).is_file():
            raise InvalidFacts(f"ingredient {item.path} is missing")

    definition = _definition(dest, mime, identity, facts, chain_key)
    read_in: list[tuple[dict[str, Any], str, Path]] = []
    for n, item in enumerate(facts.inputs):
        path = Path(item.path)
        digest = _sha256(path)
        meta: dict[str, Any] = {
            "title": item.title or path.name,
            "relationship": item.relationship,
            "label": _label(n),
            "metadata": {binding.INGREDIENT_SHA256: digest},
        }
        if path.suffix.lower() in MIME_TYPES:  # c2pa reads it, and keeps any manifest it carries
            read_in.append((meta, MIME_TYPES[path.suffix.lower()], path))
        else:  # e.g. a Matroska source segment: described, and identified by its hash
            described = {**meta, "format": _other_format(path), "instance_id": f"sha256:{digest}"}
            definition.setdefault("ingredients", []).append(described)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.signing")
    try:
        with ExitStack() as stack:
            context = stack.enter_context(c2pa.Context.from_dict(_signing_settings(identity, trust_anchors)))
            builder = stack.enter_context(c2pa.Builder(definition, context=context))
            for meta, format_, path in read_in:
                builder.add_ingredient(meta, format_, stack.enter_context(path.open("rb")))
            signer = stack.enter_context(c2pa.Signer.from_info(_signer_info(identity)))
            source = stack.enter_context(src.open("rb"))
            target = stack.enter_context(tmp.open("w+b"))
            builder.sign(signer, mime, source, target)
        os.replace(tmp, dest)
    except c2pa.C2paError as exc:
        raise SigningError(f"cannot sign {src.name}: {_reason(exc)}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def _definition(
    dest: Path, mime: str, identity: Identity, facts: Facts, chain_key: binding.ChainKey | None
) -> dict[str, Any]:
    agent = {"name": facts.agent}
    common = {"softwareAgent": agent, "when": facts.when}
    parents = [_label(n) for n, i in enumerate(facts.inputs) if i.relationship == "parentOf"]
    if facts.kind == "generated":
        actions: list[dict[str, Any]] = [
            {"action": "c2pa.created", "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA, **common},
        ]
    else:
        actions = [
            {"action": "c2pa.opened", "parameters": {"ingredientIds": parents}, **common},
            {"action": "c2pa.transcoded", **common},
        ]
        if facts.resized:
            actions.append({"action": "c2pa.resized", **common})
    for action in actions:
        action.setdefault("parameters", {})
        action["parameters"].update({"pipeline": facts.pipeline, **({"model": facts.model} if facts.model else {})})
    issuer = identity.certificate.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)
    fields: dict[str, Any] = {
        "address": facts.address,
        "job_id": facts.job_id,
        "kind": facts.kind,
        "pipeline": facts.pipeline,
        "model": facts.model,
        "software_agent": facts.agent,
        "created": facts.when,
        **({"parameters": dict(facts.parameters)} if facts.parameters is not None else {}),
        "certificate": {
            "issuer": str(issuer[0].value) if issuer else None,
            "serial": format(identity.serial, "x"),
        },
    }
    if chain_key is not None:
        fields = binding.sign(fields, chain_key)
    return {
        "claim_generator_info": [{"name": "framemesh", "version": __version__}],
        "title": dest.name,
        "format": mime,
        "assertions": [
            {"label": "c2pa.actions.v2", "data": {"actions": actions}},
            {"label": binding.LABEL, "data": fields},
        ],
    }


def _signer_info(identity: Identity) -> c2pa.C2paSignerInfo:
    return c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, identity.chain_pem.encode(), identity.key_pem.encode(), None)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _other_format(path: Path) -> str:
    suffix = path.suffix.lower()
    return _OTHER_FORMATS.get(suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def _label(n: int) -> str:
    return f"ingredient-{n}"


def _reason(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]
