"""Faults of a run and of the machine: bit-identical reruns, kill -9 and resume, crash during a write,
full disk, unwritable output, Hydra launchers. (Hostile input: ``test_hostile_input.py``.)"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hydra import compose, initialize
from hydra.core.global_hydra import GlobalHydra

from experiments.io import load_metrics
from experiments.run import run_experiment
from synthetic import ConfigError
from synthetic.files import atomic_write, locked

ROOT = Path(__file__).resolve().parents[1]
TINY = [
    "experiment.n_seeds=2",
    "data.n_test=256",
    "train.n_val=128",
    "eval.lam.step=0.5",
    "logging.wandb.mode=disabled",
    "progress=false",
]


def _compose(overrides=()):
    GlobalHydra.instance().clear()
    with initialize(version_base="1.3", config_path="../conf"):
        return compose("config", overrides=list(overrides))


def _cli(args, env_extra=None, **kw):
    env = {**os.environ, "WANDB_MODE": "disabled", **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-m", "experiments.run", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        **kw,
    )


# ----------------------------------------------------------------------------- determinism
@pytest.mark.parametrize(
    "overrides",
    [
        ["experiment=task_pair_irrelevant", *TINY],
        [
            "experiment=ood",
            *TINY,
            "eval.lam.step=1.0",
            "experiment.kappas=[0.0,1.0]",
            "experiment.sweep_lam.step=1.0",
            "experiment.n_val=64",
            "experiment.sweep_n=64",
        ],
        [
            "experiment=cdigits_pair",
            "data.max_images=200",
            "experiment.n_seeds=1",
            "model.dim=16",
            "model.depth=1",
            "model.heads=2",
            "train.pretrain.epochs=1",
            "train.finetune.epochs=1",
            "eval.lam.step=0.5",
            "logging.wandb.mode=disabled",
            "progress=false",
        ],
    ],
    ids=["task_pair", "ood", "cdigits_pair"],
)
def test_same_config_and_seed_give_bit_identical_metrics(tmp_path, overrides):
    outs = []
    for run in ("a", "b"):
        cfg = _compose([*overrides, f"cache_dir={tmp_path / run / 'cache'}"])
        run_experiment(cfg, tmp_path / run / "out")
        outs.append((tmp_path / run / "out" / "metrics.json").read_bytes())
    assert outs[0] == outs[1]
    assert b"wall_seconds" not in outs[0]  # timings live in run.json
    merged = load_metrics(tmp_path / "a" / "out" / "metrics.json")
    assert "wall_seconds" in merged and "cache_dir" in merged["config"]


# ----------------------------------------------------------------------------- kill -9 and resume
SWEEP = ["-m", "experiment=task_pair_irrelevant", "data.alpha=0.0,0.5,-0.5,0.8", *TINY]


@pytest.mark.slow
def test_killed_sweep_resumes_with_the_same_command_and_matches_an_uninterrupted_run(tmp_path):
    sweep = tmp_path / "sweep"
    args = [*SWEEP, f"hydra.sweep.dir={sweep}", f"cache_dir={tmp_path / 'cache'}"]
    env = {**os.environ, "WANDB_MODE": "disabled"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "experiments.run", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 240
    while time.time() < deadline and len(list(sweep.rglob("metrics.json"))) < 1:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # kill -9 the whole sweep in the middle of its second job
    proc.wait()
    done_before = {p.parent.name for p in sweep.rglob("metrics.json")}
    assert 1 <= len(done_before) < 4, "the sweep must be killed part-way"
    for p in sweep.rglob("metrics.json"):  # whatever exists is complete JSON
        json.loads(p.read_text())
    again = _cli(args, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    assert again.stdout.count("(reused: same config and code)") >= len(done_before)
    ref = tmp_path / "ref"
    clean = _cli(
        [*SWEEP, f"hydra.sweep.dir={ref}", f"cache_dir={tmp_path / 'cache_ref'}"], timeout=600
    )
    assert clean.returncode == 0, clean.stderr[-2000:]
    got = {p.parent.name: p.read_bytes() for p in sweep.rglob("metrics.json")}
    want = {p.parent.name: p.read_bytes() for p in ref.rglob("metrics.json")}
    assert len(want) == 4 and got == want
    assert not list(sweep.rglob(".*.tmp"))


CRASH = """
import os, signal, sys
from experiments.io import write_metrics
import synthetic.files as files
write_metrics(sys.argv[1], {"job_key": "old", "value": 1})
real_fsync = os.fsync
def crash(fd):
    os.kill(os.getpid(), signal.SIGKILL)  # power cut: new bytes written, not yet in place
files.os.fsync = crash
write_metrics(sys.argv[1], {"job_key": "new", "value": 2, "big": list(range(100000))})
"""


def test_kill_during_a_write_leaves_the_previous_metrics_intact(tmp_path):
    out = tmp_path / "job"
    proc = subprocess.run([sys.executable, "-c", CRASH, str(out)], cwd=ROOT, capture_output=True)
    assert proc.returncode == -signal.SIGKILL, "the writer must have been killed mid-write"
    # run.json may be new or old, but metrics.json (written last) must be the complete old one
    assert json.loads((out / "metrics.json").read_text()) == {"job_key": "old", "value": 1}
    assert list(out.glob(".*.tmp")), "the killed write leaves its temporary file"
    from experiments.run import remove_stale_temps

    with locked(out / ".job.lock"):  # the next run of the job removes it, holding the job's lock
        remove_stale_temps(out)
    assert not list(out.glob(".*.tmp"))


def test_full_disk_fails_clearly_and_keeps_earlier_results(tmp_path):
    path = tmp_path / "metrics.json"
    path.write_text('{"ok": true}')

    def full(fh):
        fh.write(b"{")
        raise OSError(28, "No space left on device")

    with pytest.raises(
        OSError,
        match=r"no space left on the device while writing .*metrics\.json; the previous metrics\.json is intact",
    ):
        atomic_write(path, full)
    assert path.read_text() == '{"ok": true}'
    assert not list(tmp_path.glob(".*.tmp"))


def test_unwritable_output_directory_fails_before_any_work(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    cfg = _compose(["experiment=task_pair_irrelevant", *TINY])
    with pytest.raises(ConfigError, match=r"^hydra\.run\.dir=.* is invalid: cannot write there"):
        run_experiment(cfg, blocker / "out")
    r = _cli(["experiment=task_pair_irrelevant", *TINY, f"hydra.run.dir={blocker / 'out'}"])
    assert (
        r.returncode == 2 and r.stderr.strip().count("\n") == 0 and "cannot write there" in r.stderr
    )


# ----------------------------------------------------------------------------- launchers
LAUNCH = ["-m", "experiment=task_pair_irrelevant", "data.alpha=0.0,0.5", *TINY]


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["cores", "local"])
def test_tiny_sweep_runs_on_joblib_and_submitit_local(tmp_path, launcher):
    sweep = tmp_path / launcher
    r = _cli(
        [
            *LAUNCH,
            f"hydra/launcher={launcher}",
            f"hydra.sweep.dir={sweep}",
            f"cache_dir={tmp_path / 'cache'}",
        ],
        timeout=600,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    jobs = sorted(p.parent for p in sweep.rglob("metrics.json"))
    assert len(jobs) == 2 and jobs[0] != jobs[1]  # one directory per job
    alphas = sorted(
        json.loads((j / "metrics.json").read_text())["config"]["data"]["alpha"] for j in jobs
    )
    assert alphas == [0.0, 0.5]
    from experiments.report import main as report_main

    report_main(["--results", str(sweep)])
    assert (sweep / "REPORT.md").read_text().count("| task_pair (data.alpha=") >= 4  # 3 rows each


@pytest.mark.slow
def test_a_failed_job_of_a_joblib_multirun_leaves_the_others_running(tmp_path):
    """A diverging job exits its single run with 1; inside a multirun it must not take the worker
    process (and the jobs queued on it) down: the other job finishes, the sweep exits 1 at the end."""
    sweep = tmp_path / "sweep"
    r = _cli(
        ["-m", "experiment=task_pair_irrelevant", "train.lr=1e30,1.0", *TINY,
         "hydra/launcher=cores", "hydra.launcher.n_jobs=1", f"hydra.sweep.dir={sweep}",
         f"cache_dir={tmp_path / 'cache'}"],
        timeout=600,
    )  # fmt: skip
    assert r.returncode == 1
    assert "FloatingPointError: non-finite training loss" in r.stderr
    jobs = [json.loads(p.read_text()) for p in sweep.rglob("metrics.json")]
    assert [j["config"]["train"]["lr"] for j in jobs] == [1.0]


def test_slurm_launcher_composes_and_builds_its_submission_objects(tmp_path):
    from hydra.utils import instantiate

    GlobalHydra.instance().clear()
    with initialize(version_base="1.3", config_path="../conf"):
        cfg = compose(
            "config",
            overrides=["hydra/launcher=slurm", "hydra.launcher.partition=cpu"],
            return_hydra_config=True,
        )
    lc = cfg.hydra.launcher
    assert lc._target_.endswith("SlurmLauncher") and lc.partition == "cpu" and lc.cpus_per_task == 2
    launcher = instantiate(lc)
    assert launcher.params["partition"] == "cpu"
    # the sbatch script submitit would submit for this config (building an executor needs srun)
    from submitit.slurm.slurm import _make_sbatch_string

    script = _make_sbatch_string(
        command="python -m experiments.run",
        folder=str(tmp_path / "slurm"),
        partition=lc.partition,
        time=lc.timeout_min,
        cpus_per_task=lc.cpus_per_task,
        mem=f"{lc.mem_gb}GB",
        setup=list(lc.setup),
        array_parallelism=lc.array_parallelism,
    )
    assert "#SBATCH --partition=cpu" in script and "#SBATCH --cpus-per-task=2" in script
    assert "#SBATCH --time=120" in script and "export WANDB_MODE=" in script
    # ray_cluster needs the 'ray' extra, not installed by make venv: tests/test_extras.py


@pytest.mark.slow
def test_composition_error_on_the_cli_exits_2_with_one_line(tmp_path):
    r = _cli(["data.d=abc", f"hydra.run.dir={tmp_path / 'out'}"])
    assert (
        r.returncode == 2
        and r.stderr.strip() == "ConfigError: data.d=abc is invalid: must be an integer"
    )
    assert not (tmp_path / "out").exists()
