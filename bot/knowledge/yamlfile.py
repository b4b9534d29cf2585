"""Read a YAML file fast, and map a data path back to its line when something is wrong."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

try:  # libyaml is ~10x faster; fall back to pure Python where it is missing
    from yaml import CSafeLoader as FastLoader
except ImportError:  # pragma: no cover - depends on the platform's PyYAML build
    from yaml import SafeLoader as FastLoader  # type: ignore[assignment]

PathKey = tuple[str | int, ...]


class YamlProblem(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def load(path: Path) -> Any:
    """Parse one document; a syntax error or duplicate key raises ``YamlProblem`` with its line."""
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.load(text, Loader=FastLoader)
        node = None
        if isinstance(data, dict):
            node = yaml.compose(text, Loader=FastLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise YamlProblem(line, f"YAML syntax: {exc.problem or exc}") from None
    except UnicodeDecodeError as exc:  # pragma: no cover - read_text raises before this
        raise YamlProblem(1, f"not UTF-8: {exc}") from None
    if node is not None:
        _check_duplicate_keys(node)
    return data


def _check_duplicate_keys(node: yaml.Node) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key, value in node.value:
            if key.value in seen:
                raise YamlProblem(key.start_mark.line + 1, f"{key.value}: key is given twice")
            seen.add(key.value)
            _check_duplicate_keys(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _check_duplicate_keys(item)


def line_map(path: Path) -> dict[PathKey, int]:
    """Every mapping key and list item of the file, with the 1-based line where it starts."""
    node = yaml.compose(path.read_text(encoding="utf-8"), Loader=FastLoader)
    lines: dict[PathKey, int] = {}
    if node is not None:
        _walk(node, (), lines)
    return lines


def _walk(node: yaml.Node, prefix: PathKey, lines: dict[PathKey, int]) -> None:
    lines.setdefault(prefix, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            path = (*prefix, key.value)
            lines[path] = key.start_mark.line + 1
            _walk(value, path, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*prefix, index), lines)


def _has(cursor: Any, part: str | int) -> bool:
    if isinstance(cursor, dict):
        return part in cursor
    return isinstance(cursor, list) and isinstance(part, int) and part < len(cursor)


def locate(loc: Sequence[str | int], data: Any, lines: dict[PathKey, int]) -> tuple[str, int]:
    """Turn a pydantic error location into a dotted field name and the closest line.

    Pydantic puts union member names (``str``, ``PerChannel``, the discriminator tag) into the
    location; they are dropped by walking the data itself.
    """
    path: list[str | int] = []
    cursor = data
    for part in loc:
        if _has(cursor, part):
            path.append(part)
            cursor = cursor[part]
        elif (
            isinstance(cursor, dict)
            and isinstance(part, str)
            and part[:1].islower()
            and (part not in {"str", "int", "list", "dict", "procedure", "faq"})
        ):
            path.append(part)  # a missing or extra key: report it, on its parent's line
            break
    line = 1
    for end in range(len(path), -1, -1):
        if tuple(path[:end]) in lines:
            line = lines[tuple(path[:end])]
            break
    name = ".".join(f"[{p}]" if isinstance(p, int) else p for p in path).replace(".[", "[")
    return name or "(file)", line
