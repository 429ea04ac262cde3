"""One report: utility tasks, the privacy attack suite, gait, gender bias and the trade-off, in one Markdown file.

    python -m latentanon.recipes.report --config recipes/configs/report.yaml
    python -m latentanon.recipes.report --anonymized runs/aam/best --utility.action-store ucf101.zarr \\
        --privacy-probe.raw vispr.zarr --gait.raw casia_b.zarr --gender-bias.ntu ntu60.zarr

Runs every configured section for the raw features and the anonymized ones and writes ``OUT/report.md`` with the
sections' tables and plots (each section's own JSON, Markdown and PNG stay in ``OUT/<section>/``) and
``OUT/report.json`` with every number. ``--anonymized`` (an adapter checkpoint) is used by every section that does
not name its own; a section whose stores are not given is skipped (the report says so). Sections:

- ``utility``: the protocols on the action, TAD, AD and privacy stores, raw versus anonymized
  (``latentanon.comparison``);
- ``privacy_probe``: the attack suite (``recipes/privacy_probe.py``);
- ``gait``: CASIA-B retrieval with and without latent consistency (``recipes/gait.py``);
- ``gender_bias``: NTU-Bias-F / -M and Toyota Smarthome (``recipes/gender_bias.py``);
- ``tradeoff``: the (w_B, w_T) sweep (``recipes/tradeoff.py``; trains one adapter per point).
"""

from __future__ import annotations

import json
import re
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from latentanon import comparison
from latentanon.config import ConfigError
from latentanon.features import check_stores
from latentanon.protocols import HeadSettings
from latentanon.recipes import gait, gender_bias, privacy_probe
from latentanon.recipes import tradeoff as sweep
from latentanon.recipes._common import run_cli, write_outputs

SECTIONS = ("utility", "privacy_probe", "gait", "gender_bias", "tradeoff")


@dataclass(frozen=True)
class UtilityConfig:
    """Raw versus anonymized on the utility tasks and the published privacy probe (``evaluate``'s protocols)."""

    action_store: str = ""  # action store: action top-1 (and moving-clip privacy when it has attribute labels)
    tad_store: str = ""  # temporal action detection store: TAD mAP (optional)
    ad_store: str = ""  # anomaly detection store: AD AUC (optional)
    privacy_store: str = ""  # privacy images store (static clips): privacy cMAP of the published probe (optional)
    anonymized: str = ""  # adapter checkpoint (default: the report's)
    seed: int = 0  # seeds every head's split, initialisation and batches
    protocols: HeadSettings = field(default_factory=HeadSettings)  # the protocols' head settings


@dataclass(frozen=True)
class ReportConfig:
    """Every protocol for raw versus anonymized features, in one Markdown report."""

    anonymized: str = ""  # adapter checkpoint for every section that names none
    out: str = "runs/report"  # report.md and report.json, and one folder per section
    title: str = "latentanon privacy and utility report"  # the report's heading
    sections: str = ",".join(SECTIONS)  # comma-separated sections to run; those without stores are skipped
    utility: UtilityConfig = field(default_factory=UtilityConfig)
    privacy_probe: privacy_probe.PrivacyProbeConfig = field(default_factory=privacy_probe.PrivacyProbeConfig)
    gait: gait.GaitConfig = field(default_factory=gait.GaitConfig)
    gender_bias: gender_bias.GenderBiasConfig = field(default_factory=gender_bias.GenderBiasConfig)
    tradeoff: sweep.TradeoffConfig = field(default_factory=sweep.TradeoffConfig)


def run_utility(cfg: UtilityConfig, out: Path) -> tuple[dict, str]:
    roles = {
        role: path
        for role, path in (
            ("action", cfg.action_store),
            ("tad", cfg.tad_store),
            ("ad", cfg.ad_store),
            ("privacy", cfg.privacy_store),
        )
        if path
    }
    for role, path in roles.items():
        if not Path(path).exists():
            raise ConfigError(f"--utility.{role}-store {path}: no such store")
    if not cfg.anonymized:
        raise ConfigError("the utility section needs --anonymized (or --utility.anonymized): an adapter checkpoint")
    raw = comparison.evaluate_suite(roles, out / "raw", None, cfg.seed, cfg.protocols)
    anon = comparison.evaluate_suite(roles, out / "anonymized", cfg.anonymized, cfg.seed, cfg.protocols)
    rows = comparison.compare(raw, anon)
    text = comparison.format_table(rows)
    if "privacy" in rows and "ar" in rows:
        comparison.plot_comparison(rows, out / "privacy_utility.png")
        text += "\n![privacy and utility](privacy_utility.png)\n"
    text = (
        "## Utility and the published privacy probe\n\n"
        f"Adapter `{cfg.anonymized}`, seed {cfg.seed}; each task's head retrained on the features it evaluates.\n\n"
        + text
    )
    metrics = {"table": rows, "config": asdict(cfg)}
    write_outputs(out, "utility", metrics, text)
    return metrics, text


def _relink(markdown: str, folder: str) -> str:
    """Point a section's image links (relative to its folder) at ``folder/`` (relative to the report)."""
    return re.sub(r"!\[([^\]]*)\]\((?!/|https?:)([^)]+)\)", rf"![\1]({folder}/\2)", markdown)


def _configured(cfg: ReportConfig, section: str) -> bool:
    sub = getattr(cfg, section)
    if section == "utility":
        return bool(sub.action_store or sub.privacy_store)
    if section == "gender_bias":
        return bool(sub.ntu or sub.toyota)
    if section == "tradeoff":
        return bool(sub.action_store and sub.privacy_store)
    return bool(sub.raw)


def _check_sections(cfg: ReportConfig, sections: list[str]) -> None:
    """Every configured section's stores, checked before the first section runs (a later one may take an hour)."""
    u, g, p, b, t = cfg.utility, cfg.gait, cfg.privacy_probe, cfg.gender_bias, cfg.tradeoff
    checks = {
        "utility": ({"utility.action-store": u.action_store, "utility.tad-store": u.tad_store,
                     "utility.ad-store": u.ad_store, "utility.privacy-store": u.privacy_store},
                    u.anonymized or cfg.anonymized),
        "privacy_probe": ({"privacy-probe.raw": p.raw}, p.anonymized or cfg.anonymized),
        "gait": ({"gait.raw": g.raw}, g.anonymized or cfg.anonymized),
        "gender_bias": ({"gender-bias.ntu": b.ntu, "gender-bias.toyota": b.toyota}, b.anonymized or cfg.anonymized),
        "tradeoff": ({"tradeoff.action-store": t.action_store, "tradeoff.privacy-store": t.privacy_store}, ""),
    }  # fmt: skip
    for section in sections:
        if _configured(cfg, section):
            stores, anonymizer = checks[section]
            check_stores(stores, anonymizer)


def main(cfg: ReportConfig) -> dict:
    """Run the configured sections and write ``OUT/report.md`` and ``OUT/report.json``."""
    sections = [s.strip() for s in cfg.sections.split(",") if s.strip()]
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown:
        raise ConfigError(f"--sections: unknown {unknown}; known: {', '.join(SECTIONS)}")
    _check_sections(cfg, sections)
    out = Path(cfg.out)
    done: dict = {}
    parts = [f"# {cfg.title}", "", f"Anonymizer: `{cfg.anonymized or 'per section'}`.", ""]
    skipped = []
    for section in sections:
        if not _configured(cfg, section):
            skipped.append(section)
            continue
        t0 = time.perf_counter()
        folder = out / section
        print(f"report: {section} ...", flush=True)
        sub = getattr(cfg, section)
        if section == "utility":
            metrics, text = run_utility(replace(sub, anonymized=sub.anonymized or cfg.anonymized), folder)
        elif section == "tradeoff":
            metrics = sweep.main(replace(sub, out=str(folder)))
            text = sweep.format_markdown(metrics)
        else:
            module = {"privacy_probe": privacy_probe, "gait": gait, "gender_bias": gender_bias}[section]
            metrics = module.main(replace(sub, out=str(folder), anonymized=sub.anonymized or cfg.anonymized))
            text = module.format_markdown(metrics)
        done[section] = {"metrics": metrics, "seconds": time.perf_counter() - t0}
        parts += [_relink(text, section), ""]
    if not done:
        raise ConfigError("no section is configured: give the stores of at least one section (see --help)")
    if skipped:
        parts += [f"Skipped (no stores configured): {', '.join(skipped)}.", ""]
    (out / "report.md").write_text("\n".join(parts))
    (out / "report.json").write_text(json.dumps({"sections": done, "config": asdict(cfg)}, indent=1, default=str))
    print(f"wrote {out / 'report.md'} ({', '.join(done)})")
    return done


def cli(argv: list[str] | None = None) -> int:
    return run_cli(ReportConfig, main, None, "latentanon.recipes.report", argv)


if __name__ == "__main__":
    sys.exit(cli())
