"""The wandb edge: numeric summaries under stable keys, curves as logged steps, run identity, and the
sync-free reader of offline runs (experiments.wandb_offline)."""

import struct
import subprocess
import sys
from pathlib import Path

import pytest

from experiments.summary import claims_summary, num
from experiments.tracking import RunIdentity, artifact_name, log_curves
from experiments.wandb_offline import BLOCK, FIRST, FULL, HEADER, LAST, MIDDLE, find_runs, read_run
from experiments.wandb_offline import records as read_records

ROOT = Path(__file__).resolve().parents[1]


def _log_file(payloads: list[bytes]) -> bytes:
    """A LevelDB-style log as wandb writes it: header, then each payload split at block ends."""
    out = bytearray(b":W&B\xe1\xbe\x00")
    assert len(out) == HEADER
    for data in payloads:
        first = True
        while True:
            left = BLOCK - len(out) % BLOCK
            if left < 7:
                out += b"\x00" * left
                continue
            chunk, data = data[: left - 7], data[left - 7 :]
            kind = (FULL if not data else FIRST) if first else (LAST if not data else MIDDLE)
            out += struct.pack("<IHB", 0, len(chunk), kind) + chunk
            first = False
            if not data:
                break
    return bytes(out)


def test_records_are_reassembled_across_blocks():
    payloads = [b"a" * 10, b"b" * (3 * BLOCK + 123), b"", b"c" * (BLOCK - 7 - HEADER - 17 - 7)]
    assert read_records(_log_file(payloads)) == payloads


def test_claims_summary_counts_each_verdict_and_the_in_scope_rows():
    rows = [
        {"verdict": "agrees", "scope": "in"},
        {"verdict": "agrees", "scope": "out"},
        {"verdict": "disagrees", "scope": "in"},
        {"verdict": "inconclusive"},
    ]
    s = claims_summary(rows)
    assert (s["claims/total"], s["claims/agrees"], s["claims/disagrees"]) == (4.0, 2.0, 1.0)
    assert (s["claims/inconclusive"], s["claims/untested"]) == (1.0, 0.0)
    assert (s["claims/in_scope/total"], s["claims/in_scope/agrees"]) == (2.0, 1.0)
    assert [s[f"claim/{i}/agrees"] for i in range(4)] == [1.0, 1.0, 0.0, 0.0]
    assert [s[f"claim/{i}/in_scope"] for i in range(4)] == [1.0, 0.0, 1.0, 0.0]


def test_num_keeps_numbers_and_turns_the_rest_into_nan():
    assert num(3) == 3.0 and num(True) == 1.0 and num(-0.5) == -0.5
    assert all(num(v) != num(v) for v in (None, float("inf"), "1.0", [1.0], {"mean": 1.0}))


class FakeRun:
    def __init__(self):
        self.defined, self.logged = [], []

    def define_metric(self, name, step_metric=None):
        self.defined.append((name, step_metric))

    def log(self, row):
        self.logged.append(row)


def test_curves_are_logged_as_steps_against_their_own_x():
    metrics = {
        "tables": {
            "training_curves": {
                "columns": ["run", "step", "val_hinge", "note"],
                "rows": [
                    ["T1/seed0", 0, 0.9, "x"],
                    ["T1/seed0", 10, 0.1, "y"],
                    ["T2/seed0", 0, 1.0, "z"],
                ],
            }
        },
        "line_plots": [  # two plots of one table and x: logged once
            {
                "table": "training_curves",
                "x": "step",
                "y": "val_hinge",
                "stroke": "run",
                "title": "a",
            },
            {
                "table": "training_curves",
                "x": "step",
                "y": "val_hinge",
                "stroke": "run",
                "title": "b",
            },
        ],
    }
    run = FakeRun()
    log_curves(run, metrics)
    step = "curves/training_curves/step"
    assert run.defined == [(step, None), ("curves/training_curves/*", step)]
    assert run.logged == [
        {step: 0, "curves/training_curves/T1/seed0/val_hinge": 0.9},
        {step: 10, "curves/training_curves/T1/seed0/val_hinge": 0.1},
        {step: 0, "curves/training_curves/T2/seed0/val_hinge": 1.0},
    ]


def test_a_run_is_named_by_the_overrides_that_change_its_numbers():
    from experiments.run import numbered_overrides

    given = ["experiment=task_pair_aligned", "experiment.n_seeds=2", "data.alpha=0.5", "regime=proof",
             "logging.wandb.mode=offline", "hydra/launcher=cores", "progress=false", "+data.x=1",
             "cache_dir=/tmp/c", "recompute=true"]  # fmt: skip
    assert numbered_overrides(given) == (
        "experiment.n_seeds=2", "data.alpha=0.5", "regime=proof", "+data.x=1"
    )  # fmt: skip


def test_run_identity_names_tags_and_artifact():
    who = RunIdentity("task_pair_aligned", "one_layer", "proof", ("data.alpha=0.5", "regime=proof"))
    assert who.name == "task_pair_aligned data.alpha=0.5 regime=proof"
    assert who.tags == ["preset:task_pair_aligned", "testbed:one_layer", "regime:proof"]
    assert artifact_name(who) == "task_pair_aligned-data.alpha-0.5-regime-proof-results"


@pytest.mark.slow
def test_an_offline_sweep_gives_runs_with_the_same_numeric_summary_keys(tmp_path):
    """Two jobs of a ``data.alpha`` sweep, offline: their summaries (read without syncing) hold the
    headline numbers under the same keys, and each run is named, tagged and grouped by preset."""
    r = subprocess.run(
        [sys.executable, "-m", "experiments.run", "-m", "experiment=task_pair_irrelevant",
         "data.alpha=0.0,0.5", "experiment.n_seeds=1", "data.n_test=64", "train.n_val=64",
         "eval.lam.step=1.0", "logging.wandb.mode=offline", f"hydra.sweep.dir={tmp_path}",
         f"cache_dir={tmp_path / 'cache'}"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.count("[task_pair] ") == 2 and "wandb:" not in r.stdout + r.stderr
    runs = [read_run(p) for p in find_runs(tmp_path)]
    assert len(runs) == 2 and all(run.exit_code == 0 for run in runs)
    numeric = [{k for k, v in run.summary.items() if isinstance(v, float | int)} for run in runs]
    assert numeric[0] == numeric[1]
    for key in ("thm1/lambda", "thm2/lambda", "alpha_hat/mean", "claims/agrees", "data/alpha"):
        assert key in numeric[0], key
    assert sorted(run.summary["data/alpha"] for run in runs) == [0.0, 0.5]
    for run in runs:
        assert run.group == "task_pair_irrelevant" and run.name.startswith("task_pair_irrelevant ")
        assert {"preset:task_pair_irrelevant", "testbed:one_layer", "regime:default"} <= set(
            run.tags
        )
        steps = [row["curves/training_curves/step"] for row in run.history if
                 "curves/training_curves/step" in row]  # fmt: skip
        assert steps and steps[0] == 0
    logs = sorted(tmp_path.glob("*/run.log"))  # the job log holds the job's lines
    assert len(logs) == 2 and all("[task_pair] " in p.read_text() for p in logs)


@pytest.mark.slow
def test_errors_go_to_stderr_in_one_line_and_the_job_log_keeps_them(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "experiments.run", "experiment.n_seeds=1", "data.n_test=64",
         "train.lr=1e30", "logging.wandb.mode=disabled", f"hydra.run.dir={tmp_path}",
         f"cache_dir={tmp_path / 'cache'}"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.startswith("FloatingPointError: non-finite training loss")
    assert r.stderr.strip().count("\n") == 0
    assert "[ERROR] FloatingPointError: non-finite" in (tmp_path / "run.log").read_text()
