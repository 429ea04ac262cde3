"""The package layout and the layering rules of DESIGN.md."""

import ast
import subprocess
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]
MAPPED = {
    "latentanon": "latentanon",
    "latentanon.encoders": "encoders",
    "latentanon.stores": "stores",
    "latentanon.recipes": "recipes",
}


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def _python_packages(folder: Path, prefix: str) -> set[str]:
    """Every folder holding Python modules, as a dotted package name."""
    out = set()
    for path in folder.rglob("*.py"):
        if any(p.startswith((".", "__pycache__")) for p in path.relative_to(folder).parts):
            continue
        rel = path.parent.relative_to(folder)
        out.add(".".join([prefix, *rel.parts]))
    return out


def test_every_mapped_folder_and_subfolder_is_packaged():
    setup = _pyproject()
    package_dir, packages = setup["package-dir"], set(setup["packages"])
    for name, folder in MAPPED.items():
        assert package_dir.get(name) == folder, f"pyproject package-dir must map {name} to {folder}/"
        found = _python_packages(ROOT / folder, name)
        missing = found - packages
        assert not missing, f"add {sorted(missing)} to [tool.setuptools] packages in pyproject.toml"
        for sub in found - {name}:
            child = sub.removeprefix(name + ".").replace(".", "/")
            assert (ROOT / folder / child / "__init__.py").exists(), f"{folder}/{child} needs an __init__.py"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


LIGHT = ("latentanon", "latentanon.stores", "latentanon.video", "latentanon.precompute", "latentanon.anonymizers",
         "latentanon.protocols", "latentanon.training")  # fmt: skip


def test_imports_are_light_and_side_effect_free():
    """All of them in one fresh interpreter (the union is the stricter check): no heavy library, no logging setup."""
    code = (
        f"import sys, logging; import {', '.join(LIGHT)}; "
        "heavy = [m for m in ('transformers', 'timm', 'faiss') if m in sys.modules]; "
        "assert not heavy, heavy; assert not logging.getLogger().handlers, 'logging configured at import'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
