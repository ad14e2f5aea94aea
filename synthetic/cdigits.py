"""Coloured handwritten digits (the paper's Colored-MNIST, theory.md §6.1), built from local data only.

* ``source="sklearn"`` (default): scikit-learn's bundled ``load_digits`` (1,797 images, 8×8, values
  0..16 scaled to [0, 1]; nothing is downloaded).
* ``source="mnist"``: the real MNIST IDX files from ``root`` (``train-images-idx3-ubyte`` and
  ``train-labels-idx1-ubyte``, optionally ``.gz``; the official test files are used too when
  present), values 0..255 scaled to [0, 1].

The base images are split once into train / validation / test by ``split_seed`` (fractions
``split``). A task is a colouring rule (r_o, r_e): every odd digit is drawn red with probability r_o
(else green), every even digit red with probability r_e; the label is the parity (+1 odd, −1 even).
Red puts the grey image in channel 0, green in channel 1; channel 2 stays zero. Colours are drawn
per (task, split, seed), so two tasks see the same digits in different colours.
"""

from __future__ import annotations

import gzip
import hashlib
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from synthetic.checks import ConfigError, check_float, fail

MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
IDX_DTYPES = {
    0x08: np.uint8,
    0x09: np.int8,
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
IDX_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09}


# ----------------------------------------------------------------------------- IDX files
def write_idx(path: str | Path, array: np.ndarray) -> Path:
    """Write a uint8/int8 array in the IDX format (gzip if the name ends in .gz)."""
    arr = np.ascontiguousarray(array)
    if arr.dtype not in IDX_CODES:
        raise ValueError(f"write_idx supports uint8 and int8 arrays, got {arr.dtype}")
    header = struct.pack(">BBBB", 0, 0, IDX_CODES[arr.dtype], arr.ndim) + struct.pack(
        f">{arr.ndim}I", *arr.shape
    )
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as fh:
        fh.write(header + arr.tobytes())
    return path


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (plain or .gz); checks the magic number and that the size matches."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        raw = fh.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_DTYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number)")
    dtype, ndim = np.dtype(IDX_DTYPES[raw[2]]), raw[3]
    shape = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    body = raw[4 + 4 * ndim :]
    if len(body) != int(np.prod(shape)) * dtype.itemsize:
        raise ValueError(f"{path}: header says shape {shape} but the file holds {len(body)} bytes")
    return np.frombuffer(body, dtype=dtype).reshape(shape).copy()


def _find(root: Path, stem: str) -> Path | None:
    for name in (
        stem,
        stem + ".gz",
        stem.replace("-idx", ".idx"),
        stem.replace("-idx", ".idx") + ".gz",
    ):
        if (root / name).is_file():
            return root / name
    return None


def mnist_files(root: str | Path | None) -> dict[str, Path]:
    """The IDX files under ``root``; a clear one-line error when the training pair is missing."""
    if root is None:
        raise fail(
            "data.root", root, "must name a directory with MNIST IDX files when data.source='mnist'"
        )
    rootp = Path(str(root)).expanduser()
    if not rootp.is_dir():
        raise fail("data.root", str(root), "is not a directory")
    found = {k: _find(rootp, v) for k, v in MNIST_FILES.items()}
    missing = [MNIST_FILES[k] for k in ("train_images", "train_labels") if found[k] is None]
    if missing:
        raise fail(
            "data.root", str(root), f"holds no MNIST IDX files (missing {', '.join(missing)}[.gz])"
        )
    return {k: v for k, v in found.items() if v is not None}


# ----------------------------------------------------------------------------- base digits
@dataclass(frozen=True)
class Digits:
    images: np.ndarray  # (N, H, W) float32 in [0, 1]
    labels: np.ndarray  # (N,) int64 digit identity 0..9
    source: str

    @property
    def size(self) -> int:
        return self.images.shape[-1]

    def fingerprint(self) -> str:
        h = hashlib.sha256()
        h.update(self.images.tobytes())
        h.update(self.labels.tobytes())
        return h.hexdigest()[:16]


def load_digits(
    source: str = "sklearn", root: str | None = None, max_images: int | None = None
) -> Digits:
    """The grey digits of ``source`` (see the module doc), optionally the first ``max_images``."""
    if source == "sklearn":
        from sklearn.datasets import load_digits as sk_digits

        d = sk_digits()
        images = (d.images / 16.0).astype(np.float32)
        labels = d.target.astype(np.int64)
    elif source == "mnist":
        files = mnist_files(root)
        parts = [("train_images", "train_labels"), ("test_images", "test_labels")]
        ims, labs = [], []
        for ki, kl in parts:
            if ki in files and kl in files:
                ims.append(read_idx(files[ki]))
                labs.append(read_idx(files[kl]))
        images = np.concatenate(ims).astype(np.float32) / 255.0
        labels = np.concatenate(labs).astype(np.int64)
        if images.ndim != 3 or images.shape[0] != labels.shape[0]:
            raise fail(
                "data.root",
                str(root),
                f"images {images.shape} and labels {labels.shape} do not match",
            )
    else:
        raise fail("data.source", source, "must be one of ['sklearn', 'mnist']")
    if max_images is not None:
        images, labels = images[:max_images], labels[:max_images]
    return Digits(images=np.ascontiguousarray(images), labels=labels, source=source)


def split_indices(
    n: int, fractions: tuple[float, float, float], seed: int
) -> dict[str, np.ndarray]:
    """A seeded permutation of 0..n−1 cut into train / val / test by ``fractions`` (summing to 1)."""
    perm = np.random.default_rng(seed).permutation(n)
    n_train = round(fractions[0] * n)
    n_val = round(fractions[1] * n)
    return {
        "train": np.sort(perm[:n_train]),
        "val": np.sort(perm[n_train : n_train + n_val]),
        "test": np.sort(perm[n_train + n_val :]),
    }


# ----------------------------------------------------------------------------- colouring
@dataclass(frozen=True)
class ColourTask:
    """Parity with colour: odd digits red with probability r_odd, even digits with r_even."""

    name: str
    r_odd: float
    r_even: float

    def __post_init__(self) -> None:
        check_float(f"{self.name}.r_odd", self.r_odd, low=0.0, high=1.0)
        check_float(f"{self.name}.r_even", self.r_even, low=0.0, high=1.0)

    def key(self) -> str:
        return f"{self.r_odd:.6g}/{self.r_even:.6g}"


def colour_seed(task: ColourTask, split: str, seed: int) -> int:
    digest = hashlib.sha256(repr(("colour", task.key(), split, seed)).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def colourize(
    images: np.ndarray, digits: np.ndarray, r_odd: float, r_even: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """RGB images (N, 3, H, W), parity labels y ∈ {−1, +1} (+1 odd) and the red mask (N,)."""
    odd = digits % 2 == 1
    p_red = np.where(odd, r_odd, r_even)
    red = np.random.default_rng(seed).random(len(digits)) < p_red
    x = np.zeros((len(digits), 3, *images.shape[1:]), dtype=np.float32)
    x[red, 0] = images[red]
    x[~red, 1] = images[~red]
    y = np.where(odd, 1, -1).astype(np.int64)
    return x, y, red


def random_colours(images: np.ndarray, seed: int) -> np.ndarray:
    """Every digit red or green with probability 1/2, whatever its label (pre-training data)."""
    red = np.random.default_rng(seed).random(len(images)) < 0.5
    x = np.zeros((len(images), 3, *images.shape[1:]), dtype=np.float32)
    x[red, 0] = images[red]
    x[~red, 1] = images[~red]
    return x


def check_fractions(split) -> tuple[float, float, float]:
    if not isinstance(split, list | tuple) or len(split) != 3:
        raise fail("data.split", split, "must list 3 fractions (train, val, test)")
    fr = tuple(
        check_float(f"data.split[{i}]", v, low=0.0, high=1.0, low_open=True)
        for i, v in enumerate(split)
    )
    if abs(sum(fr) - 1.0) > 1e-6:
        raise ConfigError(f"data.split={list(split)!r} is invalid: the fractions must sum to 1")
    return fr  # type: ignore[return-value]
