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
    """``message`` in English (logs); ``key`` and ``values`` name the staff message
    (``kb.<key>`` in the catalogs)."""

    def __init__(self, line: int, message: str, key: str = "yaml_other",
                 values: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.message = message
        self.key = key
        self.values = values or {}


# What libyaml says → what it usually means for someone editing a knowledge file.
_SYNTAX_KEYS = (
    ("mapping values are not allowed", "yaml_colon"),
    ("tab character", "yaml_tab"),
    ("found character '\\t'", "yaml_tab"),
    ("could not find expected ':'", "yaml_no_colon"),
    ("did not find expected key", "yaml_indent"),
    ("did not find expected '-' indicator", "yaml_indent"),
    ("expected <block end>", "yaml_indent"),
    ("unexpected end of stream", "yaml_quote"),
    ("did not find expected ','", "yaml_bracket"),
    ("undefined alias", "yaml_special"),
    ("cannot start any token", "yaml_special"),
)


def _syntax_key(problem: str, context: str) -> str:
    said = f"{problem} {context}"
    return next((key for cue, key in _SYNTAX_KEYS if cue in said), "yaml_other")


def load(path: Path) -> Any:
    """Parse one document; a syntax error or duplicate key raises ``YamlProblem`` with its line."""
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.load(text, Loader=FastLoader)
        node = None
        if isinstance(data, dict):
            node = yaml.compose(text, Loader=FastLoader)
    except yaml.MarkedYAMLError as exc:
        key = _syntax_key(exc.problem or "", exc.context or "")
        # an unclosed quote is reported where the stream ends; its start is more useful
        mark = (exc.context_mark if key == "yaml_quote" else None) or exc.problem_mark \
            or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise YamlProblem(line, f"YAML syntax: {exc.problem or exc}", key) from None
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
                raise YamlProblem(key.start_mark.line + 1, f"{key.value}: key is given twice",
                                  "yaml_duplicate", {"name": str(key.value)})
            seen.add(key.value)
            _check_duplicate_keys(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _check_duplicate_keys(item)


def line_map(path: Path) -> dict[PathKey, int]:
    """Every mapping key and list item of the file, with the 1-based line where it starts."""
    return {key: start for key, (start, _) in spans(path).items()}


def spans(path: Path) -> dict[PathKey, tuple[int, int]]:
    """Every mapping key and list item: the 1-based lines where it starts and ends."""
    node = yaml.compose(path.read_text(encoding="utf-8"), Loader=FastLoader)
    found: dict[PathKey, tuple[int, int]] = {}
    if node is not None:
        _walk(node, (), found)
    return found


def _last_line(node: yaml.Node) -> int:
    """1-based last line of a node (a block ends at column 0 of the line after it)."""
    mark = node.end_mark
    return mark.line + 1 if mark.column > 0 else max(mark.line, node.start_mark.line + 1)


def _walk(node: yaml.Node, prefix: PathKey, found: dict[PathKey, tuple[int, int]]) -> None:
    found.setdefault(prefix, (node.start_mark.line + 1, _last_line(node)))
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            path = (*prefix, key.value)
            found[path] = (key.start_mark.line + 1, _last_line(value))
            _walk(value, path, found)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*prefix, index), found)


def insertion_line(
    where: dict[PathKey, tuple[int, int]], block: PathKey, missing: str, order: Sequence[str]
) -> tuple[int, str | None]:
    """Where a missing key of ``block`` belongs: just after the key that comes before it in
    ``order`` (the schema's field order), else just before the first key after it; with the
    name of the key it follows (None when it goes first)."""
    present = {k[-1]: span for k, span in where.items()
               if len(k) == len(block) + 1 and k[: len(block)] == block and isinstance(k[-1], str)}
    position = order.index(missing) if missing in order else len(order)
    before = [name for name in order[:position] if name in present]
    if before:
        return present[before[-1]][1] + 1, before[-1]
    after = [name for name in order[position + 1:] if name in present]
    if after:
        return present[after[0]][0], None
    if present:  # none of the known keys: after the last key of the block
        name, span = max(present.items(), key=lambda kv: kv[1][1])
        return span[1] + 1, str(name)
    start = where.get(block, (1, 1))[0]
    return (start + 1 if block else start), None


# -- writing --------------------------------------------------------------------------------------

class _Dumper(yaml.SafeDumper):  # the pure-Python emitter: libyaml ignores increase_indent
    """The way staff write the files by hand: list items indented under their key, text with
    line breaks as a literal block."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> Any:
        return super().increase_indent(flow, False)


def _str(dumper: _Dumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value,
                                   style="|" if "\n" in value else None)


_Dumper.add_representer(str, _str)


def dump(data: Any) -> str:
    """YAML text for one knowledge file (keys in the order given)."""
    text: str = yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100,
                          default_flow_style=False)
    return text
