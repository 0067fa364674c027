"""`framemesh keys api ...` against a real gateway process, and a gateway that would
be open to no one (or to everyone without saying so) refuses to start."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.e2e.nodes import gateway_process


def framemesh(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "framemesh", *args], capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "COLUMNS": "200", **env},
    )


def test_a_gateway_no_one_could_use_does_not_start(tmp_path: Path) -> None:
    result = framemesh("gateway", "start", "--data-dir", str(tmp_path), "--port", "9", "--orchestrator", "http://127.0.0.1:9")
    assert result.returncode == 2
    assert "--open" in result.stderr and "--admin-token" in result.stderr
    assert "Traceback" not in result.stderr


def test_keys_are_created_listed_used_and_revoked_from_the_cli(tmp_path: Path) -> None:
    with gateway_process(tmp_path, ["http://127.0.0.1:9"], "--admin-token", "adm-cli") as gw:
        no_token = framemesh("keys", "api", "list", "--gateway", gw.url)
        assert no_token.returncode == 2 and "admin token" in no_token.stderr

        created = framemesh("keys", "api", "create", "--name", "ci-user", "--spend-limit", "0.1 ETH/day",
                            "--rate", "5/s", "--concurrency", "4", "--gateway", gw.url, FRAMEMESH_ADMIN_TOKEN="adm-cli")
        assert created.returncode == 0, created.stderr
        secret = re.search(r"fmk_[\w-]+", created.stdout)
        assert secret, created.stdout
        key_id = re.search(r"API key (\w+) for 'ci-user'", created.stdout)
        assert key_id, created.stdout
        assert "spend 0.1 ETH/day, rate 5/s, 4 at once" in created.stdout

        listed = framemesh("keys", "api", "list", "--gateway", gw.url, FRAMEMESH_ADMIN_TOKEN="adm-cli")
        assert listed.returncode == 0 and "ci-user" in listed.stdout and key_id[1] in listed.stdout
        assert secret[0] not in listed.stdout, "the list never shows a key"

        usage = framemesh("keys", "api", "usage", "--gateway", gw.url, FRAMEMESH_API_KEY=secret[0])
        assert usage.returncode == 0 and "ci-user" in usage.stdout and "nothing yet" in usage.stdout

        revoked = framemesh("keys", "api", "revoke", key_id[1], "--gateway", gw.url, FRAMEMESH_ADMIN_TOKEN="adm-cli")
        assert revoked.returncode == 0 and "revoked" in revoked.stdout
        refused = framemesh("keys", "api", "usage", "--gateway", gw.url, FRAMEMESH_API_KEY=secret[0])
        assert refused.returncode != 0 and "revoked" in refused.stderr and "Traceback" not in refused.stderr
    assert secret[0] not in gw.log_path.read_text(), "keys never appear in the gateway's log"
