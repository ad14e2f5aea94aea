"""The Hydra + wandb harness and the Theorem 1–2 experiments, on tiny configurations."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize
from hydra.core.global_hydra import GlobalHydra

from experiments.analysis import analyse, table1
from experiments.io import load_metrics
from experiments.one_layer import task_pair
from experiments.run import run_experiment
from tests.composed import headline_numbers

ROOT = Path(__file__).resolve().parents[1]
TINY = [
    "experiment.n_seeds=2",
    "data.n_test=128",
    "train.n_val=128",
    "eval.lam.step=0.5",
    "logging.wandb.mode=disabled",
]


def _compose(overrides):
    GlobalHydra.instance().clear()
    with initialize(version_base="1.3", config_path="../conf"):
        return compose("config", overrides=list(overrides))


def test_task_pair_writes_the_promised_metrics(tmp_path):
    cfg = _compose(["experiment=task_pair_irrelevant", *TINY])
    m = run_experiment(cfg, tmp_path)
    disk = load_metrics(tmp_path / "metrics.json")
    lams = disk["lambdas"]
    assert lams[0] == -3.0 and lams[-1] == 3.0 and len(lams) == 13
    for task in ("T1", "T2"):
        for key in ("acc_mean", "acc_std", "hinge_mean", "hinge_std"):
            assert len(disk[task][key]) == len(lams)
    assert disk["alpha"] == 0.0 and "mean" in disk["alpha_hat"]
    assert set(disk["table1"]) >= {"multi_task", "unlearning"}
    assert (tmp_path / "task_pair.png").exists() and (tmp_path / "task_pair.pdf").exists()
    assert len(disk["own_task"]) == 4  # two tasks x two seeds, each with its own-task hinge
    # the record every theorem row carries (issue 15): scope, and the run's assumption values
    rows = [c for c in disk["claims"] if c["source"] in ("Theorem 1", "Theorem 2")]
    assert len(rows) == 2 and disk["claims"] == m["claims"]
    for row in rows:
        assert {"claim", "prediction", "criterion", "measured", "verdict", "scope"} <= set(row)
        assert row["scope"] in ("in", "out") and "attention_mu_queries" in row["assumptions"]
        assert (row["scope"] == "out") == bool(row["out_of_scope_because"])
    headline_numbers(disk)
    assert len(disk["per_seed_hinge"]["T1"]) == 2 and disk["calibration"]["seeds"] == [
        100,
        101,
        102,
    ]


def test_table1_rules_on_hand_made_curves():
    lams = np.array([-1.0, 0.0, 1.0, 2.0])
    curves = {
        "T1": {
            "acc_mean": np.array([0.97, 1.0, 0.99, 0.99]),
            "hinge_mean": np.array([0.1, 0.0, 0.02, 0.01]),
        },
        "T2": {
            "acc_mean": np.array([0.3, 0.5, 0.99, 0.99]),
            "hinge_mean": np.array([1.2, 1.0, 0.03, 0.02]),
        },
    }
    t = table1(lams, curves, ft_acc_t1=1.0, ev={"retain_fraction": 0.95})
    assert (
        t["multi_task"]["lambda"] == 2.0
    )  # tie on the worse accuracy (0.99) broken by the smaller hinge
    assert t["unlearning"]["lambda"] == -1.0  # lowest T2 accuracy while T1 keeps >= 95%


def test_phase_analysis_recovers_a_planted_threshold():
    alphas = np.round(np.arange(0, 1.01, 0.25), 2)
    lams = np.round(np.arange(-3, 3.01, 0.1), 2)
    h2 = np.array([[0.0 if lam >= 1 - a else 1.0 for lam in lams] for a in alphas])
    h1 = np.array([[0.02 * abs(lam) for lam in lams] for _ in alphas])
    an = analyse(alphas, lams, h1, h2, eps=0.05)
    assert an["lambda_star_fit"]["slope"] == pytest.approx(-1.0, abs=0.05)
    assert an["lambda_star_fit"]["intercept"] == pytest.approx(1.0, abs=0.05)
    assert an["beta"]["beta_hat"] == pytest.approx(0.02, abs=1e-6) and an["beta"]["r2"] > 0.99


def test_phase_diagram_tiny_run(tmp_path):
    cfg = _compose(
        [
            "experiment=phase_diagram",
            *TINY,
            "experiment.alpha_min=-0.5",
            "experiment.alpha_max=0.5",
            "experiment.alpha_step=0.5",
        ]
    )
    m = run_experiment(cfg, tmp_path)
    assert m["alphas"] == [-0.5, 0.0, 0.5]
    assert np.asarray(m["T2"]["hinge_mean"]).shape == (3, 13)
    assert m["models_requested"] == 2 + 3 * 2 and m["models_trained"] <= 8
    assert (tmp_path / "phase_diagram.png").exists()
    headline_numbers(m, allow_nan={"retention/c_hat"})  # no α ≤ −0.6 on this grid


def test_finished_jobs_are_reused_unless_recompute(tmp_path):
    cfg = _compose(["experiment=task_pair_aligned", *TINY])
    first = run_experiment(cfg, tmp_path)
    again = run_experiment(cfg, tmp_path)
    assert again.get("reused") and again["job_key"] == first["job_key"]
    changed = run_experiment(
        _compose(["experiment=task_pair_aligned", *TINY, "eval.eps=0.1"]), tmp_path
    )
    assert not changed.get("reused")
    forced = run_experiment(
        _compose(["experiment=task_pair_aligned", *TINY, "eval.eps=0.1", "recompute=true"]),
        tmp_path,
    )
    assert not forced.get("reused")


def test_wandb_offline_run_is_written(tmp_path):
    cfg = _compose(["experiment=task_pair_aligned", *TINY[:-1], "logging.wandb.mode=offline"])
    run_experiment(cfg, tmp_path)
    runs = list((tmp_path / "wandb").glob("offline-run-*"))
    assert len(runs) == 1 and list(runs[0].glob("*.wandb"))


def test_a_wandb_failure_never_loses_metrics(tmp_path, monkeypatch, caplog):
    import wandb

    def boom(*args, **kwargs):
        raise RuntimeError("wandb is down")

    monkeypatch.setattr(wandb, "init", boom)
    cfg = _compose(["experiment=task_pair_aligned", *TINY[:-1], "logging.wandb.mode=offline"])
    m = run_experiment(cfg, tmp_path)
    assert load_metrics(tmp_path / "metrics.json")["lambdas"] == m["lambdas"]
    warned = [r for r in caplog.records if r.levelname == "WARNING"]
    assert [r.getMessage().split(" (")[0] for r in warned] == ["wandb init failed"]


def test_a_failing_job_finishes_its_wandb_run_with_exit_code_1(tmp_path, monkeypatch):
    finished = {}

    class FakeRun:
        def __init__(self):
            self.summary = {}

        def log(self, *a, **k):
            pass

        def finish(self, exit_code=0):
            finished["code"] = exit_code

    import wandb

    monkeypatch.setattr(wandb, "init", lambda **kw: FakeRun())

    def crash(*a, **k):
        raise RuntimeError("experiment crashed")

    monkeypatch.setattr(task_pair, "compute", crash)
    with pytest.raises(RuntimeError, match="experiment crashed"):
        run_experiment(_compose(["experiment=task_pair_aligned", *TINY]), tmp_path)
    assert finished["code"] == 1


def _cli(*args, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "experiments.run", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# values equal to the defaults: they only make the job directory name long (> 255 bytes in all)
LONG = ["data.delta_star=0.25", "data.delta_conf=0.125", "data.basis_seed=0", "model.seed=0",
        "model.v0_std=0.01", "model.w0_std=0.0", "train.seed=0", "train.eval_every=10",
        "eval.eps=0.05", "eval.forget_hinge=0.5", "eval.retain_fraction=0.95", "eval.memory_mb=64"]  # fmt: skip


@pytest.mark.slow
def test_tiny_multirun_sweep_end_to_end(tmp_path):
    r = _cli(
        "-m",
        "experiment=task_pair_irrelevant",
        "data.alpha=0.0,0.5",
        *TINY[:1],
        "experiment.n_seeds=1",
        "data.n_test=64",
        "eval.lam.step=1.0",
        "progress=false",
        *LONG,
        f"hydra.sweep.dir={tmp_path}",
    )
    assert r.returncode == 0, r.stderr[-2000:]
    found = sorted(tmp_path.glob("*/metrics.json"))
    assert len(found) == 2
    for p in found:  # a short name; the full overrides are recorded in the job
        assert len(p.parent.name.encode()) <= 200 < len(",".join(LONG))
        assert all(o in (p.parent / ".hydra" / "overrides.yaml").read_text() for o in LONG)
    alphas = sorted(load_metrics(p)["alpha"] for p in found)
    assert alphas == pytest.approx([0.0, 0.5])


@pytest.mark.slow
@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ("experiment=no_such_experiment", "no_such_experiment"),
        ("eval.lam.min=4", "ConfigError: eval.lam.min=4 is invalid: must be < eval.lam.max=3.0"),
        ("experiment.n_seeds=-3", "ConfigError: experiment.n_seeds=-3 is invalid: must be >= 1"),
    ],
)
def test_bad_overrides_fail_fast_on_the_cli(tmp_path, override, needle):
    r = _cli("experiment=task_pair_irrelevant", override, f"hydra.run.dir={tmp_path}", timeout=60)
    assert r.returncode != 0
    assert needle in r.stderr
    assert not (tmp_path / "metrics.json").exists()


@pytest.mark.slow
def test_sweep_declared_in_an_experiment_file(tmp_path):
    r = _cli(
        "experiment=task_pair_sweep",
        "experiment.n_seeds=1",
        "data.n_test=64",
        "eval.lam.step=1.0",
        "progress=false",
        "logging.wandb.mode=disabled",
        f"hydra.sweep.dir={tmp_path}",
    )
    assert r.returncode == 0, r.stderr[-2000:]
    alphas = sorted(load_metrics(p)["alpha"] for p in tmp_path.glob("*/metrics.json"))
    assert alphas == pytest.approx([-0.8, 0.0, 0.8])


def test_config_checks_run_before_torch_is_imported():
    """A bad override must fail before the heavy imports: validation never imports torch."""
    code = (
        "import sys\n"
        "from hydra import compose, initialize_config_dir\n"
        "import experiments.run as r\n"
        "from experiments.config import VALIDATORS\n"
        "from synthetic.checks import ConfigError\n"
        f"with initialize_config_dir(version_base='1.3', config_dir='{ROOT / 'conf'}'):\n"
        "    cfg = compose('config', overrides=['experiment=phase_diagram', 'experiment.n_seeds=-1'])\n"
        "try:\n"
        "    VALIDATORS[cfg.experiment.name](cfg)\n"
        "except ConfigError as err:\n"
        "    print(err)\n"
        "print('torch' in sys.modules)\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["experiment.n_seeds=-1 is invalid: must be >= 1", "False"]


@pytest.mark.parametrize(
    ("tty", "progress", "expected"),
    [(True, True, True), (False, True, False), (True, False, False)],
)
def test_progress_bars_only_on_a_terminal(monkeypatch, tty, progress, expected):
    """A log file gets no bars (no carriage returns in a `make reproduce` log), a terminal does."""
    import experiments.publish
    import experiments.run as run

    seen = {}
    monkeypatch.setattr(sys.stderr, "isatty", lambda: tty)
    monkeypatch.setattr(
        run, "resolve", lambda _: lambda cfg, setup, progress: {"p": seen.setdefault("p", progress)}
    )
    monkeypatch.setattr(experiments.publish, "publish", lambda *a: {})
    cfg = _compose([f"progress={str(progress).lower()}"])
    spec = run.EXPERIMENTS["foundation"]
    run.compute_and_publish(spec, cfg, None, Path("unused"), "key")
    assert seen["p"] is expected
