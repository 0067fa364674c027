"""The gateway's judgement of a rendition's provenance, before it pays or delivers.

Pure: the verdict is read elsewhere (`provenance.verify.read_provenance`, in a worker).
Refused always: no manifest, a tampered or invalid one, one for another job, one
naming an orchestrator other than the one that did the work (and was paid), one whose
source ingredient is not the segment the gateway sent. Refused when the gateway has
trust anchors: a signer that does not chain to one of them.
"""

from __future__ import annotations

from framemesh.provenance.verify import Verdict


def provenance_problem(
    verdict: Verdict,
    *,
    job_id: str,
    expected_address: str | None,
    source_sha256: str | None,
    strict_trust: bool,
) -> str | None:
    """Why this rendition's provenance is not acceptable; None when it is."""
    if verdict.status == "untrusted":
        if strict_trust:
            return "its manifest is signed by a certificate that no trust anchor of this gateway vouches for"
    elif verdict.status != "valid":
        why = "; ".join(verdict.problems[:2]) or verdict.status
        return f"its provenance is {verdict.status}: {why}"
    active = verdict.active
    if active is None:
        return "it carries no manifest"
    if active.job_id != job_id:
        return f"its manifest is for job {active.job_id!r}, not {job_id!r}"
    if expected_address is not None and (verdict.address or "").lower() != expected_address.lower():
        return f"its manifest names orchestrator {verdict.address}, but {expected_address} did the work"
    if source_sha256 is not None and source_sha256 not in active.ingredient_sha256:
        return "its manifest does not name the segment it was made from as its source"
    return None
