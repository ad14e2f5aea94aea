"""The ViT adapter of the content-addressed store (``models.store``): keys and entries of ViT models.

An entry is one ``TensorStore`` file under ``<root>/vit/``: the body and head tensors (``body.*``,
``head.*``), the config JSON, JSON metadata, the key and a checksum. ``root=None`` stores nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from models.store import TensorStore, cached_code_hash, json_key, tensor_digest
from models.vit import ViT, body_shapes
from models.vit_config import ViTConfig

FORMAT = "task-arithmetic-theory/vit-cache/1"
CODE_FILES = (
    "models/vit.py",
    "models/vit_train.py",
    "models/vit_config.py",
    "synthetic/cdigits.py",
)


def cache_key(kind: str, payload: dict) -> str:
    return json_key({"kind": kind, "code": cached_code_hash(CODE_FILES), **payload})


def _tensors(model: ViT) -> dict:
    return {
        **{f"body.{k}": v for k, v in model.body.items()},
        **{f"head.{k}": v for k, v in model.head.items()},
    }


def weights_digest(model: ViT) -> str:
    return tensor_digest(_tensors(model), dtype=False)


class ViTCache:
    """ViT models on disk by content key: atomic single files, ``weights_only=True``, checksummed.

    A missing, unreadable, foreign or altered entry is reported and recomputed, never trusted.
    ``root=None`` disables storage.
    """

    def __init__(self, root: str | None) -> None:
        sub = Path(root) / "vit" if root is not None else None
        self.entries = TensorStore(sub, FORMAT, digest_dtype=False)
        self.root = Path(root) if root is not None else None
        self.trained = 0
        self.hits = 0

    def _path(self, key: str) -> Path:
        return self.entries.path(key)

    def load(self, key: str, device) -> tuple[ViT, dict] | None:
        obj = self.entries.load(key, "ViT cache entry")
        if obj is None:
            return None
        try:
            tensors = obj["tensors"]
            cfg = ViTConfig(**json.loads(obj["config"]))
            body = {k[5:]: v.to(device) for k, v in tensors.items() if k.startswith("body.")}
            head = {k[5:]: v.to(device) for k, v in tensors.items() if k.startswith("head.")}
            if set(body) != set(body_shapes(cfg)):
                raise ValueError("body keys do not match the config")
            model, meta = ViT(cfg, body, head), json.loads(obj["meta"])
        except Exception as err:
            self.entries.warn("ViT cache entry", self._path(key), err)
            return None
        self.hits += 1
        return model, meta

    def store(self, key: str, model: ViT, meta: dict) -> None:
        self.trained += 1
        self.entries.store(key, _tensors(model), config=model.cfg.to_json(), meta=json.dumps(meta))

    def get(self, key: str, device, make: Callable[[], tuple[ViT, dict]]) -> tuple[ViT, dict]:
        """The stored model, or ``make()`` stored (under the entry's lock: trained once)."""
        with self.entries.lock(key):
            hit = self.load(key, device)
            if hit is not None:
                return hit
            model, meta = make()
            self.store(key, model, meta)
        return model, meta
