"""One content-addressed store for everything trained: tensor files and Hugging Face directories.

* ``cached_code_hash(files)``: ``synthetic.files.code_hash`` (SHA-256 of source files, relative path
  + bytes; torch-free, so the job key of ``experiments.run`` uses it too) once per process: the code
  part of every key.
* ``tensor_digest(tensors)``: SHA-256 of a {name: tensor} (names, shapes, bytes; dtype too unless
  ``dtype=False``): the checksum stored with an entry and the weights part of a key.
* ``TensorStore``: one file ``<root>/<key[:2]>/<key>.pt`` per entry, written atomically, holding a
  format tag, the key, a dict of tensors under ``tensor_field``, any JSON-able fields (a training
  history, a config) and one checksum over the tensors and those fields; loaded with
  ``weights_only=True`` (no code runs). An entry that does not load, has the wrong format or key,
  or fails the checksum is logged and reported absent, so the caller recomputes it.
* ``DirStore``: one directory ``<root>/<key[:2]>/<key>/`` per entry (``save_pretrained`` output:
  safetensors, never pickle), written under a temporary name and renamed into place, with a
  ``meta.json`` holding the key and the SHA-256 of every file; a directory that fails is recomputed.

Writers and the readers that would recompute a missing entry hold the entry's lock (``lock(key)``,
a ``flock`` on ``.<key>.lock`` next to it): two processes needing the same entry train it once, the
second waits and then loads it. Under that lock, temporary files left by a killed writer are removed.

The per-testbed adapters (``models.cache.ModelCache``, ``models.vit_cache.ViTCache``,
``models.lm_cache.LMCache``) only say what goes into an entry and how a model is rebuilt from it.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

import torch

from synthetic.files import atomic_write, code_hash, locked

log = logging.getLogger(__name__)


@functools.cache
def cached_code_hash(files: tuple[str, ...]) -> str:
    """``code_hash`` computed once per process (the sources do not change while a run lasts)."""
    return code_hash(files)


def tensor_digest(tensors: Mapping[str, torch.Tensor], *, dtype: bool = True) -> str:
    """SHA-256 of names, (dtypes,) shapes and bytes of the tensors, in sorted name order."""
    h = hashlib.sha256()
    for k in sorted(tensors):
        t = tensors[k].detach().to("cpu").contiguous()
        h.update(k.encode())
        if dtype:
            h.update(str(t.dtype).encode())
        h.update(repr(tuple(t.shape)).encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()


def json_key(payload: object) -> str:
    """SHA-256 (64 hex) of a JSON payload with sorted keys."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def atomic_torch_save(obj: object, path: str | os.PathLike) -> None:
    """torch.save through ``atomic_write``: no half-written checkpoint is ever left behind."""
    atomic_write(path, lambda fh: torch.save(obj, fh))


class TensorStore:
    """Checksummed single-file entries by key (see the module docstring). ``root=None`` stores nothing."""

    def __init__(
        self,
        root: str | os.PathLike | None,
        fmt: str,
        *,
        tensor_field: str = "tensors",
        digest_dtype: bool = True,
    ) -> None:
        self.root = Path(root) if root is not None else None
        self.fmt, self.field, self.digest_dtype = fmt, tensor_field, digest_dtype

    def path(self, key: str) -> Path:
        assert self.root is not None
        return self.root / key[:2] / f"{key}.pt"

    def lock(self, key: str) -> contextlib.AbstractContextManager:
        return entry_lock(self.root, key)

    def load(self, key: str, what: str = "cache entry") -> dict | None:
        """The verified entry (a dict), or None when absent or unusable (logged)."""
        if self.root is None or not self.path(key).exists():
            return None
        try:
            obj = torch.load(self.path(key), map_location="cpu", weights_only=True)
            if not isinstance(obj, dict) or obj.get("format") != self.fmt or obj.get("key") != key:
                raise ValueError("wrong format or key")
            if self.checksum(obj) != obj["checksum"]:
                raise ValueError("checksum mismatch")
        except Exception as err:
            self.warn(what, self.path(key), err)
            return None
        return obj

    @staticmethod
    def warn(what: str, path: Path, err: Exception) -> None:
        log.warning("%s %s is unusable (%s: %s); recomputing", what, path, type(err).__name__, err)

    def checksum(self, obj: dict) -> str:
        """SHA-256 of the whole entry: the tensors' digest and every other field but the checksum."""
        fields = {k: v for k, v in obj.items() if k not in (self.field, "checksum")}
        return json_key([tensor_digest(obj[self.field], dtype=self.digest_dtype), fields])

    def store(self, key: str, tensors: Mapping[str, torch.Tensor], **fields) -> None:
        if self.root is None:
            return
        cpu = {k: v.detach().cpu() for k, v in tensors.items()}
        obj = {"format": self.fmt, "key": key, **fields, self.field: cpu}
        with self.lock(key):
            for stale in self.path(key).parent.glob(f".{key}.pt.*.tmp"):  # a killed writer's
                stale.unlink(missing_ok=True)
            atomic_torch_save({**obj, "checksum": self.checksum(obj)}, self.path(key))


def entry_lock(root: Path | None, key: str) -> contextlib.AbstractContextManager:
    """The lock of the entry ``key`` under ``root`` (nothing to lock without a root); taken around
    load-or-train-and-store by the caches and again (re-entering) by ``store``."""
    if root is None:
        return contextlib.nullcontext()
    return locked(root / key[:2] / f".{key}.lock")


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class DirStore:
    """Checksummed directory entries by key (see the module docstring). ``root=None`` stores nothing."""

    def __init__(self, root: str | os.PathLike | None) -> None:
        self.root = Path(root) if root is not None else None

    def path(self, key: str) -> Path:
        assert self.root is not None
        return self.root / key[:2] / key

    def lock(self, key: str) -> contextlib.AbstractContextManager:
        return entry_lock(self.root, key)

    def load(self, key: str, read: Callable[[Path], object], what: str) -> tuple | None:
        """(read(directory), meta) of a verified entry, or None when absent or unusable (logged)."""
        if self.root is None or not self.path(key).is_dir():
            return None
        p = self.path(key)
        try:
            meta = json.loads((p / "meta.json").read_text())
            if meta.get("key") != key:
                raise ValueError("wrong key")
            for name, digest in meta["files"].items():
                if file_digest(p / name) != digest:
                    raise ValueError(f"checksum mismatch in {name}")
            return read(p), meta
        except Exception as err:
            TensorStore.warn(what, p, err)
            return None

    def store(self, key: str, write: Callable[[Path], None], info: dict) -> None:
        """``write(tmp_dir)``, then meta.json, then rename into place; an older entry is renamed
        away first and deleted after (a reader sees the old entry, none, or the new one)."""
        if self.root is None:
            return
        final = self.path(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        with self.lock(key):
            for stale in final.parent.glob(f".tmp-{key}-*"):  # a killed writer's (we hold the lock)
                shutil.rmtree(stale, ignore_errors=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{key}-", dir=final.parent))
            try:
                write(tmp)
                files = {f.name: file_digest(f) for f in sorted(tmp.iterdir()) if f.is_file()}
                meta = {"key": key, "files": files, "info": info}
                (tmp / "meta.json").write_text(json.dumps(meta))
                if final.exists():
                    os.replace(final, tmp.with_name(f"{tmp.name}-old"))
                os.replace(tmp, final)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
                shutil.rmtree(tmp.with_name(f"{tmp.name}-old"), ignore_errors=True)
