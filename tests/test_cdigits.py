"""Coloured digits: colouring, IDX files, the frozen head, the ViT grid, config checks, a tiny run."""

import json
import math

import numpy as np
import pytest
import torch
from hydra import compose, initialize
from hydra.core.global_hydra import GlobalHydra

from experiments.claims.cdigits import compress_claims, pair_claims
from experiments.claims.cdigits_ood import ood_claims
from experiments.io import load_metrics
from experiments.run import run_experiment
from models.grid import evaluate_grid
from models.task_vectors import TaskVector
from models.vit import ViT, init_body, init_head, outputs
from models.vit_cache import ViTCache
from models.vit_config import ViTConfig, ViTTrainConfig
from models.vit_train import finetune
from synthetic import ConfigError
from synthetic.cdigits import colourize, load_digits, read_idx, split_indices, write_idx
from tests.composed import headline_numbers


def _compose(overrides=()):
    GlobalHydra.instance().clear()
    with initialize(version_base="1.3", config_path="../conf"):
        return compose(
            "config",
            overrides=["logging.wandb.mode=disabled", "progress=false", *overrides],
        )


# ----------------------------------------------------------------------------- data
@pytest.mark.parametrize(("r_o", "r_e"), [(0.9, 0.1), (0.5, 0.5), (0.0, 1.0), (0.3, 0.7)])
def test_colour_fractions_match_the_rates(r_o, r_e):
    n = 4000
    images = np.random.default_rng(0).random((n, 8, 8)).astype(np.float32)
    digits = np.arange(n) % 10
    x, y, red = colourize(images, digits, r_o, r_e, seed=1)
    odd = digits % 2 == 1
    for frac, r, k in ((red[odd].mean(), r_o, odd.sum()), (red[~odd].mean(), r_e, (~odd).sum())):
        sd = math.sqrt(max(r * (1 - r), 1e-12) / k)
        assert abs(frac - r) <= 4 * sd + 1e-12
    assert np.array_equal(y, np.where(odd, 1, -1))
    assert np.array_equal(x[red, 0], images[red]) and not x[red, 1].any() and not x[:, 2].any()
    assert np.array_equal(x[~red, 1], images[~red]) and not x[~red, 0].any()


def test_splits_are_fixed_disjoint_and_complete():
    a, b = split_indices(1797, (0.6, 0.15, 0.25), 0), split_indices(1797, (0.6, 0.15, 0.25), 0)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    allidx = np.concatenate(list(a.values()))
    assert len(allidx) == 1797 and len(np.unique(allidx)) == 1797
    assert (len(a["train"]), len(a["val"])) == (1078, 270)


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_round_trip_and_mnist_loader(tmp_path, suffix):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (30, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 30, dtype=np.uint8)
    p = write_idx(tmp_path / f"train-images-idx3-ubyte{suffix}", images)
    write_idx(tmp_path / f"train-labels-idx1-ubyte{suffix}", labels)
    assert np.array_equal(read_idx(p), images)
    d = load_digits("mnist", str(tmp_path))
    assert d.images.shape == (30, 28, 28) and d.images.max() <= 1.0
    assert np.array_equal(d.labels, labels.astype(np.int64))
    assert np.allclose(d.images, images / 255.0)


def test_truncated_idx_file_is_refused(tmp_path):
    p = write_idx(tmp_path / "x-idx3-ubyte", np.zeros((4, 5, 5), np.uint8))
    p.write_bytes(p.read_bytes()[:-3])
    with pytest.raises(ValueError, match="header says shape"):
        read_idx(p)


# ----------------------------------------------------------------------------- model
CFG = ViTConfig(dim=16, depth=1, heads=2)


def _psi0():
    return ViT(CFG, init_body(CFG, 0), init_head(CFG, 2, 1))


def test_finetuning_never_touches_the_parity_head():
    psi0 = _psi0()
    head = {k: v.clone() for k, v in psi0.head.items()}
    x = torch.rand(64, 3, 8, 8)
    y = torch.where(torch.rand(64) < 0.5, 1, -1)
    model, _ = finetune(
        psi0, x, y, ViTTrainConfig(optimizer="adam", lr=1e-2, epochs=2, batch_size=16)
    )
    assert all(torch.equal(model.head[k], head[k]) for k in head)
    assert all(torch.equal(psi0.head[k], head[k]) for k in head)
    assert not torch.equal(model.body["b0.qkv.w"], psi0.body["b0.qkv.w"])
    assert set(TaskVector.from_models(psi0, model)) == set(
        psi0.body
    )  # the head is not in the task vector


def test_grid_equals_one_merged_model_at_a_time():
    psi0 = _psi0()
    g = torch.Generator().manual_seed(3)
    tvs = [
        {k: torch.randn(v.shape, generator=g) * 0.05 for k, v in psi0.body.items()}
        for _ in range(2)
    ]
    x = torch.rand(40, 3, 8, 8)
    y = torch.where(torch.rand(40) < 0.5, 1, -1)
    coef = [[1.0, -0.5], [0.3, 2.0], [0.0, 0.0]]
    res = evaluate_grid(psi0, tvs, coef, {"d": (x, y)}, memory_mb=0.05)  # forces chunking
    for i, (a, b) in enumerate(coef):
        m = psi0.with_body({k: psi0.body[k] + a * tvs[0][k] + b * tvs[1][k] for k in psi0.body})
        f = outputs(m, x)
        assert res["d"]["acc"][i] == pytest.approx(float((torch.sign(f) == y).double().mean()))
        assert res["d"]["hinge"][i] == pytest.approx(
            float((1 - y * f).clamp_min(0).mean()), rel=1e-5, abs=1e-6
        )


def test_vit_cache_detects_an_altered_entry(tmp_path, caplog):
    cache = ViTCache(str(tmp_path))
    calls = []

    def make():
        calls.append(1)
        return _psi0(), {"note": "x"}

    cache.get("ab" * 32, "cpu", make)
    path = next(tmp_path.rglob("*.pt"))
    obj = torch.load(path, weights_only=True)
    obj["tensors"]["body.pos"] += 1.0
    torch.save(obj, path)
    cache.get("ab" * 32, "cpu", make)
    assert len(calls) == 2 and "checksum mismatch" in caplog.text
    cache.get("ab" * 32, "cpu", make)
    assert len(calls) == 2  # the rewritten entry is used


# ----------------------------------------------------------------------------- config checks
@pytest.mark.parametrize(
    ("overrides", "pattern"),
    [
        (
            ["experiment.t1=[1.2,0.0]"],
            r"^experiment\.t1\[0\]=1\.2 is invalid: must be in \[0, 1\]$",
        ),
        (
            ["experiment.pairs.aligned=[0.9,-0.1]"],
            r"^experiment\.pairs\.aligned\[1\]=-0\.1 is invalid",
        ),
        (["data.split=[0.5,0.2,0.2]"], r"^data\.split=.* the fractions must sum to 1$"),
        (["model.patch=3"], r"^model\.patch=3 is invalid: must divide model\.image_size=8$"),
        (["train.finetune.lr=-1"], r"^train\.lr=-1 is invalid"),
    ],
)
def test_bad_cdigits_overrides_fail_before_any_work(overrides, pattern, tmp_path):
    cfg = _compose(["experiment=cdigits_pair", *overrides])
    with pytest.raises(ConfigError, match=pattern) as err:
        run_experiment(cfg, tmp_path / "out")
    assert "\n" not in str(err.value)
    assert not (tmp_path / "out").exists()


def test_data_root_without_mnist_files_fails_at_once(tmp_path):
    (tmp_path / "empty").mkdir()
    cfg = _compose(
        ["experiment=cdigits_pair", "data.source=mnist", f"data.root={tmp_path / 'empty'}"]
    )
    with pytest.raises(
        ConfigError,
        match=r"^data\.root=.* holds no MNIST IDX files \(missing train-images-idx3-ubyte",
    ):
        run_experiment(cfg, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_ranks_beyond_the_model_fail(tmp_path):
    cfg = _compose(["experiment=cdigits_compress", "experiment.ranks=[1,100]"])
    with pytest.raises(ConfigError, match=r"^experiment\.ranks\[\]=100 is invalid: must be <= 48$"):
        run_experiment(cfg, tmp_path / "out")


@pytest.mark.parametrize(
    ("overrides", "pattern"),
    [
        (
            ["experiment=cdigits_ood", "experiment.calibration_seeds=[2,100]"],
            r"^experiment\.calibration_seeds=\[2, 100\] is invalid: must be disjoint",
        ),
        (
            ["experiment=cdigits_compress", "experiment.t1_lam.min=-0.5"],
            r"^experiment\.t1_lam\.min=-0\.5 is invalid: must be >= 0",
        ),
    ],
)
def test_bad_held_out_seeds_and_lambda1_axis_fail(overrides, pattern, tmp_path):
    with pytest.raises(ConfigError, match=pattern):
        run_experiment(_compose(overrides), tmp_path / "out")
    assert not (tmp_path / "out").exists()


# ----------------------------------------------------------------------------- tiny runs
TINY = [
    "data.max_images=240",
    "experiment.n_seeds=1",
    "model.dim=16",
    "model.depth=1",
    "model.heads=2",
    "train.pretrain.epochs=2",
    "train.finetune.epochs=2",
    "experiment.min_own_accuracy=0.0",
]


def _rows(claims):
    return sorted(claims, key=lambda r: json.dumps(r, sort_keys=True))


def test_cdigits_pair_tiny_run(tmp_path):
    cfg = _compose(
        ["experiment=cdigits_pair", *TINY, "eval.lam.step=0.4", f"cache_dir={tmp_path / 'cache'}"]
    )
    m = run_experiment(cfg, tmp_path / "a")
    on_disk = load_metrics(tmp_path / "a" / "metrics.json")
    assert set(on_disk["pairs"]) == {"irrelevant", "aligned", "contradictory"}
    assert len(on_disk["pairs"]["aligned"]["T1"]["acc_mean"]) == len(on_disk["lambdas"]) == 7
    assert m["models_trained"] == 1 + 4  # Ψ0 and four fine-tuned models
    assert (tmp_path / "a" / "cdigits_pair.png").stat().st_size > 1000
    # the claims follow from metrics.json alone (its keys are sorted, so the pairs' order may differ)
    assert _rows(pair_claims(on_disk)) == _rows(on_disk["claims"])
    headline_numbers(on_disk)
    again = run_experiment(cfg, tmp_path / "b")
    assert again["models_trained"] == 0 and again["models_from_cache"] == 5
    assert again["pairs"]["aligned"]["T2"]["acc_mean"] == m["pairs"]["aligned"]["T2"]["acc_mean"]


def test_cdigits_ood_and_compress_tiny_runs(tmp_path):
    cache = f"cache_dir={tmp_path / 'cache'}"
    m = run_experiment(
        _compose(
            [
                "experiment=cdigits_ood",
                *TINY,
                "eval.lam.step=1.0",
                "experiment.calibration_seeds=[100]",
                cache,
            ]
        ),
        tmp_path / "o",
    )
    assert np.asarray(m["acc_mean"]).shape == (6, 6)
    assert {"finetuned", "psi_T1", "psi_T2", "best"} <= set(m["table2"])
    assert m["models_trained"] == 1 + 3 + 3  # Ψ0, the reported seed's three, the held-out seed's
    assert m["calibration"]["seeds"] == [100] and m["region"]["shape"] == m["calibration"]["shape"]
    assert (tmp_path / "o" / "cdigits_ood.png").stat().st_size > 1000
    on_disk = load_metrics(tmp_path / "o" / "metrics.json")
    assert _rows(ood_claims(on_disk)) == _rows(on_disk["claims"])
    headline_numbers(on_disk)
    c = run_experiment(
        _compose(
            [
                "experiment=cdigits_compress",
                *TINY,
                "experiment.ranks=[1,48]",
                "experiment.keep=[1.0,0.1]",
                "model.dim=48",
                "model.heads=4",
                cache,
            ]
        ),
        tmp_path / "c",
    )
    for e, full in c["full"].items():  # full rank and keep = 1 reproduce the dense vectors
        assert c["low_rank"][e][-1]["score"] == pytest.approx(full["score"])
        assert c["magnitude"][e][0]["score"] == pytest.approx(full["score"])
        assert len(full["scores"]) == len(full["per_seed"]) == 1
    on_disk = load_metrics(tmp_path / "c" / "metrics.json")
    assert _rows(compress_claims(on_disk)) == _rows(on_disk["claims"])
    headline_numbers(on_disk)
    assert (tmp_path / "c" / "cdigits_compress.png").stat().st_size > 1000
