"""Safe YAML: size, depth and alias-expansion limits, and source lines for error messages.

The document is *composed* first (a node graph in which an alias is a shared node, so a
"billion laughs" file stays small), its expanded size and depth are measured with memoisation,
and only then is it constructed with the safe constructor. The composed graph also tells which
line a key sits on, so a validation error can name ``file:line``.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from curate.errors import RulesError

MAX_BYTES = 1 << 20
MAX_NODES = 100_000
MAX_DEPTH = 64


@dataclass
class YamlDoc:
    """A loaded YAML document with its node graph kept for line lookups."""

    path: Path
    data: Any
    root: yaml.Node | None

    def line_of(self, loc: tuple[str | int, ...]) -> int | None:
        """1-based line of the deepest node on ``loc`` that exists in this document."""
        node = self.root
        if node is None:
            return None
        line = node.start_mark.line + 1
        for part in loc:
            child = _child(node, part)
            if child is None:
                return line
            key_node, node = child
            line = (key_node or node).start_mark.line + 1
        return line

    def has(self, loc: tuple[str | int, ...]) -> bool:
        node = self.root
        for part in loc:
            if node is None:
                return False
            child = _child(node, part)
            if child is None:
                return False
            node = child[1]
        return node is not None


def _child(node: yaml.Node, part: str | int) -> tuple[yaml.Node | None, yaml.Node] | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                return key, value
    elif (
        isinstance(node, yaml.SequenceNode)
        and isinstance(part, int)
        and 0 <= part < len(node.value)
    ):
        return None, node.value[part]
    return None


def _check_size(root: yaml.Node, path: Path) -> None:
    sizes: dict[int, int] = {}

    def size(node: yaml.Node, depth: int) -> int:
        if depth > MAX_DEPTH:
            raise RulesError(
                f"{path}:{node.start_mark.line + 1}: YAML nested deeper than {MAX_DEPTH}"
            )
        key = id(node)
        if key in sizes:
            return sizes[key]
        total = 1
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                total += size(k, depth + 1) + size(v, depth + 1)
        elif isinstance(node, yaml.SequenceNode):
            for v in node.value:
                total += size(v, depth + 1)
        if total > MAX_NODES:
            raise RulesError(
                f"{path}:{node.start_mark.line + 1}: YAML expands to more than {MAX_NODES} "
                "nodes (alias bomb?)"
            )
        sizes[key] = total
        return total

    size(root, 0)


def read_limited(path: str | Path, limit: int = MAX_BYTES, what: str = "rules file") -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes, else ``RulesError``.

    Opened without blocking and checked on the open descriptor: a FIFO would hang the run and
    ``/dev/zero`` would fill memory, and a check on the path could be raced by a swap.
    """
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise RulesError(f"{path}: {what} not found") from None
    except OSError as exc:
        raise RulesError(f"{path}: cannot read {what}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise RulesError(f"{path}: {what} is not a regular file")
        if info.st_size > limit:
            raise RulesError(f"{path}: {what} is {info.st_size} bytes, over the {limit} limit")
        raw = handle.read(limit + 1)
    if len(raw) > limit:
        raise RulesError(f"{path}: {what} is over the {limit} bytes limit")
    return raw


def load_yaml(path: str | Path, what: str = "rules file") -> YamlDoc:
    """Load one YAML file safely; raise ``RulesError`` with ``file:line`` on any problem."""
    path = Path(path)
    raw = read_limited(path, MAX_BYTES, what)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RulesError(f"{path}: {what} is not UTF-8 (byte {exc.start})") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        if root is None:
            return YamlDoc(path, None, None)
        _check_size(root, path)
        loader = yaml.SafeLoader("")
        data = loader.construct_document(root)
        loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark else ""
        raise RulesError(f"{path}{line}: invalid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise RulesError(f"{path}: invalid YAML: {exc}") from None
    return YamlDoc(path, data, root)
