"""Concurrent runs are safe: a lock per job directory and per cache entry (the second process waits
and then reuses), temporary files removed only under the lock (their writer is dead), directory
entries replaced atomically."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from models.store import DirStore, TensorStore
from synthetic.files import locked

ROOT = Path(__file__).resolve().parents[1]


def _spawn(code: str, *args: str, module: bool = False) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "WANDB_MODE": "disabled"}
    return subprocess.Popen(
        [sys.executable, "-m" if module else "-c", code, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _outputs(procs: list[subprocess.Popen], timeout: int) -> list[str]:
    """The stdout of every process, each of which must exit 0."""
    outs = []
    for p in procs:
        out, err = p.communicate(timeout=timeout)
        assert p.returncode == 0, err
        outs.append(out)
    return outs


HOLD = """
import sys, time
from synthetic.files import locked
with locked(sys.argv[1], "the test lock"):
    print("start", time.monotonic(), flush=True)
    time.sleep(0.5)
    print("end", time.monotonic(), flush=True)
"""


def test_two_processes_never_hold_a_lock_at_once(tmp_path):
    spans = []
    for out in _outputs([_spawn(HOLD, str(tmp_path / ".lock")) for _ in range(2)], 60):
        lines = dict(line.split() for line in out.splitlines())
        spans.append((float(lines["start"]), float(lines["end"])))
    (_, e1), (s2, _) = sorted(spans)
    assert e1 <= s2, f"the two holders overlapped: {spans}"


def test_a_lock_is_reentrant_within_a_process(tmp_path):
    with locked(tmp_path / ".lock"), locked(tmp_path / ".lock"):  # no deadlock
        pass
    with locked(tmp_path / ".lock"):  # released: can be taken again
        pass


TRAIN = """
import sys
from models import ModelConfig, TrainConfig, pretrained_model
from models.cache import ModelCache
from synthetic import TokenConfig, make_task, pair_geometry
c = ModelCache(sys.argv[1])
task = make_task(pair_geometry(32, 0.0), "T1", TokenConfig())
c.finetune(pretrained_model(ModelConfig()), task, TrainConfig(seed=5, n_steps=300, eps=0.0))
print(c.stats.trained, c.stats.hits)
"""


def test_two_processes_needing_one_model_train_it_once(tmp_path):
    outs = _outputs([_spawn(TRAIN, str(tmp_path / "cache")) for _ in range(2)], 300)
    counts = [tuple(int(x) for x in out.split()) for out in outs]
    assert sorted(counts) == [(0, 1), (1, 0)], counts  # one trained, the other waited and loaded


def test_a_killed_writers_temporary_files_are_removed_under_the_lock(tmp_path):
    import torch

    store = TensorStore(tmp_path, "fmt")
    key = "ab" + "0" * 62
    stale = store.path(key).parent / f".{key}.pt.x1y2.tmp"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"")  # what kill -9 in the middle of a write leaves
    store.store(key, {"w": torch.ones(2)}, history={"loss": [1.0]})
    assert not stale.exists() and store.load(key)["history"] == {"loss": [1.0]}


def test_a_directory_entry_is_replaced_atomically_and_stale_temps_go(tmp_path):
    store = DirStore(tmp_path)
    key = "cd" + "1" * 62
    stale = store.path(key).parent / f".tmp-{key}-dead"
    stale.mkdir(parents=True)
    for version in ("one", "two"):
        store.store(key, lambda d, v=version: (d / "w.txt").write_text(v), {"v": version})
        text, meta = store.load(key, lambda d: (d / "w.txt").read_text(), "entry")
        assert text == version and meta["info"] == {"v": version}
    assert not stale.exists()
    assert sorted(p.name for p in store.path(key).parent.iterdir()) == [f".{key}.lock", key]


RUN = [
    "experiment=task_pair_irrelevant",
    "experiment.n_seeds=1",
    "train.n_steps=100",
    "data.n_test=256",
    "train.n_val=128",
    "eval.lam.step=0.5",
    "progress=false",
    "logging.wandb.mode=disabled",
]


@pytest.mark.slow
def test_the_same_job_started_twice_runs_once_and_both_succeed(tmp_path):
    """Two identical commands, one output directory: the second waits for the first's lock, then
    reuses its job; neither fails, the metrics are those of one run."""
    out = tmp_path / "job"
    args = [*RUN, f"hydra.run.dir={out}", f"cache_dir={tmp_path / 'cache'}"]
    procs = []
    for _ in range(2):
        procs.append(_spawn("experiments.run", *args, module=True))
        time.sleep(0.2)
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert sum("(reused: same config and code)" in o for o, _ in outs) == 1, outs
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["experiment"] == "task_pair"
    assert not list(out.glob(".*.tmp"))
