"""``make reproduce`` on two tiny presets through its default launcher (joblib, ``cores``) and through
the cluster code path (submitit) run on this machine (``LAUNCHER=local``)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["", "local"])
def test_make_reproduce_builds_the_report_through_each_launcher(tmp_path, launcher):
    venv = Path(sys.prefix)
    stamp = tmp_path / "stamp"  # newer than pyproject.toml: make installs nothing into this venv
    stamp.touch()
    tiny = f"experiment.n_seeds=1 data.n_test=128 train.n_val=128 logging.wandb.mode=disabled cache_dir={tmp_path / 'cache'}"
    r = subprocess.run(
        ["make", "reproduce", f"VENV={venv}", f"STAMP={stamp}",
         *([f"LAUNCHER={launcher}"] if launcher else []), "PRESETS=foundation task_pair_aligned", "PROOF_PRESETS=foundation",
         f"RESULTS={tmp_path / 'results'}", f"LAUNCH_ARGS={tiny}"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    results = tmp_path / "results"
    jobs = sorted(p.parent.relative_to(results).as_posix() for p in results.rglob("metrics.json"))
    assert jobs == ["foundation", "proof/foundation", "task_pair_aligned"]
    assert (
        json.loads((results / "proof/foundation/metrics.json").read_text())["config"]["regime"]
        == "proof"
    )
    report = (results / "REPORT.md").read_text()
    assert "## Claims" in report and "| task_pair_aligned |" in report
    assert json.loads((results / "reproduce.json").read_text())["launcher"] == (launcher or "cores")
    assert (results / "figure1.png").exists()
