"""The one head-settings config every protocol, ``evaluate``, ``train_aam`` (raw heads) and the recipes share."""

from __future__ import annotations

from dataclasses import dataclass, field

from latentanon.heads.linear import LinearConfig

TASKS = ("ar", "tad", "ad", "privacy")  # the protocols, as ``evaluate --task`` names them


@dataclass(frozen=True)
class TADConfig:
    """TriDet training (AdamW, linear warm-up then cosine, gradient clipping 1.0, as the released config)."""

    epochs: int = 40  # training epochs; the epoch with the best validation mAP is kept
    warmup_epochs: int = 5  # linear warm-up epochs (at most ``epochs``)
    lr: float = 1e-4  # AdamW learning rate
    weight_decay: float = 0.025  # AdamW weight decay of the weight matrices (not of biases and norms)
    batch_size: int = 2  # videos per step
    embed_dim: int = 512  # TriDet width; the other sizes are TriDetConfig defaults
    ema: float = 0.0  # decay of an exponential moving average of the weights used for evaluation (released:
    # 0.999 over ~100 steps per epoch on THUMOS14; 0 = evaluate the trained weights, the default for small stores
    # where a 0.999 average would still be dominated by the first steps)

    def __post_init__(self):
        if self.epochs < 1 or self.batch_size < 1 or self.embed_dim < 1 or self.warmup_epochs < 0:
            raise ValueError(
                f"tad.epochs, tad.batch_size and tad.embed_dim must be positive and tad.warmup_epochs >= 0, got "
                f"{self.epochs}, {self.batch_size}, {self.embed_dim}, {self.warmup_epochs}"
            )
        if not 0.0 <= self.ema < 1.0:
            raise ValueError(f"tad.ema must be in [0, 1), got {self.ema}")


@dataclass(frozen=True)
class ADConfig:
    """MGFN training as released: Adam 1e-3, weight decay 5e-4, ``steps`` batches of B normal + B abnormal videos
    (the released code calls each batch an "epoch" and runs up to 1000), validated every ``val_every`` steps.

    ``restarts`` (not in the released code, which trains once) trains that many heads on the same split from
    independent seeds and reports their mean: on the synthetic benchmark one run's test frame AUC on fixed features
    spread over 0.75-0.94 with its seed (200 steps at lr 1e-3), more than the anonymizers it compares differ by."""

    steps: int = 1000  # training batches (the released code's "epochs")
    val_every: int = 25  # validate (video-level AUC) every this many steps; the best step is kept
    lr: float = 1e-3  # Adam learning rate
    weight_decay: float = 5e-4  # Adam weight decay
    batch_size: int = 16  # B, videos per class per step
    regularizers: str = "original"  # MGFN loss regularizers: "original" (as released) or see heads/mgfn.py
    dims: tuple[int, ...] = (64, 128, 1024)  # MGFN stage widths (released); (64, 128, 256) is 8x cheaper on CPU
    restarts: int = 5  # heads trained from independent seeds; the figures are their mean (released: 1 run)

    def __post_init__(self):
        if self.steps < 1 or self.val_every < 1 or self.batch_size < 1 or self.restarts < 1:
            raise ValueError(
                f"ad.steps, ad.val_every, ad.batch_size and ad.restarts must be positive, got {self.steps}, "
                f"{self.val_every}, {self.batch_size}, {self.restarts}"
            )


@dataclass(frozen=True)
class HeadSettings:
    """How every protocol trains its head (the same settings for raw and anonymized features)."""

    standardize: bool = True  # z-score features with training statistics (AR: fit clips; AD: normal fit clips)
    probe_epochs: int = 100  # epochs of the privacy MLP probe (the epoch is chosen on validation)
    linear: LinearConfig = field(default_factory=LinearConfig)  # the action-recognition linear head
    tad: TADConfig = field(default_factory=TADConfig)  # the TriDet detection head
    ad: ADConfig = field(default_factory=ADConfig)  # the MGFN anomaly head

    def __post_init__(self):
        if self.probe_epochs < 1:
            raise ValueError(f"probe_epochs must be >= 1, got {self.probe_epochs}")


def head_settings(cfg) -> HeadSettings:
    """The :class:`HeadSettings` part of a config that embeds its fields (``evaluate``'s config does)."""
    if isinstance(cfg, HeadSettings) and type(cfg) is HeadSettings:
        return cfg
    return HeadSettings(standardize=cfg.standardize, probe_epochs=cfg.probe_epochs, linear=cfg.linear, tad=cfg.tad,
                        ad=cfg.ad)  # fmt: skip
