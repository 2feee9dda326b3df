"""Every third-party module bulktool imports is declared in pyproject.toml (issue 16): a fresh
virtual environment gets exactly the declared distributions, so an undeclared import breaks
`bulktool demo` for every new user while a developer's machine hides it."""
from __future__ import annotations

import ast
import importlib.metadata as md
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "bulktool"


def imported_modules(package: Path) -> dict[str, list[str]]:
    """Top-level module names imported anywhere in the package (function-level imports too),
    with the files that import them."""
    found: dict[str, list[str]] = {}
    for path in sorted(package.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                found.setdefault(name.split(".")[0], []).append(str(path.relative_to(ROOT)))
    return found


def _norm(dist: str) -> str:
    return re.sub(r"[-_.]+", "-", dist).lower()


def declared_distributions(pyproject: dict) -> set[str]:
    return {_norm(re.split(r"[\s<>=!~;\[(]", req, maxsplit=1)[0]) for req in pyproject["project"]["dependencies"]}


def undeclared_imports(declared: set[str]) -> dict[str, list[str]]:
    """Third-party modules whose distribution is not among `declared`."""
    providers = md.packages_distributions()
    missing = {}
    for module, files in imported_modules(PACKAGE).items():
        if module in sys.stdlib_module_names or module == "bulktool" or module == "__future__":
            continue
        dists = {_norm(d) for d in providers.get(module, [])}
        if not dists & declared:
            missing[module] = sorted(set(files))
    return missing


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_every_third_party_import_is_a_declared_dependency():
    assert undeclared_imports(declared_distributions(pyproject())) == {}


def test_the_check_fails_when_a_dependency_line_is_removed():
    declared = declared_distributions(pyproject())
    for dist in ("numpy", "pyarrow", "typer", "cryptography"):
        assert dist in declared
        missing = undeclared_imports(declared - {dist})
        assert missing, f"removing {dist} went unnoticed"


def test_windows_only_modules_are_standard_library():
    # msvcrt (the Windows lock) is imported on Windows only; it must never look like a dependency
    assert "msvcrt" in sys.stdlib_module_names
