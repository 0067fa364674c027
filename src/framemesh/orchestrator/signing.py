"""Signing what the orchestrator makes: a C2PA manifest on every rendition, in the
worker process, after the last mux (a remux would strip it).

`SigningSpec` is what crosses into the worker: paths, not keys, so nothing secret is
pickled; the worker loads the identity itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from framemesh.provenance.identity import Identity, init_dev_identity, load_identity
from framemesh.provenance.sign import Facts, Ingredient, sign_file

ZERO_ADDRESS = "0x" + "00" * 20


@dataclass(frozen=True)
class SigningSpec:
    key_path: Path
    chain_path: Path
    address: str

    def identity(self) -> Identity:
        return load_identity(self.key_path, self.chain_path)


def dev_signing_spec(keys_dir: Path, *, address: str | None, name: str) -> SigningSpec:
    """A development identity from the dev CA in `keys_dir` (made once, reused)."""
    identity = init_dev_identity(keys_dir, address=address or ZERO_ADDRESS, name=name)
    bound = identity.address or address or ZERO_ADDRESS
    return SigningSpec(keys_dir / f"{bound}.key.pem", keys_dir / f"{bound}.chain.pem", bound)


def sign_renditions(spec: SigningSpec, source_segment: Path, renditions: Sequence[Path], *, job_id: str) -> None:
    """Sign each rendition in place: opened from the source segment, transcoded and resized."""
    identity = spec.identity()
    for path in renditions:
        facts = Facts(
            kind="transcoded",
            address=spec.address,
            job_id=job_id,
            pipeline="transcode",
            ingredients=(Ingredient(source_segment, "parentOf", title=f"segment of job {job_id}"),),
            resized=True,
        )
        sign_file(path, path, identity, facts)
