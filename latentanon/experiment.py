"""One comparison run: raw features, the published and the best SPLAVU adapters and the controls, on every task.

The README's demo (``python -m latentanon.demo``) is this run on one seed; ``python -m latentanon.recipes.seeds``
repeats it over benchmark seeds and reports mean and spread. Steps:

1. builds (or reuses) the synthetic benchmark (version 2; the ``demo`` preset: the ``default`` privacy-image suite,
   two clips per action group, fewer and shorter untrimmed and anomaly videos);
2. extracts their features with the tiny encoder pretrained on the benchmark's own pretraining suite
   (``checkpoints/i3d-r50-tiny-synthetic``, which never saw an evaluation video) into Zarr stores;
3. evaluates the raw features (action top-1, TAD mAP, AD frame AUC, privacy cMAP on static clips of images and
   on moving clips); its fitted AR, TAD and AD heads are kept as the adapters' raw heads, so nothing is trained twice;
4. trains two SPLAVU adapters on the stores (AR, TAD and AD seen), sharing those raw heads: the **published**
   setting (the paper's losses and weights) and the **best** setting measured in docs/aam.md (a rank-``rank``
   bottleneck, started at the PCA of the tokens, and batch-centred NT-Xent with w_B ``best_budget``; rank 12 and
   w_B 20 by default, chosen on seed 0 of the ``default`` preset among ranks 12 and 16 at w_B 10 and 20);
5. fits the controls on the action store's training clips: PCA to the adapter's rank (and, when asked, a random
   orthogonal projection to that rank and Gaussian noise at each ``--noise`` sigma);
6. evaluates every method with the same protocols and retrained heads and attackers, prints one table (privacy as
   the share of the removable gap, raw - chance, it removes) and the finding against PCA, and writes
   ``report.md``, ``report.json`` and ``privacy_utility.png`` in ``--out``.

Re-running reuses what is there (the benchmark, complete stores, cached raw heads, finished adapter runs, fitted
controls, finished evaluations).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from latentanon.config import ConfigError
from latentanon.extract import PrecomputeConfig, format_summary
from latentanon.extract import main as precompute
from latentanon.protocols import ADConfig, HeadSettings, TADConfig
from latentanon.stores import open_store

SUITES = ("ucf101", "vispr", "thumos14", "ucf_crime")
STEPS = 6
PRESETS = ("demo", "small", "default")
# the demo preset: default's privacy-image suite; two clips per action group, fewer and shorter untrimmed and anomaly
# videos (the build, extraction and the TAD and AD heads are most of the demo's time; it runs in < 10 min)
DEMO_SIZES = {"action_clips_per_group": 2, "thumos_train": 12, "thumos_test": 6,
              "anomaly_normal_train": 24, "anomaly_normal_test": 10, "anomaly_train_per_class": 8,
              "anomaly_test_per_class": 4, "anomaly_seconds": 16.0}  # fmt: skip


@dataclass(frozen=True)
class ExperimentConfig:
    """Benchmark -> stores -> published and best SPLAVU adapters and the controls -> one comparison table."""

    out: str = "demo_out"  # folder for the benchmark, the stores, the runs and the report
    encoder: str = "i3d-r50-tiny"  # registry name of the frozen encoder (the shipped checkpoint is for i3d-r50-tiny)
    checkpoint: str | None = "shipped"  # "shipped": the pretrained checkpoint in checkpoints/; none: random weights
    preset: str = "demo"  # synthetic benchmark size: demo (default sizes, shorter anomaly suite), small or default
    num_workers: int = 2  # decoding processes of precompute
    seed: int = 0  # seeds the benchmark, the static clips, training and evaluation
    epochs: int = 20  # adapter training epochs
    batch_size: int = 64  # action videos per adapter training step
    lr: float = 1e-3  # base lr at batch 512 (linear scaling: 1.25e-4 at batch 64)
    rank: int = 12  # bottleneck rank of the best adapter; PCA and the random projection use the same rank
    best_budget: float = 20.0  # w_B of the best adapter (batch-centred NT-Xent)
    controls: tuple[str, ...] = ("pca",)  # controls beside the adapters: pca, random-projection, noise
    full_controls: tuple[str, ...] = ("pca",)  # controls evaluated on every task; the others on AR and privacy only
    noise: tuple[float, ...] = (0.5, 1.0, 2.0)  # sigmas of the noise control (times each dimension's std)
    protocols: HeadSettings = field(  # the heads of every evaluation (and the raw heads of training)
        default_factory=lambda: HeadSettings(
            tad=TADConfig(epochs=25, embed_dim=256),
            # MGFN: 25 steps at lr 1e-4, mean of 5 restarts (chosen on a separate anomaly build, seed 99: past ~25
            # steps its test frame AUC falls while the validation video AUC still rises; docs/aam.md)
            ad=ADConfig(steps=25, lr=1e-4, dims=(64, 128, 256), restarts=5),
        )
    )


SHIPPED = Path(__file__).resolve().parents[1] / "checkpoints" / "i3d-r50-tiny-synthetic" / "model.safetensors"
CONTROL_NAMES = ("pca", "random-projection", "noise")


def _step(k: int, text: str) -> None:
    print(f"[{k}/{STEPS}] {text}", flush=True)


def _check(cfg: ExperimentConfig) -> str | None:
    checkpoint = cfg.checkpoint
    if checkpoint == "shipped":
        if cfg.encoder != "i3d-r50-tiny":
            raise ConfigError("the shipped checkpoint is for --encoder i3d-r50-tiny; pass --checkpoint none or a path")
        checkpoint = str(SHIPPED) if SHIPPED.is_file() else None
    if cfg.preset not in PRESETS:
        raise ConfigError(f"--preset must be one of {', '.join(PRESETS)}, got {cfg.preset!r}")
    if cfg.epochs < 1:
        raise ConfigError(f"--epochs must be >= 1, got {cfg.epochs}")
    if cfg.rank < 1:
        raise ConfigError(f"--rank must be >= 1, got {cfg.rank}")
    for flag, names in (("controls", cfg.controls), ("full-controls", cfg.full_controls)):
        unknown = sorted(set(names) - set(CONTROL_NAMES))
        if unknown:
            raise ConfigError(f"unknown --{flag} {unknown}; choose from {', '.join(CONTROL_NAMES)}")
    if "noise" in cfg.controls and (not cfg.noise or any(not math.isfinite(s) or s < 0 for s in cfg.noise)):
        raise ConfigError(f"--noise must list sigmas >= 0 when the noise control is asked for, got {cfg.noise}")
    return checkpoint


def _evaluate(roles: dict, out: Path, anonymizer: str | None, cfg: ExperimentConfig, heads_out=None) -> dict:
    """``evaluate_suite`` once: a finished evaluation (``done.json``) is reused when every report in it was made with
    this run's protocols and seed; one made with other settings (an older AD protocol, say) is evaluated again."""
    from latentanon import comparison
    from latentanon.protocols.result import protocol_config

    done = out / "done.json"
    if done.is_file():
        reports = json.loads(done.read_text())
        want = protocol_config(cfg.protocols, seed=cfg.seed)
        if all({k: r.get("config", {}).get(k) for k in want} == want for r in reports.values()):
            return reports
        print(f"  {out}: evaluated with other protocol settings or seed; evaluating again", flush=True)
    reports = comparison.evaluate_suite(roles, out, anonymizer, cfg.seed, cfg.protocols, heads_out=heads_out)
    tmp = done.with_suffix(".tmp")
    tmp.write_text(json.dumps(reports, default=str))
    tmp.replace(done)  # a killed run never leaves a half-written marker
    return reports


def finding(rows: dict, adapter: str, control: str) -> str:
    """The verdict of METHOD.md: does ``adapter`` remove at least 1.5x the gap share of ``control`` at equal or
    better utility (action top-1 within 1 point)? Static and moving clips are judged alike."""
    a, c = rows[adapter], rows[control]
    parts = []
    for task, what in (("privacy", "static clips"), ("privacy_moving", "moving clips")):
        if task not in a or task not in c:
            continue
        ga, gc = a[task]["gap_removed"], c[task]["gap_removed"]
        ratio = ga / gc if gc > 0 else math.inf
        parts.append(f"{what}: {100 * ga:.0f}% of the removable gap vs {100 * gc:.0f}% (x{ratio:.2f})")
    d_ar = a["ar"]["anonymized"] - c["ar"]["anonymized"]
    credited = all(
        a[t]["gap_removed"] >= 1.5 * max(c[t]["gap_removed"], 0) for t in ("privacy", "privacy_moving") if t in a
    )
    verdict = (
        f"the {adapter} adapter removes at least 1.5x what {control} removes at equal or better action accuracy"
        if credited and d_ar >= -0.01
        else f"the {adapter} adapter does NOT remove 1.5x what {control} removes at equal or better action accuracy, "
        f"so its privacy gain is not credited to the method beyond what {control} gives (METHOD.md: a finding, "
        "not a failure)"
    )
    return f"{adapter} vs {control}: " + "; ".join(parts) + f"; action top-1 {100 * d_ar:+.1f} pts. Finding: {verdict}."


def run(cfg: ExperimentConfig) -> dict:
    """The whole run (see the module docstring); returns ``{"stores", "train", "table", "findings", "raw",
    "methods"}``."""
    from latentanon import comparison
    from latentanon.controls import fit_control
    from latentanon.datasets.synthetic import generate
    from latentanon.training import AdapterConfig, TrainConfig, Weights
    from latentanon.training import main as train

    checkpoint = _check(cfg)
    t0 = time.perf_counter()
    out = Path(cfg.out)
    bench = out / f"synthetic-{cfg.preset}"
    _step(1, f"synthetic benchmark v2 ({cfg.preset} preset) in {bench}")
    sizes = DEMO_SIZES if cfg.preset == "demo" else {}
    try:
        generate(
            bench,
            preset="default" if cfg.preset == "demo" else cfg.preset,
            seed=cfg.seed,
            suites=["action", "vispr", "thumos14", "anomaly"],
            workers=cfg.num_workers,
            **sizes,
        )
    except FileExistsError as e:
        # Rebuilding in place is not offered: the stores, adapters and reports in --out were made from the old
        # build and are reused by video key and run folder, so they would silently mix two benchmarks.
        raise ConfigError(
            f"{bench} holds a benchmark of another seed, preset or version; the stores, adapters and reports in {out} "
            f"were made from it, so this run does not rebuild over them: choose a new --out, or delete {out}"
        ) from e

    _step(2, f"precomputing {', '.join(SUITES)} with {cfg.encoder}")
    stores, infos = {}, {}
    for suite in SUITES:
        path = str(out / f"{suite}-{cfg.encoder}.zarr")
        summary = precompute(
            PrecomputeConfig(
                dataset=suite,
                root=str(bench / suite),
                encoder=cfg.encoder,
                checkpoint=checkpoint,
                out=path,
                num_workers=cfg.num_workers,
                batch_size=32,
                static_clips=2,
                seed=cfg.seed,
            )
        )
        print(format_summary(summary))
        infos[suite] = open_store(path).info()
        stores[suite] = path

    roles = {
        "action": stores["ucf101"],
        "tad": stores["thumos14"],
        "ad": stores["ucf_crime"],
        "privacy": stores["vispr"],
    }
    _step(3, "evaluating raw features (AR, TAD, AD, privacy); the adapters co-train against these AR, TAD, AD heads")
    t = time.perf_counter()
    raw_heads = out / "runs" / "raw_heads"
    raw = _evaluate(roles, out / "eval" / "raw", None, cfg, heads_out=raw_heads)
    print(f"  raw features: evaluated in {time.perf_counter() - t:.0f} s", flush=True)

    _step(4, f"training the published and the best SPLAVU adapters (rank {cfg.rank}, AR, TAD and AD seen)")
    p = cfg.protocols
    common = dict(
        action_store=stores["ucf101"],
        tad_store=stores["thumos14"],
        ad_store=stores["ucf_crime"],
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        lr=cfg.lr,
        seed=cfg.seed,
        raw=p,
        ad_batch=4,
        raw_heads=str(raw_heads),
    )
    settings = {
        "published": dict(weights=Weights()),
        "best": dict(
            weights=Weights(budget=cfg.best_budget), center_budget=True, aam=AdapterConfig(bottleneck=cfg.rank)
        ),
    }
    # the best setting's folder names its rank and w_B, so a run with other settings in the same --out trains and
    # evaluates its own adapter instead of refusing the old run or reusing its evaluation
    folders = {"published": "published", "best": f"best-rank{cfg.rank}-wb{cfg.best_budget:g}"}
    methods: dict[str, str] = {}
    evals: dict[str, str] = {}  # method label -> its evaluation folder under OUT/eval (named where it is added)
    cheap: set[str] = set()  # methods evaluated on AR and privacy only
    runs = {}
    for name, extra in settings.items():
        run_dir = out / "runs" / folders[name]
        runs[name] = summary = train(TrainConfig(out=str(run_dir), **common, **extra))
        best = summary["best"] or {}
        print(
            f"{name} adapter: best epoch {summary['best_epoch']} of {cfg.epochs}, validation top-1 "
            f"{best.get('val_top1', float('nan')):.3f} (raw {summary['raw_val']['val_top1']:.3f}), "
            f"{summary['aam_parameters'] / 1e6:.2f}M parameters, {summary['seconds']:.0f} s"
        )
        methods[f"SPLAVU {name}"] = str(run_dir / "best")
        evals[f"SPLAVU {name}"] = f"SPLAVU-{folders[name]}"

    _step(5, f"fitting the controls on the training clips of the action store ({', '.join(cfg.controls)})")
    wanted = []
    if "pca" in cfg.controls:
        wanted.append((f"PCA-{cfg.rank}", "pca", dict(k=cfg.rank)))
    if "random-projection" in cfg.controls:
        wanted.append((f"random-proj-{cfg.rank}", "random-projection", dict(k=cfg.rank, seed=cfg.seed)))
    if "noise" in cfg.controls:
        wanted += [(f"noise {s:g}", "noise", dict(sigma=s, seed=cfg.seed)) for s in cfg.noise]
    for label, control, kwargs in wanted:
        folder = out / "controls" / label.replace(" ", "-")
        if not (folder / "config.json").is_file():
            fit_control(control, stores["ucf101"], str(folder), **kwargs)
        methods[label] = str(folder)
        evals[label] = folder.name
        if control not in cfg.full_controls:
            cheap.add(label)

    _step(6, f"evaluating {len(methods)} methods (AR, TAD, AD, privacy; heads and attackers retrained)")
    reports = {}
    for label, anonymizer in methods.items():
        t = time.perf_counter()
        these = {k: v for k, v in roles.items() if k in ("action", "privacy")} if label in cheap else roles
        reports[label] = _evaluate(these, out / "eval" / evals[label], anonymizer, cfg)
        print(f"  {label}: evaluated in {time.perf_counter() - t:.0f} s", flush=True)
    rows = comparison.method_rows(raw, reports)
    title = f"Raw, SPLAVU and controls ({cfg.encoder}, synthetic v2 {cfg.preset}, seed {cfg.seed})"
    table = comparison.format_methods(raw, rows, title)
    verdicts = [finding(rows, "SPLAVU best", f"PCA-{cfg.rank}")] if f"PCA-{cfg.rank}" in rows else []
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.md").write_text(table + "\n" + "\n".join(verdicts) + "\n")
    blob = {"table": rows, "raw": raw, "methods": reports, "findings": verdicts, "train": runs, "config": asdict(cfg)}
    (out / "report.json").write_text(json.dumps(blob, indent=1, default=str))
    comparison.plot_methods(raw, rows, out / "privacy_utility.png")
    print("\n" + table)
    for line in verdicts:
        print(line)
    if cfg.preset == "small":
        print("The small preset has few videos per task: its figures show the pipeline working, not the method.")
    print(
        f"wrote {out / 'report.md'}, {out / 'report.json'} and {out / 'privacy_utility.png'} in "
        f"{time.perf_counter() - t0:.0f} s"
    )
    return {"stores": infos, "train": runs, "table": rows, "findings": verdicts, "raw": raw, "methods": reports}
