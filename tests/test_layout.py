"""The dependency rule and the code map of the README, checked against the real source.

Every ``.py`` under ``bot/`` and ``handlers/`` is parsed with ``ast``; every import counts, also
those inside functions and under ``if TYPE_CHECKING:`` (and ``importlib.import_module("…")``
with a literal name).  A failure lists each offending ``file:line``.
"""

from __future__ import annotations

import ast
import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIRS = ("bot", "handlers")

# The dependency rule (README, "Code map" → "The dependency rule").
# importer (a module and its submodules) → what it must not import
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "handlers": ("bot.channels", "aiogram", "aiohttp"),
    "bot.retrieval": ("bot.conversation", "bot.channels", "bot.store", "bot.reports", "handlers"),
    "bot.knowledge": (
        "bot.retrieval", "bot.conversation", "bot.channels", "bot.store", "bot.reports", "handlers",
    ),
    "bot.store": ("bot.conversation", "bot.channels", "bot.retrieval", "bot.reports", "handlers"),
    "bot.conversation": ("bot.channels", "handlers", "aiogram"),
    "bot.handoff": ("bot.channels", "handlers", "aiogram", "aiohttp"),
}
# imported module → the only importers allowed (tests/ and benchmarks/ are not checked)
ONLY_FROM: dict[str, tuple[str, ...]] = {
    "aiogram": ("bot.channels.telegram",),
    "handlers": ("handlers", "bot.app", "bot.cli"),
    "bot.app": ("bot.cli",),
}
ENVIRONMENT_READER = "bot.config"
ENVIRONMENT_NAMES = frozenset({"environ", "environb", "getenv", "getenvb"})


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name of the file
    target: str  # dotted name imported: a module of ours when it is one, else what was written
    path: str  # file, relative to the root
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.importer} imports {self.target}"


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files(root: Path) -> list[Path]:
    return sorted(p for d in SOURCE_DIRS if (root / d).is_dir() for p in (root / d).rglob("*.py"))


def _absolute(node: ast.ImportFrom, importer: str, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    package = importer.split(".") if is_package else importer.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _imported_names(
    node: ast.AST, importer: str, is_package: bool, modules: set[str]
) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom):
        base = _absolute(node, importer, is_package)
        for alias in node.names:
            full = f"{base}.{alias.name}" if base else alias.name
            yield full if full in modules else base
    elif (
        isinstance(node, ast.Call)
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
        and (
            (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
            or (isinstance(node.func, ast.Name) and node.func.id in {"import_module", "__import__"})
        )
    ):
        yield node.args[0].value


def read_imports(root: Path) -> list[Import]:
    """Every import of every source file, as (importer, target, file, line)."""
    files = source_files(root)
    modules = {module_name(p, root) for p in files}
    found: list[Import] = []
    for path in files:
        importer = module_name(path, root)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        rel = path.relative_to(root).as_posix()
        for node in ast.walk(tree):
            for target in _imported_names(node, importer, path.name == "__init__.py", modules):
                if target:
                    found.append(Import(importer, target, rel, getattr(node, "lineno", 0)))
    return sorted(found, key=lambda i: (i.path, i.line, i.target))


def forbidden_imports(imports: Iterable[Import], importer: str, banned: Iterable[str]) -> list[str]:
    banned = tuple(banned)
    return [
        f"{imp}  (rule: {importer} must not import {ban})"
        for imp in imports
        if within(imp.importer, importer)
        for ban in banned
        if within(imp.target, ban)
    ]


def imports_from_outside(
    imports: Iterable[Import], target: str, allowed: Iterable[str]
) -> list[str]:
    allowed = tuple(allowed)
    return [
        f"{imp}  (rule: only {', '.join(allowed)} may import {target})"
        for imp in imports
        if within(imp.target, target) and not any(within(imp.importer, a) for a in allowed)
    ]


def _graph(imports: Iterable[Import]) -> dict[str, dict[str, Import]]:
    """Our own modules → the modules of ours they import (with the first such import)."""
    imports = list(imports)
    edges: dict[str, dict[str, Import]] = {i.importer: {} for i in imports}
    for imp in imports:
        if imp.target in edges:
            edges[imp.importer].setdefault(imp.target, imp)
    return edges


def _tangles(edges: dict[str, dict[str, Import]]) -> list[list[str]]:
    """Strongly connected components with a cycle in them (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components: list[list[str]] = []

    def visit(node: str) -> Iterator[str]:
        index[node] = low[node] = len(index)
        stack.append(node)
        yield from sorted(edges[node])

    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, visit(start))]
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None and child not in index:
                work.append((child, visit(child)))
            elif child is not None:
                if child in stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = stack[stack.index(node):]
                    del stack[stack.index(node):]
                    if len(component) > 1 or node in edges[node]:
                        components.append(sorted(component))
    return components


def _cycle_through(first: str, members: set[str], edges: dict[str, dict[str, Import]]) -> list[str]:
    """The shortest way from ``first`` back to itself inside one component (breadth first)."""
    came_from: dict[str, str] = {}
    frontier = [first]
    while frontier and first not in came_from:
        following = []
        for node in frontier:
            for child in sorted(edges[node]):
                if child in members and child not in came_from:
                    came_from[child] = node
                    following.append(child)
        frontier = following
    path = [first]
    while len(path) == 1 or path[-1] != first:
        path.append(came_from[path[-1]])
    return path[::-1]


def find_cycles(imports: Iterable[Import]) -> list[str]:
    """One cycle per tangle of our own modules, each step with its file:line."""
    edges = _graph(imports)
    reports = []
    for component in _tangles(edges):
        path = _cycle_through(component[0], set(component), edges)
        steps = [str(edges[a][b]) for a, b in itertools.pairwise(path)]
        reports.append(" -> ".join(path) + "\n    " + "\n    ".join(steps))
    return reports


def environment_reads(root: Path) -> list[str]:
    """``os.getenv`` / ``os.environ`` (also as ``from os import …`` or an alias of os)."""
    found = []
    for path in source_files(root):
        if module_name(path, root) == ENVIRONMENT_READER:
            continue
        rel = path.relative_to(root).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        os_names = {"os"} | {
            alias.asname or alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
            if alias.name == "os"
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "os" and node.level == 0:
                names = sorted(a.name for a in node.names if a.name in ENVIRONMENT_NAMES)
                if names:
                    found.append(f"{rel}:{node.lineno}: from os import {', '.join(names)}")
            elif (
                isinstance(node, ast.Attribute)
                and node.attr in ENVIRONMENT_NAMES
                and isinstance(node.value, ast.Name)
                and node.value.id in os_names
            ):
                found.append(f"{rel}:{node.lineno}: {node.value.id}.{node.attr}")
    return found


def code_map_paths(readme: str) -> list[str]:
    """The paths of the tree in the README's "## Code map" section (directories end with /)."""
    heading = re.search(r"^## Code map[ \t]*$", readme, flags=re.M)
    assert heading, "the README has no '## Code map' section"
    section = readme[heading.end():].split("\n## ", 1)[0]
    block = re.search(r"^```[a-z]*\n(.*?)^```", section, flags=re.M | re.S)
    assert block, "the Code map section has no tree in a ``` block"
    paths: list[str] = []
    parents: list[str] = []
    for line in block.group(1).splitlines():
        prefix = re.match(r"[\s│├└─]*", line)
        assert prefix is not None
        rest = line[prefix.end():]
        if not rest:
            continue
        depth = len(prefix.group()) // 4
        name = rest.split()[0]
        parents = parents[:depth]
        path = "".join(parents) + name
        paths.append(path)
        if name.endswith("/"):
            parents.append(name)
    return paths


# --- the rules against the real code --------------------------------------------------------


@pytest.fixture(scope="module")
def imports() -> list[Import]:
    found = read_imports(ROOT)
    assert len({i.importer for i in found}) > 20, "no sources found"
    return found


@pytest.mark.parametrize("importer", sorted(FORBIDDEN))
def test_layer_does_not_import_what_it_must_not(imports: list[Import], importer: str) -> None:
    bad = forbidden_imports(imports, importer, FORBIDDEN[importer])
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("target", sorted(ONLY_FROM))
def test_only_the_allowed_modules_import(imports: list[Import], target: str) -> None:
    bad = imports_from_outside(imports, target, ONLY_FROM[target])
    assert not bad, "\n".join(bad)


def test_no_import_cycles(imports: list[Import]) -> None:
    cycles = find_cycles(imports)
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_only_config_reads_the_environment() -> None:
    found = environment_reads(ROOT)
    assert not found, "the environment is read outside bot/config.py:\n" + "\n".join(found)


def test_code_map_lists_existing_paths_and_every_package() -> None:
    paths = code_map_paths((ROOT / "README.md").read_text(encoding="utf-8"))
    missing = [
        p for p in paths if not (ROOT / p).exists() or p.endswith("/") != (ROOT / p).is_dir()
    ]
    assert not missing, f"the README code map names paths that do not exist: {missing}"
    listed = {p.rstrip("/") for p in paths}
    packages = sorted(
        init.parent.relative_to(ROOT).as_posix() for init in (ROOT / "bot").rglob("__init__.py")
    )
    unlisted = [p for p in packages if p not in listed]
    assert not unlisted, f"packages missing from the README code map: {unlisted}"
    for top in ("bot", "handlers", "knowledge", "locales", "tests", "benchmarks"):
        assert top in listed, top


def test_from_a_checkout_the_repository_folders_are_used() -> None:
    from bot import config

    assert config.DEFAULT_KNOWLEDGE_DIR == ROOT / "knowledge"
    assert config.LOCALES_DIR == ROOT / "locales"


# --- the checker itself finds what it should ------------------------------------------------


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_the_checker_reports_file_and_line(tmp_path: Path) -> None:
    _write(tmp_path, {
        "bot/__init__.py": "",
        "bot/app.py": "import handlers\n",
        "bot/retrieval/__init__.py": "",
        "bot/retrieval/engine.py": (
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n"
            "    from bot.store.store import Store\n"
            "def f() -> None:\n"
            "    from ..conversation import dialog\n"
        ),
        "bot/store/__init__.py": "",
        "bot/store/store.py": (
            "import os\nKEY = os.environ.get('K')\nfrom bot.retrieval import engine\n"
        ),
        "bot/conversation/__init__.py": "",
        "bot/conversation/dialog.py": (
            "import importlib\nimportlib.import_module('aiogram.types')\n"
        ),
        "bot/reports/__init__.py": "from bot import app\nfrom os import getenv\n",
        "handlers/__init__.py": "from aiohttp import web\n",
    })
    found = read_imports(tmp_path)
    assert forbidden_imports(found, "bot.retrieval", FORBIDDEN["bot.retrieval"]) == [
        "bot/retrieval/engine.py:3: bot.retrieval.engine imports bot.store.store"
        "  (rule: bot.retrieval must not import bot.store)",
        "bot/retrieval/engine.py:5: bot.retrieval.engine imports bot.conversation.dialog"
        "  (rule: bot.retrieval must not import bot.conversation)",
    ]
    assert forbidden_imports(found, "handlers", FORBIDDEN["handlers"])[0].startswith(
        "handlers/__init__.py:1: handlers imports aiohttp"
    )
    assert imports_from_outside(found, "aiogram", ONLY_FROM["aiogram"])[0].startswith(
        "bot/conversation/dialog.py:2: bot.conversation.dialog imports aiogram.types"
    )
    assert imports_from_outside(found, "bot.app", ONLY_FROM["bot.app"])[0].startswith(
        "bot/reports/__init__.py:1: bot.reports imports bot.app"
    )
    assert imports_from_outside(found, "handlers", ONLY_FROM["handlers"]) == []
    assert find_cycles(found) == [
        "bot.retrieval.engine -> bot.store.store -> bot.retrieval.engine\n"
        "    bot/retrieval/engine.py:3: bot.retrieval.engine imports bot.store.store\n"
        "    bot/store/store.py:3: bot.store.store imports bot.retrieval.engine"
    ]
    assert environment_reads(tmp_path) == [
        "bot/reports/__init__.py:2: from os import getenv",
        "bot/store/store.py:2: os.environ",
    ]


def test_the_code_map_parser_builds_full_paths() -> None:
    readme = (
        "## Code map\n\n```text\nbot/            x\n├── app.py      y\n└── channels/\n"
        "    └── telegram/   z\nhandlers/\n```\n\n## Next\n"
    )
    assert code_map_paths(readme) == [
        "bot/", "bot/app.py", "bot/channels/", "bot/channels/telegram/", "handlers/",
    ]
