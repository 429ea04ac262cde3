"""The Anonymizing Adapter Module (AAM): a shape-preserving adapter over a token axis, (B, L, D) -> (B, L, D).

Modes (``AAMConfig.mode``):

``token`` (default)
    A transformer encoder (``depth`` pre-norm layers of multi-head self-attention and a feed-forward block) over
    the T' temporal tokens of *one clip*. Attention never crosses clips, so a clip's output does not depend on
    which other clips share its batch (in ``eval()`` mode; dropout is the only randomness in ``train()``).
    The adapter sees what is constant across the clip's tokens (appearance) and what moves.
``paper-compat``
    The authors' released adapter: ``depth`` bare multi-head attention layers, each with a residual connection,
    no feed-forward, normalisation or positional encoding, fed *pooled clip vectors* as an (N, D) sequence, so
    the batch axis is the attention axis and a clip's output depends on the other clips of its batch. Kept to
    reproduce the released code; it is not a drop-in encoder (see docs/aam.md).
``mlp``
    ``depth`` residual blocks of Linear(D, D) + ReLU + BatchNorm1d + dropout applied to every token on its own
    (the paper's MLP ablation).

Every residual branch starts at zero (``zero_init``), so the adapter starts as the identity map; the paper's
reconstruction pre-training (:func:`identity_pretrain`) then runs until the relative error on the store is below
1% (immediately, unless a bottleneck or ``zero_init=False`` is chosen). A bottleneck cannot be the identity: it
starts as the PCA of the data at its rank (the best rank-k linear reconstruction, Eckart-Young), and the
reconstruction training then stops once an epoch no longer lowers the error.

Every mode may end in a ``bottleneck``: a learned linear projection to ``bottleneck`` dimensions and back
(rank-limited, so it can discard directions; DESIGN.md's non-invertible adapter), and ``noise_std`` adds Gaussian
noise to the output while training.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
import torch
from torch import nn

from latentanon.contracts import state_snapshot

MODES = ("token", "paper-compat", "mlp")


@dataclass(frozen=True)
class AAMConfig:
    """Architecture of the adapter. ``dim`` is the encoder's feature dimension D."""

    dim: int = 768
    mode: Literal["token", "paper-compat", "mlp"] = "token"
    depth: int = 3  # attention layers (token, paper-compat) or MLP blocks (mlp); the paper ablates 1/3/5
    heads: int = 8
    ff_dim: int = 2048  # feed-forward width of a token-mode layer (nn.TransformerEncoderLayer's default)
    dropout: float = 0.1
    bottleneck: int = 0  # 0: none; else a rank-`bottleneck` projection after the layers
    noise_std: float = 0.0  # Gaussian noise added to the output in train() mode
    zero_init: bool = True  # last layer of every residual branch starts at zero: the adapter starts as identity

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"AAM mode must be one of {MODES}, got {self.mode!r}")
        if self.dim < 1 or self.depth < 1:
            raise ValueError(f"AAM dim and depth must be positive, got dim={self.dim}, depth={self.depth}")
        if self.mode != "mlp" and (self.heads < 1 or self.dim % self.heads):
            raise ValueError(f"AAM heads ({self.heads}) must divide dim ({self.dim}); choose e.g. heads=8 for D=768")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"AAM dropout must be in [0, 1), got {self.dropout}")
        if self.bottleneck < 0 or self.bottleneck > self.dim:
            raise ValueError(f"AAM bottleneck must be 0 (none) or in 1..dim={self.dim}, got {self.bottleneck}")
        if self.noise_std < 0:
            raise ValueError(f"AAM noise_std must be >= 0, got {self.noise_std}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> AAMConfig:
        unknown = set(d) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown AAM config keys {sorted(unknown)}; known: {sorted(cls.__dataclass_fields__)}")
        return cls(**d)


class _CompatLayer(nn.Module):
    """Released-code layer: x + MultiheadAttention(x, x, x) over the first axis of a 2-D (N, D) input."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.attn = nn.MultiheadAttention(dim, heads)  # sequence-first, as released

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, D)
        return x + self.attn(x, x, x, need_weights=False)[0]


class _MLPBlock(nn.Module):
    def __init__(self, dim: int, dropout: float):
        super().__init__()
        self.linear = nn.Linear(dim, dim)
        self.norm = nn.BatchNorm1d(dim)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (N, D)
        return x + self.drop(self.norm(torch.relu(self.linear(x))))


class AAM(nn.Module):
    """Anonymizing Adapter Module. ``forward`` maps tokens (B, L, D) to (B, L, D); see the module docstring."""

    def __init__(self, cfg: AAMConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.dim
        if cfg.mode == "token":
            self.layers = nn.ModuleList(
                nn.TransformerEncoderLayer(
                    d, cfg.heads, cfg.ff_dim, cfg.dropout, batch_first=True, norm_first=True, activation="gelu"
                )
                for _ in range(cfg.depth)
            )
        elif cfg.mode == "paper-compat":
            self.layers = nn.ModuleList(_CompatLayer(d, cfg.heads) for _ in range(cfg.depth))
        else:
            self.layers = nn.ModuleList(_MLPBlock(d, cfg.dropout) for _ in range(cfg.depth))
        if cfg.bottleneck:
            self.down = nn.Linear(d, cfg.bottleneck)
            self.up = nn.Linear(cfg.bottleneck, d)
        if cfg.zero_init:
            self._zero_residual_branches()

    def _zero_residual_branches(self) -> None:
        """Zero the last weights of every residual branch, so that the layers start as the identity map.

        Gradients still reach every parameter after the first step (as in zero-initialised residual networks);
        a bottleneck cannot be the identity and is fitted by :func:`identity_pretrain`.
        """
        for layer in self.layers:
            if isinstance(layer, nn.TransformerEncoderLayer):
                last = (layer.self_attn.out_proj, layer.linear2)
            elif isinstance(layer, _CompatLayer):
                last = (layer.attn.out_proj,)
            else:
                nn.init.zeros_(layer.norm.weight)
                last = ()
            for lin in last:
                nn.init.zeros_(lin.weight)
                nn.init.zeros_(lin.bias)

    @property
    def batch_independent(self) -> bool:
        """True when a clip's output (in eval mode) does not depend on the rest of its batch."""
        return self.cfg.mode != "paper-compat"

    def body(self, tokens: torch.Tensor) -> torch.Tensor:
        """The layers before the bottleneck: (B, L, D) -> (B, L, D), or (B, 1, D) in paper-compat mode."""
        if tokens.ndim != 3 or tokens.shape[-1] != self.cfg.dim:
            raise ValueError(
                f"AAM expects tokens of shape (B, L, {self.cfg.dim}), got {tuple(tokens.shape)}; "
                "pass the encoder's temporal tokens (use x[:, None] for pooled (B, D) features)"
            )
        b, n, d = tokens.shape
        if self.cfg.mode == "token":
            x = tokens
            for layer in self.layers:
                x = layer(x)
        elif self.cfg.mode == "paper-compat":
            x = tokens.mean(dim=1)  # (B, D) pooled clip vectors; the batch is the sequence
            for layer in self.layers:
                x = layer(x)
            x = x[:, None]  # (B, 1, D)
        else:
            x = tokens.reshape(b * n, d)
            for layer in self.layers:
                x = layer(x)
            x = x.reshape(b, n, d)
        return x

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Anonymize.

        Args:
            tokens: (B, L, D) temporal tokens of B clips (token and mlp modes); in paper-compat mode the L axis
                is pooled first and the B pooled clip vectors attend to each other, as in the released code.

        Returns:
            (B, L, D) in token and mlp modes; (B, 1, D) in paper-compat mode (one pooled vector per clip).
        """
        x = self.body(tokens)
        if self.cfg.bottleneck:
            x = self.up(self.down(x))
        if self.training and self.cfg.noise_std > 0:
            x = x + self.cfg.noise_std * torch.randn_like(x)
        return x

    @torch.no_grad()
    def init_bottleneck_pca(self, tokens: torch.Tensor, max_rows: int = 65536, seed: int = 0) -> None:
        """Set the bottleneck to the PCA of the layers' outputs on ``tokens`` (N, L, D) at its rank: ``down``
        projects onto the top principal directions, ``up`` maps back and adds the mean, so the adapter starts at the
        best rank-k linear reconstruction of the data (Eckart-Young). At most ``max_rows`` token rows are used."""
        if not self.cfg.bottleneck:
            raise ValueError("init_bottleneck_pca needs an adapter with a bottleneck (AAMConfig.bottleneck > 0)")
        was = self.training
        self.eval()
        h = torch.cat([self.body(tokens[i : i + 512].float()) for i in range(0, len(tokens), 512)])
        self.train(was)
        h = h.reshape(-1, self.cfg.dim).double()
        if len(h) > max_rows:
            h = h[torch.randperm(len(h), generator=torch.Generator().manual_seed(seed))[:max_rows]]
        mean = h.mean(0)
        _, _, vh = torch.linalg.svd(h - mean, full_matrices=False)
        v = vh[: self.cfg.bottleneck]  # (k, D): top principal directions
        if len(v) < self.cfg.bottleneck:  # fewer rows than the rank: pad with orthogonal directions
            q, _ = torch.linalg.qr(torch.cat([v.T, torch.eye(self.cfg.dim, dtype=v.dtype)], 1))
            v = q[:, : self.cfg.bottleneck].T
        self.down.weight.copy_(v.float())
        self.down.bias.copy_(-(v @ mean).float())
        self.up.weight.copy_(v.T.float())
        self.up.bias.copy_(mean.float())

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


# ------------------------------------------------------------------------------------------ identity pre-training


def relative_error(output: torch.Tensor, target: torch.Tensor) -> float:
    """||output - target|| / ||target|| over the whole tensor (Frobenius norms)."""
    return float(torch.linalg.vector_norm(output - target) / torch.linalg.vector_norm(target).clamp_min(1e-12))


def identity_pretrain(
    aam: AAM,
    tokens: np.ndarray | torch.Tensor,
    *,
    loss: Literal["mse", "l1"] = "mse",
    epochs: int = 100,
    lr: float = 1e-3,
    batch_size: int = 512,
    target_error: float = 0.01,
    min_gain: float = 0.0,
    pca_init: bool = True,
    seed: int = 0,
    progress: bool = False,
) -> dict:
    """Train ``aam`` to reproduce its input (reconstruction, as the paper initialises the adapter to identity).

    Args:
        aam: the adapter (trained in place).
        tokens: (N, L, D) clip tokens from the store (float16 or float32).
        loss: ``mse`` (the released code) or ``l1`` (the paper's text).
        epochs: at most this many passes; stops early once the relative error on the data is below ``target_error``.
        lr: AdamW learning rate.
        batch_size: clips per step (paper-compat mode attends across the batch, as released).
        target_error: stop when ||AAM(x) - x|| / ||x|| (eval mode, whole data) is below this.
        min_gain: also stop once an epoch lowers the error by less than this fraction of it (0: never); the
            weights of the lowest error are kept. A bottleneck never reaches ``target_error`` on full-rank data.
        pca_init: start a bottleneck at the PCA of the data at its rank (:meth:`AAM.init_bottleneck_pca`).
        seed: shuffling and initialisation seed.
        progress: show a progress bar.

    Returns:
        ``{"epochs": run, "relative_error": final, "history": [per-epoch relative error], "start": error before
        the first epoch}``.
    """
    from tqdm.auto import tqdm

    if loss not in ("mse", "l1"):
        raise ValueError(f"identity loss must be 'mse' or 'l1', got {loss!r}")
    if not 0.0 <= min_gain < 1.0:
        raise ValueError(f"identity min_gain must be in [0, 1), got {min_gain}")
    x_all = torch.as_tensor(np.asarray(tokens, dtype=np.float32) if not torch.is_tensor(tokens) else tokens).float()
    if x_all.ndim != 3 or x_all.shape[-1] != aam.cfg.dim or not len(x_all):
        raise ValueError(f"identity pre-training needs (N, L, {aam.cfg.dim}) tokens, got {tuple(x_all.shape)}")
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(aam.parameters(), lr=lr, weight_decay=0.0)
    fn = nn.functional.mse_loss if loss == "mse" else nn.functional.l1_loss
    target = _reconstruction_target(aam, x_all)
    if pca_init and aam.cfg.bottleneck:
        aam.init_bottleneck_pca(x_all, seed=seed)
    history: list[float] = []
    err = start = evaluate_identity(aam, x_all, batch_size)
    best = (err, state_snapshot(aam)) if min_gain > 0 else None
    for _ in tqdm(range(epochs), desc="AAM identity", unit="epoch", disable=not progress):
        if err < target_error:
            break
        aam.train()
        order = torch.randperm(len(x_all), generator=gen)
        for i in range(0, len(order), batch_size):
            idx = order[i : i + batch_size]
            out = aam(x_all[idx])
            step_loss = fn(out, target[idx])
            opt.zero_grad(set_to_none=True)
            step_loss.backward()
            opt.step()
        err = evaluate_identity(aam, x_all, batch_size)
        history.append(err)
        if best is not None:
            gained = best[0] - err
            if err < best[0]:
                best = (err, state_snapshot(aam))
            if gained < min_gain * best[0]:
                break
    if best is not None and best[0] < err:
        aam.load_state_dict(best[1])
        err = best[0]
    aam.eval()
    return {"epochs": len(history), "relative_error": err, "history": history, "start": start}


def _reconstruction_target(aam: AAM, x: torch.Tensor) -> torch.Tensor:
    return x.mean(dim=1, keepdim=True) if aam.cfg.mode == "paper-compat" else x


@torch.no_grad()
def evaluate_identity(aam: AAM, tokens: torch.Tensor, batch_size: int = 512) -> float:
    """Relative reconstruction error ||AAM(x) - x|| / ||x|| in eval mode (pooled target in paper-compat mode)."""
    was = aam.training
    aam.eval()
    outs = [aam(tokens[i : i + batch_size]) for i in range(0, len(tokens), batch_size)]
    aam.train(was)
    return relative_error(torch.cat(outs), _reconstruction_target(aam, tokens))


def scaled_lr(base_lr: float, batch_size: int, base_batch: int = 512) -> float:
    """Linear scaling rule: ``base_lr * batch_size / base_batch`` (the paper's base is lr 1e-4 at batch 512)."""
    if batch_size < 1 or base_batch < 1 or not math.isfinite(base_lr) or base_lr <= 0:
        raise ValueError(f"need a positive lr and batch sizes, got lr={base_lr}, batch={batch_size}/{base_batch}")
    return base_lr * batch_size / base_batch
