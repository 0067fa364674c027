"""`/outputs/…`: the gateway's outputs, at URLs that never change.

With the local folder (the default) they are served from disk, as always. With an
object store, an output the store holds is answered with a 307 redirect to a fresh
presigned URL of it (valid for the location's `expires`), so:

- playlists and API answers keep pointing at the gateway's own stable URLs, and the
  bucket can stay private: nobody reaches an object without a URL the gateway signed;
- playlists themselves are served by the gateway (from disk, or read from the store
  when the disk no longer has them): a player resolves a playlist's relative segment
  names against the URL it fetched it from, which must stay the gateway's (a presigned
  playlist URL would make every segment URL unsigned);
- an output not stored yet (just written, or the store is down) is served from disk.
"""

from __future__ import annotations

import os

import anyio
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from framemesh.gateway.core.uploads import WORK, Uploader
from framemesh.storage import StoreError
from framemesh.storage.content import content_type

PLAYLISTS = (".m3u8",)


class StoredOutputs(StaticFiles):
    def __init__(self, *, directory: os.PathLike[str] | str, uploader: Uploader) -> None:
        super().__init__(directory=directory)
        self.uploader = uploader

    async def get_response(self, path: str, scope: Scope) -> Response:
        key = path.replace(os.sep, "/")
        if key.startswith(WORK):  # jobs' inputs, kept for a takeover: not outputs
            raise HTTPException(404)
        if scope["method"] in ("GET", "HEAD") and not key.endswith(PLAYLISTS):
            if await anyio.to_thread.run_sync(self.uploader.stored, key):
                url = self.uploader.objects.url(key)
                if url is not None:
                    return RedirectResponse(url, status_code=307, headers={"Cache-Control": "no-store"})
        try:
            return await super().get_response(path, scope)
        except HTTPException as exc:
            # Not on this disk (another machine wrote it, or it was cleaned up): the store's copy.
            if exc.status_code != 404 or not await anyio.to_thread.run_sync(self.uploader.stored, key):
                raise
        try:
            body = await anyio.to_thread.run_sync(self.uploader.objects.get, key)
        except StoreError as exc:
            raise HTTPException(503, f"the object store did not answer for {key!r}: {exc}") from exc
        return Response(body if scope["method"] == "GET" else b"", media_type=content_type(key))
