"""Device, dtype and seed helpers shared by every module."""

from __future__ import annotations

import hashlib

import torch

from synthetic.checks import check_choice, fail
from synthetic.files import atomic_write  # noqa: F401  (re-exported)

DTYPES = {"float32": torch.float32, "float64": torch.float64}


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``auto`` picks CUDA when present, else CPU; ``cpu``, ``cuda`` and ``cuda:N`` are taken as given."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cpu":
        return torch.device("cpu")
    if isinstance(device, str) and device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise fail("device", device, "CUDA is not available here; use 'auto' or 'cpu'")
        return torch.device(device)
    raise fail("device", device, "must be one of ['auto', 'cpu', 'cuda', 'cuda:N']")


def resolve_dtype(dtype: str | torch.dtype = "float32") -> torch.dtype:
    if isinstance(dtype, torch.dtype):
        return dtype
    check_choice("dtype", dtype, list(DTYPES))
    return DTYPES[dtype]


def derive_seed(*parts: object) -> int:
    """A stable 63-bit seed from any printable parts (same parts, same seed, on every machine)."""
    digest = hashlib.sha256(repr(parts).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def generator(seed: int, device: torch.device | str = "cpu") -> torch.Generator:
    """A torch.Generator on ``device``, seeded. Same seed and device type give the same stream."""
    g = torch.Generator(device=torch.device(device))
    g.manual_seed(int(seed))
    return g


def tune_cpu_allocator() -> bool:
    """Keep freed memory in the process heap instead of returning it to the OS (glibc only).

    The hot loops allocate the same few MB-sized tensors at every step. By default glibc serves
    blocks over 128 KiB with fresh ``mmap`` pages, so every step pays page faults and page zeroing
    on each of them; raising the mmap and trim thresholds lets the heap reuse the blocks (measured:
    a batched 8-model training step goes from ≈4.5 ms to ≈2 ms on a 2-core CPU). Called by the
    entry points (experiments, benchmark), not on import. Returns False where it does not apply.
    """
    import ctypes
    import ctypes.util
    import sys

    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        m_trim_threshold, m_mmap_threshold = -1, -3
        ok = libc.mallopt(m_mmap_threshold, 1 << 30) and libc.mallopt(m_trim_threshold, 1 << 30)
    except (OSError, AttributeError):
        return False
    return bool(ok)
