"""The dependency direction of DESIGN.md, checked on the source: every import (module level or inside functions)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# package folder -> import prefix (pyproject's package-dir mapping)
FOLDERS = {"latentanon": "latentanon", "encoders": "latentanon.encoders", "stores": "latentanon.stores",
           "recipes": "latentanon.recipes"}  # fmt: skip
# the command-line modules: entry points, which nothing imports (tests aside)
COMMAND_LINE = {
    "latentanon.precompute",
    "latentanon.evaluate",
    "latentanon.train_aam",
    "latentanon.anonymize",
    "latentanon.demo",
    "latentanon.store",
    "latentanon.stores.__main__",
    "latentanon.datasets.synthetic.__main__",
    "latentanon.fit_control",
}
ALIASES = {"latentanon.store": "latentanon.stores.__main__"}  # kept so old commands work: the same entry point
# layer -> the latentanon modules it may import (prefixes); anything else of latentanon is above it
LAYERS = {
    "latentanon.stores": ("latentanon.contracts", "latentanon.stores"),
    "latentanon.encoders": ("latentanon.contracts", "latentanon.registry", "latentanon.encoders"),
    # the SPLAVU adapter's model file and checkpoint format belong to its anonymizer
    "latentanon.anonymizers": (
        "latentanon.contracts",
        "latentanon.registry",
        "latentanon.anonymizers",
        "latentanon.aam",
        "latentanon.checkpoint",
    ),  # fmt: skip
    "latentanon.protocols": (
        "latentanon.contracts",
        "latentanon.protocols",
        "latentanon.heads",
        "latentanon.metrics",
        "latentanon.stores",
        "latentanon.probes",
        "latentanon.retrieval",
        "latentanon.features",
        "latentanon.checkpoint",
        "latentanon.aam",
        "latentanon.anonymizers",
    ),  # fmt: skip
}


def _modules() -> dict[str, Path]:
    out = {}
    for folder, prefix in FOLDERS.items():
        for path in (ROOT / folder).rglob("*.py"):
            parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join([prefix, *parts])] = path
    return out


def _imports(name: str, path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base]) if base else ".".join(up)
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)  # `from pkg import module`
    return {m for m in found if m.startswith("latentanon")}


MODULES = _modules()
IMPORTS = {name: _imports(name, path) for name, path in MODULES.items()}


def _within(module: str, prefixes) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def test_the_scan_sees_the_package():
    assert {"latentanon.training", "latentanon.protocols.ar", "latentanon.stores.reader", "latentanon.recipes.gait",
            "latentanon.anonymizers", "latentanon.encoders.videomae"} <= set(MODULES)  # fmt: skip
    assert "latentanon.protocols.ar" in IMPORTS["latentanon.protocols"]


def test_core_never_imports_recipes():
    bad = {m: sorted(i for i in imps if _within(i, ["latentanon.recipes"]))
           for m, imps in IMPORTS.items() if not _within(m, ["latentanon.recipes"])}  # fmt: skip
    assert not {m: v for m, v in bad.items() if v}


def test_nothing_imports_a_command_line_module():
    """Training, the recipes and the library never import an entry point (nor do entry points import each other)."""
    bad = {
        m: sorted(i for i in imps if i in COMMAND_LINE and i not in (m, ALIASES.get(m))) for m, imps in IMPORTS.items()
    }
    assert not {m: v for m, v in bad.items() if v}


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_lower_layers_import_nothing_above_them(layer):
    bad = {}
    for m, imps in IMPORTS.items():
        if _within(m, [layer]) and m not in COMMAND_LINE:  # an entry point may import anything but recipes
            above = sorted(i for i in imps if not _within(i, LAYERS[layer]) and i != "latentanon")
            if above:
                bad[m] = above
    assert not bad


def test_the_layering_test_can_fail(tmp_path):
    path = tmp_path / "mod.py"
    path.write_text("def f():\n    from latentanon.evaluate import main\n    from ..recipes import gait\n")
    imps = _imports("latentanon.protocols.mod", path)
    assert "latentanon.evaluate" in imps and "latentanon.recipes.gait" in imps


def test_no_sys_path_edits_and_no_star_imports():
    this = Path(__file__).resolve()
    for folder in ("latentanon", "encoders", "stores", "recipes", "tests", "bench"):
        for path in (ROOT / folder).rglob("*.py"):
            if path == this:
                continue
            src = path.read_text()
            assert "sys.path.insert" not in src and "sys.path.append" not in src, f"{path}: no sys.path edits"
            assert "import *" not in src, f"{path}: no star imports"
