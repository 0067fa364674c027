"""`framemesh metrics-doc` prints docs/metrics.md as the nodes define their metrics."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from framemesh.cli.metrics_doc import metrics_page

ROOT = Path(__file__).resolve().parents[2]


def test_metrics_doc_prints_the_reference_page(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "framemesh", "metrics-doc"], capture_output=True, text=True,
                            timeout=120, cwd=tmp_path, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == metrics_page() == (ROOT / "docs" / "metrics.md").read_text()
    assert "| `framemesh_tickets_sent_total` | counter |" in result.stdout
    assert "## Histogram buckets" in result.stdout
