"""The language-model adapter of the content-addressed store (``models.store.DirStore``).

Checkpoints are ``save_pretrained`` directories (safetensors, never pickle) of model and tokenizer,
under ``<root>/lm/``, with ``meta.json`` holding the key, the SHA-256 of every file and the caller's
info; a directory that fails the check is recomputed. ``root=None`` stores nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from models.lm import load_local
from models.store import DirStore, cached_code_hash, json_key

CODE_FILES = ("models/lm.py", "models/lm_config.py")


class LMCache:
    """(model, tokenizer, info) by content key; ``trained``/``hits`` count the two ways in."""

    def __init__(self, root: str | None) -> None:
        self.entries = DirStore(Path(root) / "lm" if root is not None else None)
        self.root = self.entries.root
        self.trained = 0
        self.hits = 0

    @staticmethod
    def key(payload: dict) -> str:
        return json_key({"code": cached_code_hash(CODE_FILES), **payload})

    def path(self, key: str) -> Path:
        return self.entries.path(key)

    def load(self, key: str):
        hit = self.entries.load(key, load_local, "LM cache entry")
        if hit is None:
            return None
        (model, tok), meta = hit
        self.hits += 1
        return model, tok, meta.get("info", {})

    def store(self, key: str, model, tok, info: dict) -> None:
        self.trained += 1

        def write(directory: Path) -> None:
            model.save_pretrained(directory)
            tok.save_pretrained(directory)

        self.entries.store(key, write, info)

    def get(self, key: str, make: Callable[[], tuple]):
        """The stored entry, or ``make()`` stored (under the entry's lock: trained once)."""
        with self.entries.lock(key):
            hit = self.load(key)
            if hit is not None:
                return hit
            model, tok, info = make()
            self.store(key, model, tok, info)
        return model, tok, info
