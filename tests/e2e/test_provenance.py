"""Every rendition carries a C2PA manifest; the gateway checks it and refuses forgeries."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import httpx

from framemesh.devnet import Devnet, DevnetConfig
from framemesh.net.server import ServerThread
from framemesh.sdk.client import GatewayClient
from tests.e2e.adversary import forging_orchestrator
from tests.e2e.clips import PROFILES
from tests.e2e.nodes import gateway_thread, orchestrator_thread

HONEST = "0x" + "aa" * 20
OTHER = "0x" + "bb" * 20


def _run(gateway: str, clip: Path, out: Path):  # type: ignore[no-untyped-def]
    async def go():  # type: ignore[no-untyped-def]
        async with GatewayClient(gateway) as client:
            job = await client.submit(clip, PROFILES)
            status = await client.wait(job.id, timeout=180)
            master = await client.download(status, out) if status.state == "completed" else None
            return status, master

    return asyncio.run(go())


def test_forged_signature_is_caught(tmp_path: Path, clip: Path) -> None:
    forger_app = forging_orchestrator(tmp_path / "forger", claims=OTHER, signs_as=HONEST)
    forger = ServerThread(forger_app).start()
    honest = orchestrator_thread(tmp_path, "honest")
    gw = gateway_thread(tmp_path, [forger.url, honest.url], avoid_seconds=60.0)
    try:
        status, master = _run(gw.url, clip, tmp_path / "ladder")
        assert status.state == "completed", status.error
        assert status.orchestrators == {honest.url: 3}
        assert forger_app.state.calls >= 1
        caught = [e.message for e in status.errors if e.orchestrator == forger.url]
        assert caught and all("provenance" in m and OTHER.lower() in m.lower() for m in caught), caught
        # the delivered segments carry the honest orchestrator's manifests
        seg = next((tmp_path / "ladder" / "360p").glob("seg_*.mp4"))
        rel = seg.relative_to(tmp_path / "ladder").as_posix()
        facts = httpx.get(f"{gw.url}/provenance/{status.id}/{rel}").json()
        assert facts["status"] == "untrusted"  # this gateway has no trust anchors
        active = facts["manifests"][0]
        assert active["job_id"] == status.id and active["pipeline"] == "transcode"
        assert "c2pa.transcoded" in active["actions"] or "c2pa.resized" in active["actions"]
        assert httpx.get(f"{gw.url}/provenance/{status.id}/%2e%2e/%2e%2e/gateway.sqlite").status_code == 404
    finally:
        gw.stop()
        honest.stop()
        forger.stop()


def test_devnet_outputs_are_valid_and_name_their_orchestrator(tmp_path: Path, clip: Path) -> None:
    with Devnet(DevnetConfig(root=tmp_path / "net")) as net:
        status, master = _run(net.gateway.url, clip, tmp_path / "ladder")
        assert status.state == "completed", status.errors
        by_url = {n.url: n.signer.address for n in net.orchestrators}
        addresses = set()
        for seg in sorted((tmp_path / "ladder" / "240p").glob("seg_*.mp4")):
            rel = seg.relative_to(tmp_path / "ladder").as_posix()
            facts = httpx.get(f"{net.gateway.url}/provenance/{status.id}/{rel}").json()
            assert facts["status"] == "valid", facts["problems"]
            addresses.add(facts["address"].lower())
        assert addresses <= {a.lower() for a in by_url.values()} and addresses
        # anyone can check a file with the CLI, given the devnet CA
        seg = next((tmp_path / "ladder" / "360p").glob("seg_*.mp4"))
        ok = subprocess.run([sys.executable, "-m", "framemesh", "verify", str(seg), "--trust", str(net.keys_dir / "ca.pem")],
                            capture_output=True, text=True)
        assert ok.returncode == 0 and "valid" in ok.stdout.lower(), ok.stdout + ok.stderr
        data = bytearray(seg.read_bytes())
        data[-100] ^= 0xFF  # one byte of the media
        bad = tmp_path / "tampered.mp4"
        bad.write_bytes(bytes(data))
        tampered = subprocess.run([sys.executable, "-m", "framemesh", "verify", str(bad), "--trust", str(net.keys_dir / "ca.pem")],
                                  capture_output=True, text=True)
        assert tampered.returncode == 1 and "tampered" in (tampered.stdout + tampered.stderr).lower()
