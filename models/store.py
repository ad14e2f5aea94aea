"""One content-addressed store for everything trained: tensor files and Hugging Face directories.

* ``cached_code_hash(files)``: ``synthetic.files.code_hash`` (SHA-256 of source files, relative path
  + bytes; torch-free, so the job key of ``experiments.run`` uses it too) once per process: the code
  part of every key.
* ``tensor_digest(tensors)``: SHA-256 of a {name: tensor} (names, shapes, bytes; dtype too unless
  ``dtype=False``): the checksum stored with an entry and the weights part of a key.
* ``TensorStore``: one file ``<root>/<key[:2]>/<key>.pt`` per entry, written atomically, holding a
  format tag, the key, a dict of tensors under ``tensor_field`` and its checksum, plus any JSON-able
  fields; loaded with ``weights_only=True`` (no code runs). An entry that does not load, has the wrong
  format or key, or fails the checksum is logged and reported absent, so the caller recomputes it.
* ``DirStore``: one directory ``<root>/<key[:2]>/<key>/`` per entry (``save_pretrained`` output:
  safetensors, never pickle), written under a temporary name and renamed into place, with a
  ``meta.json`` holding the key and the SHA-256 of every file; a directory that fails is recomputed.

The per-testbed adapters (``models.cache.ModelCache``, ``models.vit_cache.ViTCache``,
``models.lm_cache.LMCache``) only say what goes into an entry and how a model is rebuilt from it.
"""

from __future__ import annotations

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

from synthetic.files import atomic_write, code_hash

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

    def load(self, key: str, what: str = "cache entry") -> dict | None:
        """The verified entry (a dict), or None when absent or unusable (logged)."""
        if self.root is None or not self.path(key).exists():
            return None
        try:
            obj = torch.load(self.path(key), map_location="cpu", weights_only=True)
            if not isinstance(obj, dict) or obj.get("format") != self.fmt or obj.get("key") != key:
                raise ValueError("wrong format or key")
            if tensor_digest(obj[self.field], dtype=self.digest_dtype) != obj["checksum"]:
                raise ValueError("checksum mismatch")
        except Exception as err:
            self.warn(what, self.path(key), err)
            return None
        return obj

    @staticmethod
    def warn(what: str, path: Path, err: Exception) -> None:
        log.warning("%s %s is unusable (%s: %s); recomputing", what, path, type(err).__name__, err)

    def store(self, key: str, tensors: Mapping[str, torch.Tensor], **fields) -> None:
        if self.root is None:
            return
        cpu = {k: v.detach().cpu() for k, v in tensors.items()}
        checksum = tensor_digest(cpu, dtype=self.digest_dtype)
        obj = {"format": self.fmt, "key": key, **fields, self.field: cpu, "checksum": checksum}
        atomic_torch_save(obj, self.path(key))


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
        """``write(tmp_dir)``, then meta.json, then rename into place (replacing an older entry)."""
        if self.root is None:
            return
        final = self.path(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=final.parent))
        try:
            write(tmp)
            files = {f.name: file_digest(f) for f in sorted(tmp.iterdir()) if f.is_file()}
            (tmp / "meta.json").write_text(json.dumps({"key": key, "files": files, "info": info}))
            if final.exists():
                shutil.rmtree(final)
            os.replace(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
