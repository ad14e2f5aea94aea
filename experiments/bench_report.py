"""What ``make bench`` prints: the tables of ``bench.json`` (``experiments.bench``, ``bench_large``)."""

from __future__ import annotations

import math


def print_grid_and_seeds(grid: dict, seeds: dict) -> None:
    g = 1e9
    print("(a) 26x26 grid on 4096 samples")
    print(
        f"    naive loop     {grid['naive_seconds']:7.2f} s   {grid['naive_flops'] / g:6.0f} GFLOP  {grid['naive_flops_per_s'] / g:5.1f} GFLOP/s"
    )
    print(
        f"    grid eval      {grid['grid_seconds']:7.2f} s   {grid['grid_flops'] / g:6.0f} GFLOP  {grid['grid_flops_per_s'] / g:5.1f} GFLOP/s"
    )
    print(
        f"    speed-up       {grid['speedup']:7.2f} x   (FLOP ratio {grid['naive_flops'] / grid['grid_flops']:.2f})"
    )
    for label in ("default", "fixed_200_steps"):
        s = seeds[label]
        print(
            f"(b) 8 seeds, {label:16s} loop {s['loop_seconds']:6.2f} s   batched {s['batched_seconds']:6.2f} s   speed-up {s['speedup']:.2f} x"
        )


def print_rates(result: dict) -> None:
    g, mm = 1e9, result["matmul_2048_flops_per_s"]
    steps, grid = result["train_step"], result["grid_26x26_4096"]
    print("(c) achieved FLOP/s, fraction of matmul")
    for label, key in (
        ("train step,  1 model ", "single"),
        ("train step,  8 models", "batched_8"),
        ("train step, 16 models", "batched_16"),
    ):
        st = steps[key]
        print(
            f"    {label} {st['seconds'] * 1e3:6.3f} ms  {st['flops'] / 1e6:6.1f} MFLOP  {st['flops_per_s'] / g:5.1f} GFLOP/s  {st['flops_per_s'] / mm:6.1%}"
        )
    print(
        f"    grid evaluation                        {grid['grid_flops_per_s'] / g:5.1f} GFLOP/s  {grid['grid_flops_per_s'] / mm:6.1%}"
    )


def print_summary(result: dict) -> None:
    grid, seeds = result["grid_26x26_4096"], result["seeds_8"]
    print(f"machine: {result['machine']}")
    print(f"torch.matmul 2048x2048 float32: {result['matmul_2048_flops_per_s'] / 1e9:.1f} GFLOP/s")
    print_grid_and_seeds(grid, seeds)
    print_rates(result)
    print(f"(d) one fine-tuned model (default config): {seeds['one_model_seconds']:.3f} s")
    for name, c in result.get("cache", {}).items():
        print(
            f"    {name}: {c['requested']} models requested; trained {c['trained_cold_cache']} (cold cache), {c['trained_warm_cache']} (warm cache)"
        )
    print("profile, training step (1 model):", _shares(result["train_step"]["single"]["profile"]))
    print("profile, grid chunk (4 points):  ", _shares(grid["profile_grid_chunk"]))


def _shares(profile: list[dict]) -> str:
    return ", ".join(f"{p['op']} {p['share']:.0%}" for p in profile) or "(not profiled)"


def print_large(result: dict) -> None:
    g = 1e9
    big = result["large"]
    tr, gr = big["train_step"], big["grid"]
    print(f"(e) large shape {big['shape']}")
    print(f"    training step   {tr['seconds']:7.3f} s  {tr['flops_per_s'] / g:6.1f} GFLOP/s  "
          f"{tr['train_fraction']:6.1%} of matmul (target 60%)")  # fmt: skip
    print(f"    grid, {gr['points']} points {gr['seconds']:7.3f} s  {gr['flops_per_s'] / g:6.1f} GFLOP/s  "
          f"{gr['grid_fraction']:6.1%} of matmul (target 50%)")  # fmt: skip
    for name, prof in (("training step", tr["profile"]), ("grid", gr["profile"])):
        print(f"    profile, {name}:", ", ".join(f"{p['op']} {p['share']:.0%}" for p in prof))
    vit, lm = result["testbeds"]["vit"], result["testbeds"]["lm"]
    print(f"(f) ViT: training {vit['train_images_per_s']:.0f} images/s, "
          f"evaluation {vit['eval_images_per_s']:.0f} images/s")  # fmt: skip
    print("    LM: " + (f"training {lm['train_tokens_per_s']:.0f} tokens/s" if "skipped" not in lm
                         else lm["skipped"]))  # fmt: skip
    s = result["seeds_64"]
    print(f"(g) {s.get('seeds', 64)} seeds × {s['steps']} steps: loop {s['loop_seconds']:.2f} s, batched "
          f"{s['batched_seconds']:.2f} s: {s['speedup']:.2f}×")  # fmt: skip


# ----------------------------------------------------------------------------- Markdown (README)
def bench_lines(b: dict) -> list[str]:
    """The benchmark table from ``make bench``'s ``bench.json`` (rows whose keys are absent are left
    out)."""
    g, mm = 1e9, b.get("matmul_2048_flops_per_s") or math.nan
    rows = [("`torch.matmul` 2048×2048 float32", f"{mm / g:.0f} GFLOP/s")]
    grid = b.get("grid_26x26_4096") or {}
    if grid:
        rows.append(
            (
                "(a) 26×26 (λ1, λ2) grid on 4,096 samples",
                f"naive loop {grid['naive_seconds']:.2f} s, grid evaluation {grid['grid_seconds']:.2f} s: "
                f"**{grid['speedup']:.2f}×**",
            )
        )
    for label, key in (("default config", "default"), ("200 steps each", "fixed_200_steps")):
        s = (b.get("seeds_8") or {}).get(key)
        if s:
            rows.append((f"(b) 8 seeds, {label}", _loop_vs_batched(s)))
    for label, key in (
        ("1 model", "single"),
        ("8 models", "batched_8"),
        ("16 models", "batched_16"),
    ):
        st = (b.get("train_step") or {}).get(key)
        if st:
            rows.append(
                (
                    f"(c) training step, {label}",
                    f"{st['seconds'] * 1e3:.2f} ms, {st['flops_per_s'] / g:.0f} GFLOP/s = "
                    f"**{st['flops_per_s'] / mm:.1%}** of matmul",
                )
            )
    if grid:
        rate = grid["grid_flops_per_s"]
        rows.append(("(c) grid evaluation", f"{rate / g:.0f} GFLOP/s = **{rate / mm:.1%}**"))
    one = (b.get("seeds_8") or {}).get("one_model_seconds")
    if one is not None:
        rows.append(("(d) one fine-tuned model, default config", f"{one:.3f} s"))
    rows += _large_rows(b)
    return ["| measurement | result |", "|---|---|", *(f"| {a} | {r} |" for a, r in rows)]


def _large_rows(b: dict) -> list[tuple[str, str]]:
    """(e) the large shape's training step and grid, (f) ViT and LM throughput, (g) 64 seeds."""
    g, rows = 1e9, []
    big = b.get("large")
    if big:
        sh = big["shape"]
        where = f"m = {sh['m']}, B = {sh['B']}, d = {sh['d']}, P = {sh['P']}"
        tr, gr = big["train_step"], big["grid"]
        rows.append(
            (
                f"(e) training step, {where}",
                f"{tr['seconds']:.3f} s, "
                f"{tr['flops_per_s'] / g:.0f} GFLOP/s = **{tr['train_fraction']:.1%}**",
            )
        )
        rows.append(
            (
                f"(e) grid evaluation, {gr['points']} points, {where}",
                f"{gr['seconds']:.3f} s, "
                f"{gr['flops_per_s'] / g:.0f} GFLOP/s = **{gr['grid_fraction']:.1%}**",
            )
        )
    tb = b.get("testbeds") or {}
    if "vit" in tb:
        v = tb["vit"]
        rows.append(
            (
                "(f) coloured-digits ViT",
                f"training {v['train_images_per_s']:.0f} images/s, "
                f"evaluation {v['eval_images_per_s']:.0f} images/s",
            )
        )
    if "lm" in tb:
        lm = tb["lm"]
        rows.append(
            (
                "(f) language model",
                lm.get("skipped") or f"training {lm['train_tokens_per_s']:.0f} tokens/s",
            )
        )
    s = b.get("seeds_64")
    if s:
        rows.append(
            (f"(g) {s.get('seeds', 64)} seeds, {s['steps']} steps each", _loop_vs_batched(s))
        )
    return rows  # fmt: skip


def _loop_vs_batched(s: dict) -> str:
    return (
        f"loop {s['loop_seconds']:.2f} s, batched {s['batched_seconds']:.2f} s: "
        f"**{s['speedup']:.2f}×**"
    )
