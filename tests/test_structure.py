"""The house plan holds (issue 17): no import cycle among bulktool's modules, every module
importable on its own, function-level imports of bulktool only where a comment says why, and no
module over 400 lines."""
from __future__ import annotations

import ast
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "bulktool"
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def _imports(tree: ast.Module, module: str, is_package: bool) -> list[tuple[ast.stmt, list[str], bool]]:
    """(node, bulktool modules it imports, at module level?) for every import in the module."""
    found = []

    def resolve(node: ast.ImportFrom) -> str:
        if node.level == 0:
            return node.module or ""
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[:len(base) - (node.level - 1)]
        return ".".join(base + ([node.module] if node.module else []))

    def visit(body, top: bool) -> None:
        for node in body:
            if isinstance(node, ast.If) and _is_type_checking(node):
                continue
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names if a.name.split(".")[0] == "bulktool"]
                if names:
                    found.append((node, names, top))
            elif isinstance(node, ast.ImportFrom):
                base = resolve(node)
                if base.split(".")[0] == "bulktool":
                    # `from pkg import mod` names the module pkg.mod; `from mod import name` names mod
                    names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
                    found.append((node, sorted(set(names)), top))
            for field in ("body", "orelse", "finalbody", "handlers"):
                inner = getattr(node, field, None)
                if isinstance(inner, list) and inner and not isinstance(node, (ast.Import, ast.ImportFrom)):
                    visit(inner, top and not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                               ast.ClassDef, ast.Lambda)))
    visit(tree.body, True)
    return found


def import_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        edges = set()
        for _, names, top in _imports(tree, name, path.name == "__init__.py"):
            if top:
                edges.update(n for n in names if n in MODULES and n != name)
        graph[name] = edges
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as the list of modules around it, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = walk(nxt)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = walk(node)
            if cycle:
                return cycle
    return None


def test_the_import_graph_has_no_cycle():
    assert find_cycle(import_graph()) is None


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_every_module_imports_alone_in_a_fresh_interpreter():
    def load(name: str) -> tuple[str, int, str]:
        r = subprocess.run([sys.executable, "-c", f"import {name}"], capture_output=True, text=True, cwd=ROOT)
        return name, r.returncode, r.stderr[-500:]

    with ThreadPoolExecutor(max_workers=2) as pool:
        # __main__ is the entry point (`python -m bulktool`): importing it runs the CLI
        failed = [(n, err) for n, rc, err in pool.map(load, sorted(set(MODULES) - {"bulktool.__main__"})) if rc != 0]
    assert failed == []


def test_function_level_imports_of_bulktool_say_why():
    unexplained = []
    for name, path in MODULES.items():
        lines = path.read_text(encoding="utf-8").splitlines()
        tree = ast.parse("\n".join(lines))
        for node, _, top in _imports(tree, name, path.name == "__init__.py"):
            if top:
                continue
            here, above = lines[node.lineno - 1], lines[node.lineno - 2] if node.lineno > 1 else ""
            if "#" not in here and not above.strip().startswith("#"):
                unexplained.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert unexplained == []


def test_no_module_is_over_400_lines():
    long = {str(p.relative_to(ROOT)): n for p in MODULES.values()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_no_clock_is_read_below_the_cli_but_the_one_clock():
    """One clock, injected (bulktool/clock.py): nothing else asks the system for the date or time."""
    forbidden = ("date.today(", "datetime.now(", "datetime.today(", "time.time(", "time.localtime(",
                 "datetime.utcnow(")
    readers = [f"{path.relative_to(ROOT)}: {call}" for name, path in MODULES.items() if name != "bulktool.clock"
               for call in forbidden if call in path.read_text(encoding="utf-8")]
    assert readers == []
