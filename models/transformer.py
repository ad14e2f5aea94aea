"""The one-layer nonlinear Transformer of the theory (theory.md §4.1–4.3).

Simplified form (``parametrization="wv"``, slides' Eq. 3), the default:

    f(X; Ψ) = (1/P) Σ_l a_(l)ᵀ ReLU( Σ_s V x_s softmax_l(x_sᵀ W x_l) )

with trainable W (d×d) and V (m×d), and a fixed readout a_(l) ∈ {±1/√m}^m (half of each sign).

Full form (``parametrization="qkvo"``, the paper's Eq. 4): W = W_Kᵀ W_Q with W_Q, W_K (m_b×d), and
V = W_O W_V with W_V (m_a×d), W_O (m×m_a). Task arithmetic on these four matrices is *not* linear in the
effective W and V (products of sums give cross terms), which is why "wv" is the main model.

Everything is a pure function of a parameter dict (``forward(params, readout, X)``) so that grids of
merged parameters can be evaluated without building modules; ``OneLayerTransformer`` is a thin
``nn.Module`` around it that owns the parameters and the readout buffer.

Pre-trained model Ψ0 (the paper does not specify it, theory.md §4.6): by default W0 = 0 (uniform
attention) and V0 ~ N(0, 0.01²) i.i.d., readout drawn once from ``seed``. In the "qkvo" form all four
matrices start N(0, σ²) with σ = ``qk0_std`` for W_Q, W_K and ``vo0_std`` for W_V, W_O (they cannot
start at zero: a zero product has zero gradient).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping

import torch
from torch import nn

from models.config import HIDDEN_ROWS, PARAM_NAMES, ModelConfig  # noqa: F401  (re-exported)
from synthetic.runtime import generator, resolve_device, resolve_dtype

Params = Mapping[str, torch.Tensor]


def make_readout(cfg: ModelConfig, g: torch.Generator) -> torch.Tensor:
    """(P, m) readout with entries ±1/√m, ⌊m/2⌋ positive per row in random places.

    "shared": one row repeated P times; "per_position": P independent rows.
    """
    m, P = cfg.width, cfg.n_tokens
    rows = 1 if cfg.readout == "shared" else P
    base = torch.full((m,), -1.0, dtype=torch.float64)
    base[: m // 2] = 1.0
    perms = torch.stack([torch.randperm(m, generator=g) for _ in range(rows)])
    a = base[perms] / math.sqrt(m)
    return a.expand(P, m).contiguous() if rows == 1 else a


def init_params(cfg: ModelConfig, g: torch.Generator) -> dict[str, torch.Tensor]:
    """Ψ0's trainable weights in float64 on the CPU (cast by the caller)."""
    stds = (
        {"W": cfg.w0_std, "V": cfg.v0_std}
        if cfg.parametrization == "wv"
        else {"W_Q": cfg.qk0_std, "W_K": cfg.qk0_std, "W_V": cfg.vo0_std, "W_O": cfg.vo0_std}
    )
    return {
        name: stds[name] * torch.randn(shape, generator=g, dtype=torch.float64)
        for name, shape in cfg.shapes.items()
    }


def effective_wv(params: Params) -> tuple[torch.Tensor, torch.Tensor]:
    """(W, V) of either parametrization: W = W_Kᵀ W_Q and V = W_O W_V for "qkvo"."""
    if "W" in params:
        return params["W"], params["V"]
    return params["W_K"].T @ params["W_Q"], params["W_O"] @ params["W_V"]


def attention(params: Params, X: torch.Tensor) -> torch.Tensor:
    """Attention weights A[n, l, s] = softmax_s(x_sᵀ W x_l): query l's weight on key s (rows sum to 1)."""
    if "W" in params:
        q = X @ params["W"].T  # row l is (W x_l)ᵀ
        scores = q @ X.transpose(-1, -2)
    else:
        scores = (X @ params["W_Q"].T) @ (X @ params["W_K"].T).transpose(-1, -2)
    return torch.softmax(scores, dim=-1)


def values(params: Params, X: torch.Tensor) -> torch.Tensor:
    """V x_s for every token: (n, P, m)."""
    if "V" in params:
        return X @ params["V"].T
    return (X @ params["W_V"].T) @ params["W_O"].T


def hidden(params: Params, X: torch.Tensor) -> torch.Tensor:
    """ReLU(Σ_s V x_s softmax_l(·)) for every query position l: (n, P, m)."""
    return torch.relu(attention(params, X) @ values(params, X))


def forward(params: Params, readout: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    """f(X; Ψ) for a batch X (n, P, d) -> (n,): ``forward_stacked`` with one model (one code path)."""
    stacked = {k: v.unsqueeze(0) for k, v in params.items()}
    return forward_stacked(stacked, readout.unsqueeze(0), X.unsqueeze(0))[0]


def forward_stacked(
    params: Params, readout: torch.Tensor, X: torch.Tensor, *, with_attention: bool = False
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """f for S models at once: params (S, ...), readout (S, P, m), X (S, B, P, d) -> (S, B).

    Model s sees only X[s]. The value side is evaluated as (A X) Vᵀ rather than A (X Vᵀ): the same
    number of FLOPs in forward and backward together at d < m, but the dominant product becomes one
    large (B·P × d)·(d × m) GEMM per model instead of B small (P × P)·(P × m) ones, which runs much
    closer to the machine's matmul rate. The readout is applied as a matrix-vector product. With
    ``with_attention`` the attention weights (S, B, P, P) are returned too.
    """
    S, B, P, d = X.shape
    flat = X.reshape(S, B * P, d)
    per_sample = X.reshape(S * B, P, d)
    if "W" in params:
        q = torch.bmm(flat, params["W"].mT).reshape(S * B, P, d)  # rows (W x_l)ᵀ
        scores = torch.bmm(q, per_sample.mT)
    else:
        q = torch.bmm(flat, params["W_Q"].mT).reshape(S * B, P, -1)
        k = torch.bmm(flat, params["W_K"].mT).reshape(S * B, P, -1)
        scores = torch.bmm(q, k.mT)
    attn = torch.softmax(scores, dim=-1)
    ax = torch.bmm(attn, per_sample).reshape(S, B * P, d)  # Σ_s A[l, s] x_s
    if "V" in params:
        pre = torch.bmm(ax, params["V"].mT)  # (S, B·P, m)
    else:
        pre = torch.bmm(torch.bmm(ax, params["W_V"].mT), params["W_O"].mT)
    m = pre.shape[-1]
    h = torch.relu(pre).reshape(S, B, P * m)
    f = torch.bmm(h, readout.reshape(S, P * m, 1)).squeeze(-1) / P
    if with_attention:
        return f, attn.reshape(S, B, P, P)
    return f


class OneLayerTransformer(nn.Module):
    """Owns the trainable parameters and the fixed readout buffer of one model."""

    def __init__(
        self,
        cfg: ModelConfig,
        params: Params | None = None,
        readout: torch.Tensor | None = None,
        *,
        device: str | torch.device = "cpu",
        dtype: str | torch.dtype = "float32",
    ) -> None:
        super().__init__()
        self.cfg = cfg
        device, dtype = resolve_device(device), resolve_dtype(dtype)
        if params is None or readout is None:
            g = generator(cfg.seed, "cpu")
            init_readout = make_readout(cfg, g)
            init = init_params(cfg, g)
            params = init if params is None else params
            readout = init_readout if readout is None else readout
        missing = set(cfg.param_names) ^ set(params)
        if missing:
            raise KeyError(f"parameter names {sorted(params)} do not match {list(cfg.param_names)}")
        for name in cfg.param_names:
            t = params[name]
            if tuple(t.shape) != cfg.shapes[name]:
                raise ValueError(
                    f"parameter {name} has shape {tuple(t.shape)}, expected {cfg.shapes[name]}"
                )
            self.register_parameter(
                name, nn.Parameter(t.detach().to(device=device, dtype=dtype).clone())
            )
        self.register_buffer("readout", readout.detach().to(device=device, dtype=dtype).clone())

    @property
    def params(self) -> dict[str, torch.Tensor]:
        return dict(self.named_parameters())

    @property
    def device(self) -> torch.device:
        return self.readout.device

    @property
    def dtype(self) -> torch.dtype:
        return self.readout.dtype

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return forward(self.params, self.readout, X)

    def attention(self, X: torch.Tensor) -> torch.Tensor:
        return attention(self.params, X)

    def hidden(self, X: torch.Tensor) -> torch.Tensor:
        return hidden(self.params, X)

    def with_params(self, params: Params) -> OneLayerTransformer:
        """A new model with these parameters and this model's config, readout, device and dtype."""
        return OneLayerTransformer(
            self.cfg, params, self.readout, device=self.device, dtype=self.dtype
        )

    def clone(self) -> OneLayerTransformer:
        return copy.deepcopy(self)


def pretrained_model(
    cfg: ModelConfig, *, device: str | torch.device = "cpu", dtype: str | torch.dtype = "float32"
) -> OneLayerTransformer:
    """Ψ0 built from ``cfg`` (readout and initial weights drawn from ``cfg.seed`` on the CPU)."""
    return OneLayerTransformer(cfg, device=device, dtype=dtype)
