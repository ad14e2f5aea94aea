"""What the coloured-digits experiments share: the digits and their split, the pre-trained Ψ0 (one
per configuration, cached), fine-tuned models per (task, seed) (cached), data of a task on a split,
(α̂ on the ViT's outputs: ``models.estimators.output_alpha``)."""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import asdict, dataclass, replace

import numpy as np
import torch
from tqdm.auto import tqdm

from experiments.config import CSetup
from models.task_vectors import TaskVector
from models.vit import ViT
from models.vit_cache import ViTCache, cache_key, weights_digest
from models.vit_train import evaluate, finetune, pretrain
from synthetic.cdigits import (
    ColourTask,
    Digits,
    colour_seed,
    colourize,
    load_digits,
    random_colours,
    split_indices,
)
from synthetic.checks import fail
from synthetic.runtime import derive_seed, resolve_device

log = logging.getLogger(__name__)


@dataclass
class World:
    """The data, Ψ0 and everything needed to fine-tune and evaluate, for one configuration."""

    setup: CSetup
    digits: Digits
    splits: dict[str, np.ndarray]
    psi0: ViT
    pretrain_meta: dict
    cache: ViTCache
    device: torch.device

    def data(
        self, task: ColourTask, split: str, seed: int, n: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(x, y) of ``task`` on a split, colours drawn per (task, split, seed); first ``n`` if given."""
        idx = self.splits[split][:n] if n is not None else self.splits[split]
        x, y, _ = colourize(
            self.digits.images[idx],
            self.digits.labels[idx],
            task.r_odd,
            task.r_even,
            colour_seed(task, split, seed),
        )
        return torch.from_numpy(x).to(self.device), torch.from_numpy(y).to(self.device)

    def finetuned(self, task: ColourTask, seed: int, *, progress: bool = False) -> tuple[ViT, dict]:
        train = replace(
            self.setup.finetune, seed=derive_seed("cdigits-finetune", task.key(), seed) % 2**31
        )
        key = cache_key(
            "finetune",
            {
                "psi0": weights_digest(self.psi0),
                "task": task.key(),
                "seed": seed,
                "train": asdict(train),
                "data": self.data_key(),
                "device": self.device.type,
            },
        )

        def make():
            x, y = self.data(task, "train", seed)
            t0 = time.perf_counter()
            model, meta = finetune(
                self.psi0,
                x,
                y,
                train,
                progress=progress,
                desc=f"fine-tuning {task.name}/seed{seed}",
            )
            return model, {**meta, "seconds": time.perf_counter() - t0}

        return self.cache.get(key, self.device, make)

    def data_key(self) -> str:
        h = hashlib.sha256()
        h.update(self.digits.fingerprint().encode())
        for k in ("train", "val", "test"):
            h.update(self.splits[k].tobytes())
        return h.hexdigest()[:16]


def build_world(setup: CSetup, cache_dir: str | None, *, progress: bool = False) -> World:
    device = resolve_device(setup.device)
    digits = load_digits(setup.source, setup.root, setup.max_images)
    if digits.size != setup.vit.image_size:
        raise fail(
            "model.image_size",
            setup.vit.image_size,
            f"must equal the images' size {digits.size} (data.source={setup.source})",
        )
    splits = split_indices(len(digits.labels), setup.split, setup.split_seed)
    log.debug(
        "[cdigits] %s: %d digits of %d×%d; split %s",
        setup.source,
        len(digits.labels),
        digits.size,
        digits.size,
        ", ".join(f"{k} {len(v)}" for k, v in splits.items()),
    )
    cache = ViTCache(cache_dir)
    world = World(setup, digits, splits, None, {}, cache, device)  # type: ignore[arg-type]
    key = cache_key(
        "pretrain",
        {
            "vit": asdict(setup.vit),
            "train": asdict(setup.pretrain),
            "data": world.data_key(),
            "colour_seed": setup.pretrain_colour_seed,
            "device": device.type,
        },
    )

    def make():
        idx = splits["train"]
        x = torch.from_numpy(random_colours(digits.images[idx], setup.pretrain_colour_seed)).to(
            device
        )
        labels = torch.from_numpy(digits.labels[idx]).to(device)
        t0 = time.perf_counter()
        model, meta = pretrain(setup.vit, x, labels, setup.pretrain, progress=progress)
        return model, {**meta, "seconds": time.perf_counter() - t0}

    world.psi0, world.pretrain_meta = cache.get(key, device, make)
    return world


def own_task_rows(
    world: World, models: dict, tasks: dict[str, ColourTask], min_acc: float
) -> list[dict]:
    """Own-task test accuracy per (task, seed), flagged below ``min_acc``."""
    rows = []
    for (name, seed), (model, meta) in models.items():
        e = evaluate(model, *world.data(tasks[name], "test", seed))
        rows.append(
            {
                "task": name,
                "seed": seed,
                "accuracy": e["accuracy"],
                "hinge": e["hinge"],
                "flagged": e["accuracy"] < min_acc,
                "seconds": meta.get("seconds"),
            }
        )
    return rows


def task_vector(world: World, model: ViT) -> TaskVector:
    return TaskVector.from_models(world.psi0, model)


def prepare(
    setup: CSetup, config: dict, tasks: dict[str, ColourTask], *, progress: bool, desc: str
) -> tuple[World, dict[tuple[str, int], tuple[ViT, dict]]]:
    """The world (data and Ψ0, cached) and (Ψ*, meta) per (task, seed) — seeds outer, tasks in their
    order, each cached — from the resolved ``config`` (its ``cache_dir``)."""
    world = build_world(setup, config.get("cache_dir"), progress=progress)
    models = {}
    for s in tqdm(setup.seeds, desc=desc, disable=not progress):
        for n, task in tasks.items():
            models[(n, s)] = world.finetuned(task, s, progress=progress)
    return world, models


def bookkeeping(world: World) -> dict:
    """How many ViTs this job trained and how many came from the cache (read once all are made)."""
    return {"models_trained": world.cache.trained, "models_from_cache": world.cache.hits}
