"""Theorem 3 (ood) and Corollaries 1-2 (low_rank, pruning): region maths, config checks, tiny runs."""

import math

import numpy as np
import pytest
import torch
from hydra import compose, initialize
from hydra.core.global_hydra import GlobalHydra
from tolerance import tol

from experiments.config import target_of
from experiments.io import load_metrics
from experiments.one_layer import low_rank, pruning
from experiments.report import main as report_main
from experiments.run import run_experiment
from experiments.theory import corollaries, theorem3
from models.task_vectors import TaskVector
from synthetic import ConfigError
from tests.composed import headline_numbers

AX = np.round(np.arange(-2.0, 3.0 + 1e-9, 0.1), 10)


def _compose(overrides=()):
    GlobalHydra.instance().clear()
    with initialize(version_base="1.3", config_path="../conf"):
        return compose("config", overrides=list(overrides))


# ----------------------------------------------------------------------------- region maths
def test_margins_are_the_two_sums_of_theorem3():
    value, attention = theorem3.margins(AX, AX, [0.6, -0.8])
    i, j = int(np.argmin(np.abs(AX - 1.2))), int(np.argmin(np.abs(AX + 0.5)))
    assert value[i, j] == pytest.approx(0.6 * 1.2 - 0.8 * -0.5)
    assert attention[i, j] == pytest.approx(0.36 * 1.2 + 0.64 * -0.5)


def test_iou_identities():
    a = np.zeros((4, 4), bool)
    a[:2] = True
    assert theorem3.iou(a, a) == 1.0
    assert theorem3.iou(a, ~a) == 0.0
    assert theorem3.iou(a, np.ones_like(a)) == 0.5
    assert theorem3.iou(np.zeros_like(a), np.zeros_like(a)) == 1.0


def test_shape_fit_recovers_a_planted_region():
    gamma = [0.779, -0.627]
    planted = theorem3.region(AX, AX, gamma, 0.4, 2.0)
    fit = theorem3.fit_shape(AX, AX, gamma, planted)
    assert fit["iou"] == 1.0
    assert fit["threshold"] == pytest.approx(0.4)
    assert fit["box"] == pytest.approx(2.0)
    assert fit["box_binds"]


def test_half_plane_control_detects_a_value_only_region():
    gamma = [0.779, -0.627]
    value, _ = theorem3.margins(AX, AX, gamma)
    measured = value >= 0.8
    ctl = theorem3.fit_half_planes(AX, AX, gamma, measured)
    assert ctl["value_only"]["iou"] == 1.0
    assert ctl["attention_only"]["iou"] < 1.0
    assert theorem3.fit_shape(AX, AX, gamma, measured)["iou"] < 1.0


def test_literal_region_box_is_c_over_beta():
    gamma = [1.0, 0.0]
    r = theorem3.literal_region(AX, AX, gamma, c=0.5, beta=0.25)  # box |λ| <= 2
    L1, L2 = np.meshgrid(AX, AX, indexing="ij")
    assert r.any()
    assert (
        np.all(L1[r] >= 1.5 - 1e-9)
        and np.all(L1[r] <= 2 + 1e-9)
        and np.all(np.abs(L2[r]) <= 2 + 1e-9)
    )


def test_feasibility_matches_the_theorems_impossibility_cases():
    assert theorem3.feasible([1.0, 0.0], 1.0, 3.0, AX, AX)
    # γ = (−1, 0): Σλγ ≥ 1 needs λ1 ≤ −1, Σλγ² ≥ 1 needs λ1 ≥ 1.
    assert not theorem3.feasible([-1.0, 0.0], 1.0, 3.0, AX, AX)
    assert not theorem3.feasible([0.2, 0.1], 1.0, 3.0, AX, AX)


def test_corollaries_keep_guarantees_only_where_every_full_success_survives():
    edits = ["a", "b", "c"]
    full = {"a": {"success": True}, "b": {"success": False}, "c": {"success": True}}
    by_level = {
        "1": {"a": {"success": True}, "b": {"success": True}, "c": {"success": False}},
        "2": {"a": {"success": True}, "b": {"success": False}, "c": {"success": True}},
        "4": {"a": {"success": True}, "b": {"success": False}, "c": {"success": True}},
    }
    assert corollaries.kept_guarantees(full, by_level["1"], edits) == (["a", "c"], ["a"])
    assert corollaries.smallest_keeping_all(full, by_level, [4, 2, 1], edits) == 2
    assert corollaries.smallest_keeping_all(full, {"1": by_level["1"]}, [1], edits) is None
    assert corollaries.row_norm_ratio(64) == pytest.approx(math.sqrt(math.log(64) / 64))


# ----------------------------------------------------------------------------- config checks
def test_paper_gamma_is_normalised_explicitly():
    t = target_of({"gamma": [0.792, -0.637], "kappa": None, "normalize": True})
    assert t["kappa"] == 0.0
    assert math.hypot(*t["gamma"]) == pytest.approx(1.0)
    assert t["norm2_input"] == pytest.approx(0.792**2 + 0.637**2)
    t = target_of({"gamma": [0.2, -0.4], "kappa": None, "normalize": False})
    assert t["kappa"] == pytest.approx(math.sqrt(0.8)) and t["scale"] == 1.0


@pytest.mark.parametrize(
    ("exp", "pattern"),
    [
        ({"gamma": [0.792, -0.637], "normalize": False}, r"Σγ² \+ κ² = 1\.0330 must equal 1"),
        ({"gamma": [0.9, 0.9], "normalize": True}, r"1\.6200 > 1\.1 is too far"),
        ({"gamma": [0.5], "normalize": False}, r"must list 2 coefficients"),
        ({"gamma": [0.0, 0.0], "normalize": False}, r"some γ_i must be non-zero"),
        ({"gamma": [0.6, 0.0], "kappa": 0.6, "normalize": False}, r"must equal 1"),
        ({"gamma": [1.5, 0.0], "normalize": True}, r"gamma\[0\]=1\.5 is invalid"),
    ],
)
def test_bad_targets_fail_with_one_line(exp, pattern):
    with pytest.raises(ConfigError, match=pattern) as err:
        target_of({"kappa": None, **exp})
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("overrides", "pattern"),
    [
        (
            ["experiment=ood", "experiment.normalize=false"],
            r"^experiment\.gamma=.*Σγ² \+ κ² = 1\.0330",
        ),
        (
            ["experiment=ood_span", "experiment.gamma=[0.9,0.9]"],
            r"^experiment\.gamma=\[0\.9, 0\.9\] is invalid",
        ),
        (
            ["experiment=ood", "experiment.kappas=[0,1.2]"],
            r"^experiment\.kappas\[1\]=1\.2 is invalid",
        ),
        (["experiment=ood", "eval.lam.step=0"], r"^eval\.lam\.step=0 is invalid"),
        (
            ["experiment=low_rank", "experiment.ranks=[1,40]"],
            r"^experiment\.ranks\[\]=40 is invalid: must be <= 32$",
        ),
        (
            ["experiment=low_rank", "experiment.ranks=[0]"],
            r"^experiment\.ranks\[\]=0 is invalid: must be >= 1$",
        ),
        (
            ["experiment=pruning", "experiment.keep=[0.5,0]"],
            r"^experiment\.keep\[1\]=0 is invalid: must be in \(0, 1\]$",
        ),
        (
            ["experiment=pruning", "experiment.keep=[1.5]"],
            r"^experiment\.keep\[0\]=1\.5 is invalid",
        ),
        (
            ["experiment=pruning", "experiment.ood_gamma=[1.0,0.5]"],
            r"^experiment\.ood_gamma=.*must equal 1",
        ),
    ],
)
def test_bad_overrides_fail_before_any_work(overrides, pattern, tmp_path):
    cfg = _compose(overrides)
    with pytest.raises(ConfigError, match=pattern) as err:
        run_experiment(cfg, tmp_path / "out")
    assert "\n" not in str(err.value)
    assert not (tmp_path / "out").exists()


# ----------------------------------------------------------------------------- transforms
def test_truncate_touches_only_the_named_matrices():
    g = torch.Generator().manual_seed(0)
    tv = TaskVector({"W": torch.randn(8, 8, generator=g), "V": torch.randn(16, 8, generator=g)})
    out = low_rank.truncate(tv, 2, ("W",))
    assert torch.linalg.matrix_rank(out["W"]) == 2
    assert torch.equal(out["V"], tv["V"])
    # full rank: U S Vᵀ of a float32 SVD, sums over the 16·8 entries, relative to ‖τ‖
    bound = tol(torch.float32, 16 * 8, max(v.norm() for v in tv.values()))
    assert low_rank.truncate(tv, 8, ("W", "V")).allclose(tv, rtol=0, atol=bound)


def test_two_groups_finds_a_planted_split():
    rng = np.random.default_rng(0)
    norms = np.concatenate([rng.uniform(0.9, 1.1, 30), rng.uniform(0.009, 0.011, 70)])
    g = pruning.two_groups(norms)
    assert g["large_fraction"] == pytest.approx(0.3)
    assert g["ratio"] == pytest.approx(0.01, rel=0.2)


# ----------------------------------------------------------------------------- tiny end-to-end runs
TINY = ["experiment.n_seeds=2", "data.n_test=256", "train.n_val=128"]


def test_ood_tiny_run_writes_the_promised_metrics(tmp_path):
    cfg = _compose(
        [
            "experiment=ood",
            *TINY,
            "eval.lam.step=0.5",
            "experiment.sweep_lam.step=1.0",
            "experiment.n_val=128",
            "experiment.sweep_n=128",
            "experiment.kappas=[0.0,1.0]",
            "experiment.gamma_map_step=0.5",
            "experiment.map_seeds=1",
            "experiment.map_n=64",
        ]
    )
    out = tmp_path / "results" / "ood"
    m = run_experiment(cfg, out)
    on_disk = load_metrics(out / "metrics.json")
    headline_numbers(on_disk)
    l1, l2 = on_disk["lambda1"], on_disk["lambda2"]
    assert l1[0] == -2.0 and l1[-1] == 3.0 and len(l1) == 11
    for key in ("acc_mean", "hinge_mean"):
        assert np.asarray(on_disk[key]).shape == (len(l1), len(l2))
    for key in ("gamma", "gamma_hat", "best", "finetuned_target_acc", "claims", "table2"):
        assert key in on_disk
    b = m["best"]
    i, j = l1.index(b["lambda1"]), l2.index(b["lambda2"])
    assert b["test_acc"] == pytest.approx(m["acc_mean"][i][j])
    assert b["test_hinge"] == pytest.approx(m["hinge_mean"][i][j])
    # paper's γ: the grid reaches T'; κ = 1: nothing does (labels independent of what was learned)
    assert max(map(max, m["acc_mean"])) >= 0.95
    at1 = next(r for r in m["kappa_sweep"] if r["kappa"] == 1.0)
    assert at1["best"]["acc"]["mean"] <= 0.75 and at1["best"]["hinge"]["mean"] >= 0.5
    assert m["gamma_map"] and all("feasible" in r for r in m["gamma_map"])
    assert on_disk["calibration"]["seeds"] == [100, 101, 102]  # β̂ and the γ map are held out
    assert np.asarray(on_disk["per_seed_hinge"]).shape == (2, len(l1), len(l2))
    rows = {r["claim"].split(": ", 1)[1]: r for r in on_disk["claims"]}
    t3 = rows["every (λ1, λ2) satisfying Theorem 3's conditions generalizes to T'"]
    assert t3["scope"] in ("in", "out") and "the smallest c whose region meets" in t3["criterion"]
    assert t3["verdict"] in ("agrees", "disagrees", "inconclusive", "untested")
    for f in m["figures"]:
        assert (out / f).stat().st_size > 1000
    report_main(["--results", str(tmp_path / "results")])
    report = (tmp_path / "results" / "REPORT.md").read_text()
    assert "Table 2 analogue" in report and "| ood |" in report


EDIT_TINY = [
    "experiment.n_seeds=1",
    "experiment.n_eval=128",
    "eval.lam.step=0.5",
    "experiment.ood_lam.step=1.0",
    "train.n_val=128",
]


def test_low_rank_full_rank_equals_the_full_vectors(tmp_path):
    cfg = _compose(["experiment=low_rank", *EDIT_TINY, "experiment.ranks=[1,32]"])
    m = run_experiment(cfg, tmp_path)
    full, top = m["full"], m["results"]["both"]["32"]
    for e in m["edits"]:
        assert top[e]["hinge"] == pytest.approx(full[e]["hinge"], abs=1e-4)
        assert top[e]["success"] == full[e]["success"]
    for name, sp in m["spectra"].items():
        for k in ("W", "V"):
            r = np.asarray(sp[k]["relative_residual"])
            assert r[-1] == pytest.approx(0.0, abs=1e-6), name
            assert np.all(np.diff(r) <= 1e-9)
    assert len(m["accuracy"]["both"]["ood"]) == 2
    for e in m["edits"]:  # λ chosen per seed on validation, T1's coefficient included
        assert len(full[e]["slack"]) == len(full[e]["lambda1"]) == 1
    assert (tmp_path / "low_rank.png").stat().st_size > 1000
    headline_numbers(m)


def test_pruning_keep_one_equals_the_full_vectors(tmp_path):
    cfg = _compose(["experiment=pruning", *EDIT_TINY, "experiment.keep=[1.0,0.5]"])
    m = run_experiment(cfg, tmp_path)
    for meth in ("rows", "magnitude"):
        for e in m["edits"]:
            assert m["results"][meth]["1.0"][e]["hinge"] == pytest.approx(
                m["full"][e]["hinge"], abs=1e-6
            )
    assert len(m["row_norms"]["T1"]) == m["width"] and len(m["groups_per_seed"]["T1"]) == 1
    for row in m["claims"]:
        assert row["scope"] in ("in", "out") and "own_hinge" in row["assumptions"]
    assert m["keep"] == [1.0, 0.5]
    assert (tmp_path / "pruning.png").stat().st_size > 1000
    headline_numbers(m)
