"""A small Vision Transformer as plain tensors, its pre-training and fine-tuning, and grid evaluation.

The body (patch embedding, position embeddings, ``depth`` pre-norm blocks, final norm) is a dict
name → tensor; a task vector is a difference of bodies, so the project's task-vector algebra (add,
negate, scale, low rank, prune) applies unchanged. The 2-class parity head (z_even, z_odd) is *not*
part of the body: it is drawn once per Ψ0 and stays frozen in every fine-tuning, the analogue of the
theory's fixed readout a_(l). The model output is f = z_odd − z_even (label +1 = odd).

``forward`` takes bodies stacked along a leading axis G, so a whole chunk of merged models
Ψ0 + Σ_k λ_gk τ_k is evaluated in one batched pass (``evaluate_grid``): a ViT's merged attention is
not affine in λ, so the grid is evaluated directly.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from models.task_vectors import atomic_torch_save
from models.vit_config import ViTConfig, ViTTrainConfig
from synthetic.runtime import generator

log = logging.getLogger(__name__)
FORMAT = "task-arithmetic-theory/vit-cache/1"
ROOT = Path(__file__).resolve().parents[1]
CODE_FILES = ("models/vit.py", "models/vit_config.py", "synthetic/cdigits.py")


# ----------------------------------------------------------------------------- parameters
def body_shapes(cfg: ViTConfig) -> dict[str, tuple[int, ...]]:
    D, T, h = cfg.dim, cfg.n_patches, cfg.dim * cfg.mlp_ratio
    shapes: dict[str, tuple[int, ...]] = {
        "patch.w": (D, cfg.channels * cfg.patch * cfg.patch),
        "patch.b": (D,),
        "pos": (T, D),
    }
    for b in range(cfg.depth):
        shapes |= {
            f"b{b}.ln1.w": (D,),
            f"b{b}.ln1.b": (D,),
            f"b{b}.qkv.w": (3 * D, D),
            f"b{b}.qkv.b": (3 * D,),
            f"b{b}.proj.w": (D, D),
            f"b{b}.proj.b": (D,),
            f"b{b}.ln2.w": (D,),
            f"b{b}.ln2.b": (D,),
            f"b{b}.fc1.w": (h, D),
            f"b{b}.fc1.b": (h,),
            f"b{b}.fc2.w": (D, h),
            f"b{b}.fc2.b": (D,),
        }
    return shapes | {"norm.w": (D,), "norm.b": (D,)}


def init_body(cfg: ViTConfig, seed: int) -> dict[str, torch.Tensor]:
    """Truncation-free ViT-style init: N(0, 0.02²) weights, zero biases, unit LayerNorm gains."""
    g = generator(seed, "cpu")
    out = {}
    for name, shape in body_shapes(cfg).items():
        if name.endswith(".b") or name == "patch.b":
            out[name] = torch.zeros(shape)
        elif ".ln" in name or name.startswith("norm."):
            out[name] = torch.ones(shape)
        else:
            out[name] = torch.randn(shape, generator=g) * 0.02
    return out


def init_head(
    cfg: ViTConfig, n_classes: int, seed: int, std: float | None = None
) -> dict[str, torch.Tensor]:
    g = generator(seed, "cpu")
    s = (cfg.head_std if std is None else std) / math.sqrt(cfg.dim)
    return {"w": torch.randn(n_classes, cfg.dim, generator=g) * s, "b": torch.zeros(n_classes)}


@dataclass
class ViT:
    """Ψ: config, body (trainable, part of task vectors) and the frozen parity head."""

    cfg: ViTConfig
    body: dict[str, torch.Tensor]
    head: dict[str, torch.Tensor]

    @property
    def device(self) -> torch.device:
        return self.body["pos"].device

    def to(self, device) -> ViT:
        return ViT(
            self.cfg,
            {k: v.to(device) for k, v in self.body.items()},
            {k: v.to(device) for k, v in self.head.items()},
        )

    @property
    def params(self) -> dict[str, torch.Tensor]:  # what TaskVector.from_models differences
        return self.body

    def with_body(self, body: Mapping[str, torch.Tensor]) -> ViT:
        return ViT(self.cfg, {k: v.detach().clone() for k, v in body.items()}, self.head)

    @torch.no_grad()
    def __call__(self, x: torch.Tensor, chunk: int = 2048) -> torch.Tensor:
        return torch.cat([outputs(self, x[i : i + chunk]) for i in range(0, len(x), chunk)])


# ----------------------------------------------------------------------------- forward
def _ln(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """LayerNorm over the last axis with per-model gains (w, b: (G, D); x: (G, n, T, D))."""
    return torch.addcmul(
        b[:, None, None, :], F.layer_norm(x, x.shape[-1:], eps=1e-6), w[:, None, None, :]
    )


def _lin(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """x (G, n, T, i) · wᵀ (G, o, i) + b (G, o)."""
    return torch.matmul(x, w.transpose(-1, -2).unsqueeze(1)) + b[:, None, None, :]


def patchify(x: torch.Tensor, patch: int) -> torch.Tensor:
    """(n, C, H, W) → (n, T, C·p·p), patches in row-major order."""
    n = x.shape[0]
    return (
        F.unfold(x, kernel_size=patch, stride=patch)
        .transpose(1, 2)
        .reshape(n, -1, x.shape[1] * patch * patch)
    )


def features(cfg: ViTConfig, body: Mapping[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Pooled features (G, n, D) of G stacked bodies (every tensor with a leading G axis) on x."""
    G = body["pos"].shape[0]
    p = patchify(x, cfg.patch).unsqueeze(0).expand(G, -1, -1, -1)
    h = _lin(p, body["patch.w"], body["patch.b"]) + body["pos"][:, None]
    H, dh = cfg.heads, cfg.dim // cfg.heads
    n, T = x.shape[0], cfg.n_patches
    for b in range(cfg.depth):
        a = _ln(h, body[f"b{b}.ln1.w"], body[f"b{b}.ln1.b"])
        qkv = _lin(a, body[f"b{b}.qkv.w"], body[f"b{b}.qkv.b"]).reshape(G, n, T, 3, H, dh)
        q, k, v = (qkv[:, :, :, i].transpose(2, 3) for i in range(3))  # (G, n, H, T, dh)
        att = F.scaled_dot_product_attention(q, k, v).transpose(2, 3).reshape(G, n, T, cfg.dim)
        h = h + _lin(att, body[f"b{b}.proj.w"], body[f"b{b}.proj.b"])
        a = _ln(h, body[f"b{b}.ln2.w"], body[f"b{b}.ln2.b"])
        h = h + _lin(
            F.gelu(_lin(a, body[f"b{b}.fc1.w"], body[f"b{b}.fc1.b"])),
            body[f"b{b}.fc2.w"],
            body[f"b{b}.fc2.b"],
        )
    return _ln(h, body["norm.w"], body["norm.b"]).mean(2)


def logits(cfg: ViTConfig, body, head, x) -> torch.Tensor:
    """(G, n, K) logits of stacked bodies with one head {w: (K, D), b: (K,)}."""
    return torch.matmul(features(cfg, body, x), head["w"].T) + head["b"]


def outputs(model: ViT, x: torch.Tensor) -> torch.Tensor:
    """f = z_odd − z_even of one model, (n,)."""
    z = logits(model.cfg, {k: v.unsqueeze(0) for k, v in model.body.items()}, model.head, x)[0]
    return z[:, 1] - z[:, 0]


# ----------------------------------------------------------------------------- training
def _batches(n: int, batch: int, g: torch.Generator):
    perm = torch.randperm(n, generator=g)
    for i in range(0, n, batch):
        yield perm[i : i + batch]


def _optimizer(params, cfg: ViTTrainConfig):
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr)
    return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum)


def pretrain(
    cfg: ViTConfig,
    x: torch.Tensor,
    labels: torch.Tensor,
    train: ViTTrainConfig,
    *,
    progress: bool = False,
) -> tuple[ViT, dict]:
    """Ψ0: body trained with a ``n_pretrain_classes``-way head (cross-entropy), then that head is
    dropped and a fresh seeded 2-class parity head (frozen from now on) is attached."""
    dev = x.device
    body = {k: v.to(dev).requires_grad_(True) for k, v in init_body(cfg, cfg.seed).items()}
    head = {
        k: v.to(dev).requires_grad_(True)
        for k, v in init_head(cfg, cfg.n_pretrain_classes, cfg.seed + 1, 1.0).items()
    }
    opt = _optimizer([*body.values(), *head.values()], train)
    g = generator(train.seed, "cpu")
    losses = []
    for _ in tqdm(range(train.epochs), desc="pre-training Ψ0", disable=not progress):
        total = 0.0
        for idx in _batches(len(x), train.batch_size, g):
            idx = idx.to(dev)
            z = logits(cfg, {k: v.unsqueeze(0) for k, v in body.items()}, head, x[idx])[0]
            loss = F.cross_entropy(z, labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        losses.append(total / len(x))
    parity = {k: v.to(dev) for k, v in init_head(cfg, 2, cfg.seed + 2).items()}
    psi0 = ViT(cfg, {k: v.detach() for k, v in body.items()}, parity)
    with torch.no_grad():
        z = logits(
            cfg,
            {k: v.unsqueeze(0) for k, v in psi0.body.items()},
            {k: v.detach() for k, v in head.items()},
            x,
        )[0]
        acc = float((z.argmax(1) == labels).float().mean())
    return psi0, {"train_loss": losses, "train_accuracy": acc}


def loss_of(f: torch.Tensor, y: torch.Tensor, kind: str) -> torch.Tensor:
    if kind == "hinge":
        return (1 - y * f).clamp_min(0).mean()
    return F.softplus(-y * f).mean()  # binary cross-entropy on f = z_odd − z_even


def finetune(
    psi0: ViT,
    x: torch.Tensor,
    y: torch.Tensor,
    train: ViTTrainConfig,
    *,
    progress: bool = False,
    desc: str = "fine-tuning",
) -> tuple[ViT, dict]:
    """Fine-tune the body on (x, y ∈ {±1}); the parity head is never given to the optimizer."""
    body = {k: v.detach().clone().requires_grad_(True) for k, v in psi0.body.items()}
    head = {k: v.detach() for k, v in psi0.head.items()}
    opt = _optimizer(list(body.values()), train)
    g = generator(train.seed, "cpu")
    yf = y.to(x.dtype)
    losses = []
    for _ in tqdm(range(train.epochs), desc=desc, disable=not progress, leave=False):
        total = 0.0
        for idx in _batches(len(x), train.batch_size, g):
            idx = idx.to(x.device)
            z = logits(psi0.cfg, {k: v.unsqueeze(0) for k, v in body.items()}, head, x[idx])[0]
            loss = loss_of(z[:, 1] - z[:, 0], yf[idx], train.loss)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        losses.append(total / len(x))
    return ViT(psi0.cfg, {k: v.detach() for k, v in body.items()}, psi0.head), {
        "train_loss": losses
    }


@torch.no_grad()
def evaluate(model: ViT, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    f = model(x)
    yf = y.to(f.dtype)
    return {
        "accuracy": float((torch.sign(f) == yf).double().mean()),
        "hinge": float((1 - yf * f).clamp_min(0).double().mean()),
    }


# ----------------------------------------------------------------------------- grid evaluation
@torch.no_grad()
def evaluate_grid(
    psi0: ViT,
    vectors: Sequence[Mapping[str, torch.Tensor]],
    coefficients,
    data: Mapping[str, tuple[torch.Tensor, torch.Tensor]],
    *,
    memory_mb: float = 64.0,
) -> dict[str, dict[str, np.ndarray]]:
    """Accuracy and mean hinge of Ψ0 + Σ_k c_gk τ_k on each (x, y) of ``data`` for every row g (G, K).

    Chunks of grid points are merged into stacked bodies and evaluated in one batched forward; the
    chunk size keeps the activations of one chunk under ``memory_mb``.
    """
    dev = psi0.device
    coef = torch.as_tensor(coefficients, dtype=torch.float32, device=dev)
    if coef.ndim != 2 or coef.shape[1] != len(vectors):
        raise ValueError(
            f"coefficients must have shape (G, {len(vectors)}), got {tuple(coef.shape)}"
        )
    names = list(psi0.body)
    stacked = {n: torch.stack([v[n].to(dev) for v in vectors]) for n in names}
    cfg = psi0.cfg
    per = cfg.n_patches * cfg.dim * (6 + 2 * cfg.mlp_ratio) * 4 + cfg.n_patches**2 * cfg.heads * 4
    out = {}
    for name, (x, y) in data.items():
        x, yf = x.to(dev), y.to(dev).float()
        n = len(x)
        g_chunk = max(1, int(memory_mb * 2**20 // (per * n)))
        f_all = []
        for g0 in range(0, coef.shape[0], g_chunk):
            lam = coef[g0 : g0 + g_chunk]
            body = {
                k: psi0.body[k].unsqueeze(0) + torch.tensordot(lam, stacked[k], dims=([1], [0]))
                for k in names
            }
            if (
                n * len(lam) * per > memory_mb * 2**20 and n > 1
            ):  # one point is too big: split the samples
                s_chunk = max(1, int(memory_mb * 2**20 // (per * len(lam))))
                z = torch.cat(
                    [
                        logits(cfg, body, psi0.head, x[s : s + s_chunk])
                        for s in range(0, n, s_chunk)
                    ],
                    dim=1,
                )
            else:
                z = logits(cfg, body, psi0.head, x)
            f_all.append(z[..., 1] - z[..., 0])
        f = torch.cat(f_all)  # (G, n)
        out[name] = {
            "acc": (torch.sign(f) == yf).double().mean(1).cpu().numpy(),
            "hinge": (1 - yf * f).clamp_min(0).double().mean(1).cpu().numpy(),
        }
    return out


# ----------------------------------------------------------------------------- cache
def _code_version() -> str:
    h = hashlib.sha256()
    for rel in CODE_FILES:
        h.update(rel.encode())
        h.update((ROOT / rel).read_bytes())
    return h.hexdigest()[:16]


def _digest(tensors: Mapping[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for k in sorted(tensors):
        t = tensors[k].detach().to("cpu").contiguous()
        h.update(k.encode())
        h.update(repr(tuple(t.shape)).encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()


def cache_key(kind: str, payload: dict) -> str:
    return hashlib.sha256(
        json.dumps({"kind": kind, "code": _code_version(), **payload}, sort_keys=True).encode()
    ).hexdigest()


def weights_digest(model: ViT) -> str:
    return _digest(
        {
            **{f"body.{k}": v for k, v in model.body.items()},
            **{f"head.{k}": v for k, v in model.head.items()},
        }
    )


class ViTCache:
    """ViT models on disk by content key: atomic single files, ``weights_only=True``, checksummed.

    A missing, unreadable, foreign or altered entry is reported and recomputed, never trusted.
    ``root=None`` disables storage.
    """

    def __init__(self, root: str | None) -> None:
        self.root = Path(root) if root is not None else None
        self.trained = 0
        self.hits = 0

    def _path(self, key: str) -> Path:
        assert self.root is not None
        return self.root / "vit" / key[:2] / f"{key}.pt"

    def load(self, key: str, device) -> tuple[ViT, dict] | None:
        if self.root is None or not self._path(key).exists():
            return None
        try:
            obj = torch.load(self._path(key), map_location="cpu", weights_only=True)
            if not isinstance(obj, dict) or obj.get("format") != FORMAT or obj.get("key") != key:
                raise ValueError("wrong format or key")
            tensors = obj["tensors"]
            if _digest(tensors) != obj["checksum"]:
                raise ValueError("checksum mismatch")
            cfg = ViTConfig(**json.loads(obj["config"]))
            body = {k[5:]: v.to(device) for k, v in tensors.items() if k.startswith("body.")}
            head = {k[5:]: v.to(device) for k, v in tensors.items() if k.startswith("head.")}
            if set(body) != set(body_shapes(cfg)):
                raise ValueError("body keys do not match the config")
            model = ViT(cfg, body, head)
            meta = json.loads(obj["meta"])
        except Exception as err:
            log.warning(
                "ViT cache entry %s is unusable (%s: %s); recomputing",
                self._path(key),
                type(err).__name__,
                err,
            )
            return None
        self.hits += 1
        return model, meta

    def store(self, key: str, model: ViT, meta: dict) -> None:
        self.trained += 1
        if self.root is None:
            return
        tensors = {
            **{f"body.{k}": v.detach().cpu() for k, v in model.body.items()},
            **{f"head.{k}": v.detach().cpu() for k, v in model.head.items()},
        }
        atomic_torch_save(
            {
                "format": FORMAT,
                "key": key,
                "config": model.cfg.to_json(),
                "tensors": tensors,
                "checksum": _digest(tensors),
                "meta": json.dumps(meta),
            },
            self._path(key),
        )

    def get(self, key: str, device, make) -> tuple[ViT, dict]:
        hit = self.load(key, device)
        if hit is not None:
            return hit
        model, meta = make()
        self.store(key, model, meta)
        return model, meta


def train_payload(train: ViTTrainConfig) -> dict:
    return asdict(train)
