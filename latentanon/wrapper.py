"""``AnonymizedEncoder``: a frozen encoder composed with an anonymizer, usable wherever an encoder is.

    from latentanon import AnonymizedEncoder
    enc = AnonymizedEncoder.from_pretrained("runs/aam/best")      # the encoder is rebuilt from the checkpoint
    tokens = enc(video)          # (B, T', D) anonymized temporal tokens ((B, 1, D) for a paper-compat adapter)
    clip_feature = enc.pool(tokens)                               # (B, D)

A latent anonymizer runs after the encoder (``f_L(f_E(video))``), a pixel anonymizer before it
(``f_E(f_P(video))``, on the video in [0, 1] RGB, between the caller's normalised input and the encoder's).
"""

from __future__ import annotations

import torch
from torch import nn

from latentanon.aam import AAM
from latentanon.contracts import EncoderSpec, Pooler


class AnonymizedEncoder(nn.Module):
    """Frozen encoder + anonymizer with the encoder's interface: ``forward(video) -> tokens``, ``pool(tokens)``.

    Args:
        encoder: a frozen encoder from :func:`latentanon.create_encoder`.
        anonymizer: a latent or pixel anonymizer (``latentanon.anonymizers``), or a trained ``AAM`` (taken as the
            SPLAVU latent anonymizer); a latent one's dim must equal the encoder's feature dim.
    """

    def __init__(self, encoder: nn.Module, anonymizer: nn.Module):
        super().__init__()
        if isinstance(anonymizer, AAM):
            from latentanon.anonymizers.splavu import SplavuAnonymizer

            anonymizer = SplavuAnonymizer(anonymizer)
        kind = getattr(anonymizer, "kind", None)
        if kind not in ("latent", "pixel"):
            raise ValueError(f"anonymizer must be a latent or pixel anonymizer (latentanon.anonymizers), got {kind!r}")
        spec: EncoderSpec = encoder.spec
        if kind == "latent" and getattr(anonymizer, "dim", spec.feature_dim) != spec.feature_dim:
            raise ValueError(f"anonymizer dim {anonymizer.dim} != encoder {spec.name} feature dim {spec.feature_dim}")
        self.encoder = encoder
        self.anonymizer = anonymizer.eval()
        self.pooler = Pooler.from_encoder(encoder)
        self.features_input = getattr(anonymizer, "input", "tokens") == "features"
        for p in self.anonymizer.parameters():
            p.requires_grad_(False)
        self.register_buffer("mean", torch.tensor(spec.mean, dtype=torch.float32).view(1, 1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(spec.std, dtype=torch.float32).view(1, 1, 3, 1, 1), persistent=False)

    @property
    def spec(self) -> EncoderSpec:
        return self.encoder.spec

    @property
    def aam(self) -> nn.Module:
        """The SPLAVU adapter inside a splavu anonymizer (kept for code written against the AAM-only wrapper)."""
        return getattr(self.anonymizer, "aam", self.anonymizer)

    @classmethod
    def from_pretrained(
        cls, path: str, encoder_checkpoint: str | None = None, encoder: str | nn.Module | None = None
    ) -> AnonymizedEncoder:
        """Rebuild from an anonymizer checkpoint (a ``train_aam`` run's ``best/``, or a pixel anonymizer's folder).

        Args:
            path: the checkpoint directory (or a registered anonymizer without weights, with ``encoder``).
            encoder_checkpoint: the encoder weights, when they are no longer where the checkpoint recorded them.
            encoder: the frozen encoder (a registry name or a module); needed when the checkpoint does not record
                its encoder (pixel anonymizers).
        """
        from latentanon.anonymizers import load_anonymizer
        from latentanon.registry import create_encoder, encoder_from_spec

        anonymizer = load_anonymizer(path)
        if isinstance(encoder, nn.Module):
            return cls(encoder, anonymizer)
        if encoder is not None:
            return cls(create_encoder(encoder, encoder_checkpoint), anonymizer)
        spec = (getattr(anonymizer, "meta", None) or {}).get("encoder")
        if not isinstance(spec, dict) or "name" not in spec:
            raise ValueError(f"{path}: the checkpoint does not record its encoder spec; pass encoder=NAME")
        return cls(encoder_from_spec(spec, encoder_checkpoint), anonymizer)

    def train(self, mode: bool = True) -> AnonymizedEncoder:  # frozen: always eval
        return super().train(False)

    @torch.no_grad()
    def forward(self, video: torch.Tensor) -> torch.Tensor:
        """(B, T, C, H, W) clips normalised with ``spec.mean/std`` -> (B, T', D) anonymized tokens ((B, 1, D) for a
        paper-compat adapter)."""
        if self.anonymizer.kind == "pixel":
            pixels = (video * self.std + self.mean).clamp(0, 1)  # (B, T, C, H, W) in [0, 1]
            return self.encoder((self.anonymizer(pixels).clamp(0, 1) - self.mean) / self.std)
        tokens = self.encoder(video)  # (B, T', D)
        if self.features_input:
            return self.anonymizer(self.encoder.pool(tokens)[:, None])  # (B, 1, D)
        return self.anonymizer(tokens)

    def pool(self, tokens: torch.Tensor) -> torch.Tensor:
        """Anonymized clip feature (B, D) from :meth:`forward`'s tokens."""
        if self.anonymizer.kind == "pixel":
            return self.encoder.pool(tokens)
        if self.features_input:
            return tokens[:, 0]
        return self.pooler(tokens)
