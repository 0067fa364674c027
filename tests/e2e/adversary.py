"""An orchestrator that cheats: it answers every segment with well-formed renditions of
the right size, length and timestamps, made from another video. Only a check of the
picture itself can catch it. (An attacker runs code of their own; this is that code,
built from the real media functions.)
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from fastapi import FastAPI, Query, Request
from fastapi.responses import FileResponse

from framemesh import __version__
from framemesh.media.segment import split_segments
from framemesh.orchestrator.work import transcode_to_bundle
from framemesh.wire.bundle import MEDIA_TYPE
from framemesh.wire.orchestrator import Capabilities, OrchestratorInfo, TranscodeCapability


def cheating_orchestrator(other_clip: Path, work: Path) -> FastAPI:
    segments = split_segments(other_clip, work / "segments", target_duration=2.0)
    app = FastAPI()
    app.state.calls = 0

    @app.get("/info")
    async def info() -> OrchestratorInfo:
        return OrchestratorInfo(
            name="cheater",
            version=__version__,
            capabilities=Capabilities(transcode=TranscodeCapability(profiles=["360p", "240p"], price_per_pixel=0)),
            price_per_pixel=0,
            capacity=4,
            load=0,
        )

    @app.post("/transcode")
    async def transcode(request: Request, profiles: str = Query(), job_id: str = Query(), segment: int = Query()) -> FileResponse:
        await request.body()
        app.state.calls += 1
        out = Path(tempfile.mkdtemp(dir=work))
        bundle, _ = transcode_to_bundle(
            segments[segment].path, tuple(profiles.split(",")), out,
            job_id=job_id, index=segment, orchestrator="cheater", preset="ultrafast",
        )
        return FileResponse(bundle, media_type=MEDIA_TYPE)

    return app


def forging_orchestrator(work: Path, *, claims: str, signs_as: str) -> FastAPI:
    """Does the work honestly but signs it with someone else's identity: its /info
    claims address `claims`, its manifests name `signs_as`."""
    from framemesh.orchestrator.signing import dev_signing_spec

    spec = dev_signing_spec(work / "keys", address=signs_as, name="forger")
    app = FastAPI()
    app.state.calls = 0

    @app.get("/info")
    async def info() -> OrchestratorInfo:
        return OrchestratorInfo(
            name="forger", version=__version__, address=claims,
            capabilities=Capabilities(transcode=TranscodeCapability(profiles=["360p", "240p"], price_per_pixel=0)),
            price_per_pixel=0, capacity=4, load=0,
        )

    @app.post("/transcode")
    async def transcode(request: Request, profiles: str = Query(), job_id: str = Query(), segment: int = Query()) -> FileResponse:
        out = Path(tempfile.mkdtemp(dir=work))
        (out / "segment.mkv").write_bytes(await request.body())
        app.state.calls += 1
        bundle, _ = transcode_to_bundle(
            out / "segment.mkv", tuple(profiles.split(",")), out, job_id=job_id, index=segment,
            orchestrator="forger", preset="ultrafast", signing=spec,
        )
        return FileResponse(bundle, media_type=MEDIA_TYPE)

    return app
