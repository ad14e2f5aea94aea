"""``make bench``'s measurements run and render (speed itself is measured by ``make bench``, never
asserted here)."""

import pytest
import torch

from experiments import bench
from experiments.bench_large import bench_large_grid, bench_large_train, bench_seeds_64, bench_vit
from experiments.bench_report import bench_lines

CPU = torch.device("cpu")
SMALL = {"m": 32, "B": 64, "d": 16, "P": 8}


def test_large_shape_measurements_count_flops_and_fractions():
    tr = bench_large_train(SMALL, CPU, 1, mm=1e9)
    assert tr["flops"] == bench.train_step_flops(1, 64, 8, 16, 32)
    assert tr["train_fraction"] == pytest.approx(tr["flops"] / tr["seconds"] / 1e9)
    gr = bench_large_grid(SMALL, CPU, 1, mm=1e9)
    assert gr["points"] == 16 and gr["grid_fraction"] > 0 and gr["profile"]


def test_vit_and_seed_benchmarks_report_rates():
    v = bench_vit(CPU, 1)
    assert v["train_images_per_s"] > 0 and v["eval_images_per_s"] > 0
    s = bench_seeds_64(CPU, steps=1, n_seeds=4)
    assert s["speedup"] == pytest.approx(s["loop_seconds"] / s["batched_seconds"])


def test_bench_lines_render_every_part_that_is_present():
    step = {"seconds": 0.5, "flops_per_s": 2e11}
    b = {
        "matmul_2048_flops_per_s": 4e11,
        "train_step": {"single": step},
        "large": {
            "shape": SMALL,
            "train_step": {**step, "train_fraction": 0.5},
            "grid": {"points": 16, "seconds": 1.0, "flops_per_s": 1e11, "grid_fraction": 0.25},
        },
        "testbeds": {"vit": {"train_images_per_s": 900, "eval_images_per_s": 9000},
                     "lm": {"skipped": "transformers is not installed (the 'lm' extra)"}},
    }  # fmt: skip
    text = "\n".join(bench_lines(b))
    assert "| (c) training step, 1 model | 500.00 ms, 200 GFLOP/s = **50.0%** of matmul |" in text
    assert (
        "(e) training step, m = 32, B = 64, d = 16, P = 8 | 0.500 s, 200 GFLOP/s = **50.0%**"
        in text
    )
    assert "= **25.0%** |" in text and "training 900 images/s" in text
    assert "| (f) language model | transformers is not installed" in text
    assert "(a)" not in text and "(g)" not in text  # absent parts are left out


def test_bench_refuses_cuda_without_a_gpu_in_one_line(monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(SystemExit) as exit_:
        bench.main(["--device", "cuda", "--out", "/nonexistent/bench.json"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("ConfigError: device='cuda' is invalid") and "\n" not in err
