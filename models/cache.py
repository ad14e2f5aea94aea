"""Train each distinct fine-tuned model once: the one-layer model's adapter of the content-addressed
store (``models.store``; the ViT's is ``models.vit_cache``, the language model's ``models.lm_cache``).

The key hashes everything that determines the trained weights:

* Ψ0: its config and the bytes of its weights and readout (so a hand-made Ψ0 is keyed correctly);
* the task: its pattern, its irrelevant patterns and its token recipe (``Task.fingerprint``; the
  task's *name* is not part of it, so T1 of an α sweep is one entry whatever α is);
* the training config (including its seed), the device type and dtype;
* the code version: a hash of the source files that generate data and train.

An entry is one file ``<root>/<key[:2]>/<key>.pt`` written atomically, holding the model (state
dict + config JSON), the training history, the key and a SHA-256 of the tensors. It is loaded with
``weights_only=True``; an entry that does not load, has the wrong schema or key, or fails the
checksum is reported, retrained and overwritten, never trusted.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from models.store import TensorStore, cached_code_hash, json_key, tensor_digest
from models.training import (
    FinetuneResult,
    History,
    TrainConfig,
    batch_signature,
    finetune,
    finetune_many,
)
from models.transformer import ModelConfig, OneLayerTransformer
from synthetic.tasks import Task

log = logging.getLogger(__name__)

FORMAT_CACHE = "task-arithmetic-theory/finetune-cache/1"
CODE_FILES = (
    "synthetic/patterns.py",
    "synthetic/sampler.py",
    "synthetic/tasks.py",
    "synthetic/tokens.py",
    "synthetic/runtime.py",
    "models/config.py",
    "models/transformer.py",
    "models/training.py",
    "models/streams.py",
)


def code_version() -> str:
    """SHA-256 (16 hex) of the source files that determine how data are drawn and models trained."""
    return cached_code_hash(CODE_FILES)


def cache_key(psi0: OneLayerTransformer, task: Task, cfg: TrainConfig) -> str:
    payload = {
        "psi0": {
            "config": json.loads(psi0.cfg.to_json()),
            "weights": tensor_digest(psi0.state_dict()),
        },
        "task": task.fingerprint(),
        "train": asdict(cfg),
        "device": psi0.device.type,
        "dtype": str(psi0.dtype),
        "code": code_version(),
    }
    return json_key(payload)


@dataclass
class CacheStats:
    hits: int = 0
    trained: int = 0
    recomputed: int = 0  # corrupted or foreign entries that were retrained
    requested: int = 0


class ModelCache:
    """Fine-tuning results on disk, keyed by ``cache_key``. ``root=None`` disables storage."""

    def __init__(self, root: str | os.PathLike | None) -> None:
        self.entries = TensorStore(root, FORMAT_CACHE, tensor_field="state_dict")
        self.root = self.entries.root
        self.stats = CacheStats()

    def path(self, key: str):
        return self.entries.path(key)

    def load(self, key: str, device: torch.device, dtype: torch.dtype) -> FinetuneResult | None:
        """The stored result, or None when absent; a damaged entry is logged and treated as absent."""
        obj = self.entries.load(key)
        if obj is None:
            if self.root is not None and self.path(key).exists():
                self.stats.recomputed += 1
            return None
        try:
            state = obj["state_dict"]
            cfg = ModelConfig(**json.loads(obj["config"]))
            model = OneLayerTransformer(
                cfg,
                {k: state[k] for k in cfg.param_names},
                state["readout"],
                device=device,
                dtype=dtype,
            )
            history = History(**obj["history"])
        except Exception as err:
            self.entries.warn("cache entry", self.path(key), err)
            self.stats.recomputed += 1
            return None
        return FinetuneResult(model=model, history=history)

    def store(self, key: str, result: FinetuneResult) -> None:
        self.entries.store(
            key,
            result.model.state_dict(),
            config=result.model.cfg.to_json(),
            history=result.history.as_dict(),
        )

    def finetune_many(
        self,
        requests: Sequence[tuple[OneLayerTransformer, Task, TrainConfig]],
        *,
        batched: bool | str = "auto",
        progress: bool = False,
    ) -> list[FinetuneResult]:
        """Results for every (Ψ0, task, config), training only what is not stored yet.

        Identical requests are trained once. ``batched``: True trains the missing models in batches
        of compatible runs (same architecture and config up to seed and lr); False one by one;
        "auto" batches on CUDA, where one small model leaves the device idle, and runs one by one on
        the CPU, where single runs are the reference (batching is 1.3–2× faster there too: make bench).
        """
        keys = [cache_key(*r) for r in requests]
        self.stats.requested += len(requests)
        results: dict[str, FinetuneResult] = {}
        missing: dict[str, tuple[OneLayerTransformer, Task, TrainConfig]] = {}
        for key, req in zip(keys, requests, strict=True):
            if key in results or key in missing:
                continue
            hit = self.load(key, req[0].device, req[0].dtype)
            if hit is not None:
                self.stats.hits += 1
                results[key] = hit
            else:
                missing[key] = req
        if batched == "auto":
            batched = any(r[0].device.type == "cuda" for r in missing.values())
        with contextlib.ExitStack() as held:  # another process training one of them: wait, load
            stamps = {k: _stamp(self.path(k)) for k in missing} if self.root else {}
            for k in sorted(stamps):
                held.enter_context(self.entries.lock(k))
            for k in [k for k in stamps if _stamp(self.path(k)) != stamps[k]]:
                hit = self.load(k, missing[k][0].device, missing[k][0].dtype)
                if hit is not None:
                    self.stats.hits += 1
                    missing.pop(k)
                    results[k] = hit
            self._train(missing, results, batched, progress)
        return [results[k] for k in keys]

    def _train(self, missing: dict, results: dict, batched: bool, progress: bool) -> None:
        """Train the ``missing`` requests (in batches when ``batched``) and store them."""
        for group in _groups(missing) if batched else [[k] for k in missing]:
            reqs = [missing[k] for k in group]
            if len(reqs) == 1:
                trained = [finetune(*reqs[0], progress=progress)]
            else:
                psi0s, tasks, cfgs = (list(x) for x in zip(*reqs, strict=True))
                trained = finetune_many(
                    psi0s, tasks, cfgs, progress=progress, desc=f"finetune ×{len(reqs)}"
                )
            for k, res in zip(group, trained, strict=True):
                self.store(k, res)
                results[k] = res
                self.stats.trained += 1
            log.debug(
                "fine-tuned %d model(s) on %s", len(group), [missing[k][1].name for k in group]
            )

    def finetune(
        self, psi0: OneLayerTransformer, task: Task, cfg: TrainConfig, *, progress: bool = False
    ) -> FinetuneResult:
        return self.finetune_many([(psi0, task, cfg)], batched=False, progress=progress)[0]


def _stamp(path: Path) -> tuple[int, int] | None:
    """(inode, mtime) of a cache file, None when absent: tells whether another process wrote it."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns


def _groups(missing: dict[str, tuple[OneLayerTransformer, Task, TrainConfig]]) -> list[list[str]]:
    """Keys grouped into runs that ``finetune_many`` can train together."""
    groups: dict[tuple, list[str]] = {}
    for key, (psi0, _task, cfg) in missing.items():
        groups.setdefault(batch_signature(psi0, cfg), []).append(key)
    return list(groups.values())
