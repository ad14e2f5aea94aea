import json
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize
from hydra.core.global_hydra import GlobalHydra

from experiments.io import atomic_write_json, atomic_write_text, load_metrics
from experiments.report import main as report_main
from experiments.run import run_experiment
from synthetic import ConfigError
from tests.composed import headline_numbers

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = sorted(p.stem for p in (ROOT / "conf" / "experiment").glob("*.yaml"))


def _compose(overrides=()):
    GlobalHydra.instance().clear()
    with initialize(version_base="1.3", config_path="../conf"):
        return compose("config", overrides=list(overrides))


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_experiment_config_composes_and_validates(name):
    from experiments.config import VALIDATORS

    cfg = _compose([f"experiment={name}"])
    assert cfg.experiment.name in VALIDATORS
    setup = VALIDATORS[cfg.experiment.name](cfg)
    if name.startswith("cdigits") or name == "gradients_vit":
        # real-image experiments: a ViT, at least 3 seeds (the floor)
        assert setup.vit.image_size == 8 and len(setup.seeds) >= 3
        return
    if name == "lm_unlearning":  # language model: at least 3 seeds (the floor)
        assert setup.model.arch == "gpt2" and len(setup.seeds) >= 3
        return
    assert setup.model.d == setup.d == 32
    assert cfg.experiment.get("n_seeds", 0) >= 5  # at least 5 seeds by default


@pytest.mark.parametrize(
    ("override", "pattern"),
    [
        ("data.alpha=1.2", r"^data\.alpha=1\.2 is invalid: must be in \[-1, 1\]$"),
        ("data.delta_conf=0.3", r"^data\.delta_conf=0\.3 is invalid: must be < data\.delta_star"),
        ("data.d=2", r"^data\.d=2 is invalid: must be >= 3"),
        ("model.width=0", r"^model\.width=0 is invalid"),
        ("train.lr=-1", r"^train\.lr=-1 is invalid"),
        ("+train.momentum=0.9", r"^train\.momentum is not a valid key"),
        ("+data.foo=1", r"^data\.foo is not a valid key"),
        ("model.d=16", r"^model\.d=16 is invalid: must equal data\.d=32$"),
        ("dtype=float16", r"^dtype='float16' is invalid"),
        ("experiment.n_seeds=-1", r"^experiment\.n_seeds=-1 is invalid: must be >= 1$"),
        ("experiment.first_seed=-2", r"^experiment\.first_seed=-2 is invalid"),
        ("eval.lam.min=4", r"^eval\.lam\.min=4 is invalid: must be < eval\.lam\.max=3\.0$"),
        ("experiment.low_rank=40", r"^experiment\.low_rank=40 is invalid: must be <= 32$"),
        ("batched=maybe", r"^batched='maybe' is invalid"),
    ],
)
def test_bad_overrides_fail_in_one_line_before_any_work(override, pattern, tmp_path):
    cfg = _compose([override])
    with pytest.raises(ConfigError, match=pattern) as err:
        run_experiment(cfg, tmp_path / "out")
    assert "\n" not in str(err.value)
    assert not (tmp_path / "out").exists()


def test_foundation_run_writes_metrics_and_figures(tmp_path):
    cfg = _compose(["experiment.n_seeds=2", "data.n_test=512", "train.n_val=256"])
    m = run_experiment(cfg, tmp_path)
    on_disk = load_metrics(tmp_path / "metrics.json")
    assert on_disk["summary"]["models_trained"] == 4
    assert on_disk["summary"]["own_task"]["T1"]["test_accuracy"]["mean"] >= 0.99
    assert m["summary"]["correlation"]["alpha_exact"]["mean"] == 0.0
    for ext in ("png", "pdf"):
        assert (tmp_path / f"foundation.{ext}").stat().st_size > 1000
    assert len(list((tmp_path / "checkpoints").glob("*.pt"))) == 6
    assert not list(tmp_path.rglob("*.tmp"))
    headline_numbers(on_disk)


def test_report_is_built_from_metrics(tmp_path):
    cfg = _compose(["experiment.n_seeds=2", "data.n_test=256", "train.n_val=128"])
    run_experiment(cfg, tmp_path / "results" / "foundation")
    report_main(["--results", str(tmp_path / "results")])
    text = (tmp_path / "results" / "REPORT.md").read_text()
    assert "## Claims" in text and "## Foundation" in text and "### Scorecard" in text
    rows = [ln for ln in text.splitlines() if "| foundation |" in ln]
    assert len(rows) == 5  # one row per claim, numbered, then its criterion and measurements
    for i, row in enumerate(rows, start=1):
        assert row.startswith(f"| {i} | foundation |") and row.endswith("| — |")  # no proof run
        assert row.replace("\\|", "").count("|") == 6  # five cells, pipes in the text escaped
        assert f"\n{i}. *Criterion:* " in text
    assert "foundation/foundation.png" in text
    # provenance: one job, so every field has one value; this checkout's commit is recorded
    prov = text.split("## Provenance", 1)[1].split("## Claims", 1)[0]
    assert "1 job." in prov and "| threads | `" in prov and "not recorded" not in prov
    assert "| versions | `" in prov and "python 3." in prov and "torch 2.13.0" in prov


TIMING = ("wall_seconds", "train_seconds", "seconds_per_trained_model", "one_line")


def _without_timing(obj):
    if isinstance(obj, dict):
        return {k: _without_timing(v) for k, v in obj.items() if k not in TIMING}
    if isinstance(obj, list):
        return [_without_timing(v) for v in obj]
    return obj


def test_same_config_same_numbers(tmp_path):
    """Same config and seed, no cache: identical metrics.json on CPU (timings aside)."""
    cfg = _compose(
        [
            "experiment.n_seeds=1",
            "experiment.first_seed=3",
            "data.n_test=256",
            "train.n_val=128",
            "cache_dir=null",
        ]
    )
    run_experiment(cfg, tmp_path / "a")
    run_experiment(cfg, tmp_path / "b")
    a, b = (load_metrics(tmp_path / x / "metrics.json") for x in ("a", "b"))
    assert _without_timing(a) == _without_timing(b)
    c = _compose(
        [
            "experiment.n_seeds=1",
            "experiment.first_seed=4",
            "data.n_test=256",
            "train.n_val=128",
            "cache_dir=null",
        ]
    )
    run_experiment(c, tmp_path / "c")
    other = load_metrics(tmp_path / "c" / "metrics.json")
    assert _without_timing(other)["runs"] != _without_timing(a)["runs"]


def test_second_run_takes_every_model_from_the_cache(tmp_path):
    cfg = _compose(
        [
            "experiment.n_seeds=2",
            "data.n_test=256",
            "train.n_val=128",
            f"cache_dir={tmp_path / 'c'}",
        ]
    )
    first = run_experiment(cfg, tmp_path / "a")
    second = run_experiment(cfg, tmp_path / "b")
    assert first["summary"]["models_trained"] == 4 and first["summary"]["models_from_cache"] == 0
    assert second["summary"]["models_trained"] == 0 and second["summary"]["models_from_cache"] == 4

    def strip(m):
        return _without_timing(
            {k: v for k, v in m["summary"].items() if not k.startswith("models_")}
        )

    assert strip(first) == strip(second)
    on_disk = [load_metrics(tmp_path / x / "metrics.json") for x in ("a", "b")]
    assert _without_timing(on_disk[0]["runs"]) == _without_timing(on_disk[1]["runs"])


def test_atomic_write_leaves_the_old_file_on_failure(tmp_path):
    path = tmp_path / "metrics.json"
    atomic_write_json(path, {"a": 1})

    with pytest.raises(TypeError):
        atomic_write_json(path, {"a": object()})
    assert json.loads(path.read_text()) == {"a": 1}
    assert not list(tmp_path.glob(".*.tmp"))
    atomic_write_text(path, "x")
    assert path.read_text() == "x"


def test_json_has_no_nan(tmp_path):
    atomic_write_json(tmp_path / "m.json", {"x": float("nan"), "y": [float("inf"), 1.0]})
    assert json.loads((tmp_path / "m.json").read_text()) == {"x": None, "y": [None, 1.0]}


def _cli(*args, cwd=ROOT):
    return subprocess.run(
        [sys.executable, "-m", "experiments.run", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_cli_bad_input_exits_2_with_one_line(tmp_path):
    out = tmp_path / "run"
    r = _cli("data.alpha=3", f"hydra.run.dir={out}")
    assert r.returncode == 2
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("ConfigError")]
    assert lines == ["ConfigError: data.alpha=3 is invalid: must be in [-1, 1]"]
    assert not (out / "metrics.json").exists() and not (out / "config.yaml").exists()


@pytest.mark.slow
def test_cli_end_to_end(tmp_path):
    out = tmp_path / "run"
    r = _cli("experiment.n_seeds=1", "data.n_test=256", "progress=false", f"hydra.run.dir={out}")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("[foundation] ") and "models trained" in r.stdout
    assert load_metrics(out / "metrics.json")["experiment"] == "foundation"
    assert (out / "config.yaml").exists() and (out / "foundation.png").exists()


def test_atomic_writes_get_normal_permissions(tmp_path):
    import os

    path = atomic_write_text(tmp_path / "x.txt", "x")
    mask = os.umask(0)
    os.umask(mask)
    assert (path.stat().st_mode & 0o777) == (0o666 & ~mask)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_lambda_grid_has_one_spelling(name):
    """Each λ axis of every preset is a {min, max, step} node (eval.lam, experiment.*_lam) and no
    other spelling (lam_min, lam_step, sweep_lam_step, lambdas, ...) exists."""
    from omegaconf import OmegaConf

    cfg = OmegaConf.to_container(_compose([f"experiment={name}"]), resolve=False)
    cfg.pop("hydra", None)

    def walk(node, path):
        for k, v in node.items():
            if "lam" in k:
                assert k == "lam" or k.endswith("_lam"), f"{path}{k}: another spelling of a λ grid"
                assert isinstance(v, dict) and sorted(v) == ["max", "min", "step"], f"{path}{k}"
            elif isinstance(v, dict):
                walk(v, f"{path}{k}.")

    walk(cfg, "")
    assert sorted(cfg["eval"]["lam"]) == ["max", "min", "step"]


@pytest.mark.parametrize(
    ("preset", "label"),
    [
        ("task_pair_irrelevant", "irrelevant (α = 0.0)"),
        ("task_pair_aligned", "aligned (α = 0.8)"),
        ("task_pair_contradictory", "contradictory (α = -0.8)"),
        ("task_pair_irrelevant_noisy", "irrelevant, noisy (α = 0.0)"),
        ("task_pair_aligned_noisy", "aligned, noisy (α = 0.8)"),
        ("task_pair_contradictory_noisy", "contradictory, noisy (α = -0.8)"),
    ],
)
def test_a_pair_label_comes_from_the_config_that_ran(preset, label):
    """The presets' labels (these strings, written by hand before) follow from α and the noise; an
    override of α relabels the job instead of keeping the preset's name (a sweep over α included)."""
    from experiments.one_layer.task_pair import pair_label

    cfg = _compose([f"experiment={preset}"])
    assert cfg.experiment.label is None
    assert pair_label(cfg.data.alpha, cfg.data.noise_std) == label
    moved = _compose([f"experiment={preset}", "data.alpha=0.3"])
    assert pair_label(moved.data.alpha, moved.data.noise_std).startswith("aligned")
    assert "(α = 0.3)" in pair_label(moved.data.alpha, moved.data.noise_std)


def test_provenance_lists_each_differing_value_with_its_job_count():
    from experiments.report.provenance import provenance_section

    def job(commit, threads):
        p = {"commit": commit, "date": "2026-12-02 00:00 UTC", "machine": "m", "device": "cpu"}
        return ("x", {"provenance": {**p, "threads": threads, "versions": {"torch": "2.13.0"}}})

    text = "\n".join(provenance_section([job("a", 1), job("a", 1), job("b", 2), ("old", {})]))
    assert "| commit | `a` (2 of 4 jobs); `b` (1 of 4 jobs); not recorded (1 of 4 jobs) |" in text
    assert "| machine | `m` (3 of 4 jobs); not recorded (1 of 4 jobs) |" in text
    assert "| date | 2026-12-02 00:00 UTC … 2026-12-02 00:00 UTC |" in text
