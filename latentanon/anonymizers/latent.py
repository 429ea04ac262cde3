"""Applying a latent anonymizer to stored clips: one function for training, evaluation and ``anonymize``."""

from __future__ import annotations

import numpy as np
import torch

from latentanon.contracts import Pooler


def apply_latent(module, pooler: Pooler, tokens=None, pooled=None, features_input: bool = False) -> tuple:
    """One batch through a latent anonymizer: ``(its input, its output tokens, anonymized clip features)``.

    Args:
        module: the anonymizer (any (B, L, D) -> (B, L, D) module, e.g. an AAM while it trains), or None for the
            raw features.
        pooler: the store's pooler; the features of token anonymizers are ``pooler(module(tokens))``.
        tokens: (B, T', D) clip tokens.
        pooled: (B, D) stored clip features (needed when ``features_input``; otherwise unused).
        features_input: the anonymizer reads the pooled clip features as a (B, 1, D) sequence and its output is the
            feature (the paper-compat adapter).
    """
    if features_input:
        x = pooled[:, None] if pooled is not None else pooler(tokens)[:, None]  # (B, 1, D)
        y = module(x) if module is not None else x
        return x, y, y[:, 0]
    y = module(tokens) if module is not None else tokens  # (B, T', D)
    return tokens, y, pooler(y)


def anonymize_arrays(anonymizer, pooler: Pooler, tokens, pooled=None, batch_size: int = 1024) -> tuple:
    """Apply a latent anonymizer to stored clips: ``(tokens (N, L, D), clip features (N, D))`` float32 arrays.

    A features-input anonymizer (paper-compat) reads ``pooled`` (N, D), ``batch_size`` clips at a time (its output
    depends on that batching, as in the released code), and returns (N, 1, D) tokens.
    """
    anonymizer.eval()
    features_input = getattr(anonymizer, "input", "tokens") == "features"
    source = pooled if features_input else tokens
    if source is None:
        raise ValueError("a features-input anonymizer (paper-compat) needs the stored clip features (pooled)")
    x_all = np.asarray(source)
    out_t, out_p = [], []
    with torch.no_grad():
        for i in range(0, len(x_all), batch_size):
            x = torch.from_numpy(np.asarray(x_all[i : i + batch_size], dtype=np.float32))
            _, y, feats = apply_latent(
                anonymizer, pooler, None if features_input else x, x if features_input else None, features_input
            )
            out_t.append(y.numpy())
            out_p.append(feats.numpy())
    d = x_all.shape[-1]
    if not out_t:
        length = 1 if features_input else np.asarray(tokens).shape[1]
        return np.zeros((0, length, d), np.float32), np.zeros((0, d), np.float32)
    return np.concatenate(out_t), np.concatenate(out_p)
