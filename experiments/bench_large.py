"""``make bench``, second part: large one-layer shapes, the other testbeds, 64 seeds at once.

(e) one training step and a grid evaluation of the one-layer model at m = 2048, B = 4096, d = 128,
    P = 32 (FLOPs counted as in ``experiments.bench``), as fractions of the 2048² matmul rate, each
    with a profile of where the time goes;
(f) the coloured-digits ViT: training images/s (forward, backward and an Adam step, batch 64) and
    evaluation images/s; the language model: training tokens/s (AdamW, batch 16 × 64 tokens);
(g) 64 seeds trained as one batched run against a loop of 64 single runs (a fixed number of steps).

Every function takes a ``device`` ("cpu", "cuda"); the GPU script (``make bench-gpu``) runs the same.
"""

from __future__ import annotations

import importlib.util
import time
from typing import Any

import torch

from experiments.bench_timing import profile, sgd_step, sync, timed, train_step_flops
from models import ModelConfig, TaskVector, TrainConfig, pretrained_model
from models.grid import evaluate_grid, grid_2d, grid_flops
from models.training import finetune, finetune_many, hinge
from synthetic import TokenConfig, make_tasks, pair_geometry

LARGE = {"m": 2048, "B": 4096, "d": 128, "P": 32}


def _large_model(shape: dict, device: torch.device):
    cfg = ModelConfig(d=shape["d"], n_tokens=shape["P"], width=shape["m"])
    geometry = pair_geometry(shape["d"], 0.0, device=device)
    tasks = make_tasks(geometry, TokenConfig(n_tokens=shape["P"]))
    return tasks, pretrained_model(cfg, device=device)


def bench_large_train(shape: dict, device: torch.device, repeats: int, mm: float) -> dict:
    """One SGD step of one model at ``shape``: seconds, FLOP/s, fraction of the matmul rate."""
    tasks, psi0 = _large_model(shape, device)
    params = {n: psi0.params[n].detach().unsqueeze(0).clone().requires_grad_(True) for n in "WV"}
    readout = psi0.readout.unsqueeze(0)
    batch = tasks["T1"].sample_seeded(shape["B"], 0)
    X, y = batch.X.unsqueeze(0), batch.y.unsqueeze(0)

    step = sgd_step(params, readout, X, y)

    t = timed(step, device, repeats)
    flops = train_step_flops(1, shape["B"], shape["P"], shape["d"], shape["m"])
    return {
        "seconds": t,
        "flops": flops,
        "flops_per_s": flops / t,
        "train_fraction": flops / t / mm,
        "profile": profile(step) if device.type == "cpu" else [],
    }


def bench_large_grid(shape: dict, device: torch.device, repeats: int, mm: float) -> dict:
    """A 4×4 (λ1, λ2) grid on B samples at ``shape`` (chunks of up to 1 GiB)."""
    tasks, psi0 = _large_model(shape, device)
    gen = torch.Generator().manual_seed(1)
    tvs = [
        TaskVector({n: 0.01 * torch.randn(p.shape, generator=gen).to(device) for n, p in
                    psi0.params.items()})
        for _ in range(2)
    ]  # fmt: skip
    data = {"T1": tasks["T1"].sample_seeded(shape["B"], 7)}
    lam = torch.linspace(-1, 2, 4)
    coef = grid_2d(lam, lam)

    def run() -> None:
        evaluate_grid(psi0, tvs, coef, data, memory_mb=1024)

    t = timed(run, device, repeats)
    fl = grid_flops(shape["B"], shape["P"], shape["d"], shape["m"], 2, len(coef))["affine"]
    return {
        "points": len(coef),
        "seconds": t,
        "flops": fl,
        "flops_per_s": fl / t,
        "grid_fraction": fl / t / mm,
        "profile": profile(run, rows=6) if device.type == "cpu" else [],
    }


def bench_vit(device: torch.device, repeats: int) -> dict:
    """The default coloured-digits ViT: training and evaluation images per second."""
    from models.vit import ViT, init_body, init_head, logits
    from models.vit_config import ViTConfig

    cfg = ViTConfig()
    model = ViT(cfg, init_body(cfg, 0), init_head(cfg, 2, 1)).to(device)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(512, cfg.channels, cfg.image_size, cfg.image_size, generator=g).to(device)
    y = (torch.randint(0, 2, (512,), generator=g) * 2 - 1).float().to(device)
    body = {k: v.clone().requires_grad_(True) for k, v in model.body.items()}
    opt = torch.optim.Adam(list(body.values()), lr=1e-3)
    batch = 64

    def step() -> None:
        z = logits(cfg, {k: v.unsqueeze(0) for k, v in body.items()}, model.head, x[:batch])[0]
        loss = hinge(y[:batch] * (z[:, 1] - z[:, 0])).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    t_train = timed(step, device, repeats * 10, warmup=3)
    t_eval = timed(lambda: model(x), device, repeats * 3, warmup=1)
    return {"train_images_per_s": batch / t_train, "eval_images_per_s": len(x) / t_eval}


def bench_lm(device: torch.device, repeats: int) -> dict[str, Any]:
    """The default language model (GPT-2 shape of ``conf/model/lm.yaml``): training tokens/s."""
    if importlib.util.find_spec("transformers") is None:
        return {"skipped": "transformers is not installed (the 'lm' extra)"}
    from models.lm import new_model, train
    from models.lm_config import LMConfig, LMTrainConfig

    model = new_model(LMConfig(), 768).to(device)
    ids = torch.randint(1, 768, (20_000,), generator=torch.Generator().manual_seed(0))
    cfg = LMTrainConfig(steps=5, batch_size=16, seq_len=64)
    t = timed(lambda: train(model, ids, cfg), device, repeats)
    return {"train_tokens_per_s": cfg.steps * cfg.batch_size * cfg.seq_len / t}


def bench_seeds_64(device: torch.device, steps: int = 50, n_seeds: int = 64) -> dict:
    """``n_seeds`` seeds, ``steps`` steps each: a loop of single runs against one batched run (one
    timing each: the loop alone takes seconds to minutes)."""
    task = make_tasks(pair_geometry(32, 0.0, device=device), TokenConfig())["T1"]
    psi0 = pretrained_model(ModelConfig(), device=device)
    cfgs = [TrainConfig(seed=s, eps=0.0, n_steps=steps) for s in range(n_seeds)]
    finetune(psi0, task, cfgs[0])  # warm-up
    t0 = time.perf_counter()
    for c in cfgs:
        finetune(psi0, task, c)
    sync(device)
    t_loop = time.perf_counter() - t0
    t0 = time.perf_counter()
    finetune_many([psi0] * n_seeds, [task] * n_seeds, cfgs)
    sync(device)
    t_batch = time.perf_counter() - t0
    return {"seeds": n_seeds, "steps": steps, "loop_seconds": t_loop, "batched_seconds": t_batch,
            "speedup": t_loop / t_batch}  # fmt: skip


def measure_large(device: torch.device, repeats: int, mm: float, shape: dict = LARGE) -> dict:
    """Everything of this module, as ``bench.json`` holds it (``large``, ``testbeds``, ``seeds_64``)."""
    return {
        "large": {
            "shape": shape,
            "train_step": bench_large_train(shape, device, repeats, mm),
            "grid": bench_large_grid(shape, device, repeats, mm),
        },
        "testbeds": {"vit": bench_vit(device, repeats), "lm": bench_lm(device, repeats)},
        "seeds_64": bench_seeds_64(device),
    }
