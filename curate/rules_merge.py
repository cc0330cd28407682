"""Merging an ``extends:`` chain of rules files, and remembering where each entry came from.

Mappings are deep-merged (the extending file wins). The three lists a rule set is made of are
merged entry by entry, because replacing them would silently drop the gate a file extends:

- ``steps`` entries are matched by ``id`` (which defaults to the step name), ``checks`` entries
  by ``check``, ``gate`` entries by ``name`` (an unnamed gate entry is named
  ``"<metric> <op> <threshold>"``, as in the report);
- a matching entry overrides the one it matches, in place (its keys win; a step whose ``step``
  changes is replaced whole, since the old parameters belong to another step);
- ``remove: true`` in a matching entry deletes it;
- any other entry is appended;
- ``replace: [steps, gate]`` at the top of a file makes those lists replace the extended ones.

Other lists (``fields.sensitive``, a step's own list parameters) are values and are replaced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curate.errors import RulesError
from curate.yamlsafe import YamlDoc

Loc = tuple[str | int, ...]
LIST_SECTIONS = ("steps", "checks", "gate")


def deep_merge(base: Any, child: Any) -> Any:
    """Deep-merge mappings (child wins); lists and scalars are replaced."""
    if isinstance(base, dict) and isinstance(child, dict):
        out = dict(base)
        for key, value in child.items():
            out[key] = deep_merge(base[key], value) if key in base else value
        return out
    return child


#: where a record's text comes from: a file that names one of these replaces the other
TEXT_SOURCES = ("text", "chat")


def _one_text_source(merged: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """``fields.chat`` in a file that extends ``fields.text`` (or the reverse) replaces it:
    ``extends: default`` + ``fields: {chat: messages}`` needs no ``text: null``."""
    fields, inherited = data.get("fields"), merged.get("fields")
    if not isinstance(fields, dict) or not isinstance(inherited, dict):
        return data
    named = [k for k in TEXT_SOURCES if k in fields]
    if len(named) != 1:
        return data
    other = TEXT_SOURCES[1 - TEXT_SOURCES.index(named[0])]
    if other in inherited:
        merged["fields"] = {k: v for k, v in inherited.items() if k != other}
    return data


def entry_key(section: str, entry: Any) -> str | None:
    """What identifies a list entry across files (``None``: never matches)."""
    if not isinstance(entry, dict):
        return None
    if section == "steps":
        key = entry.get("id", entry.get("step"))
    elif section == "checks":
        key = entry.get("check")
    else:
        key = entry.get("name")
        if key is None and "metric" in entry:
            threshold = entry.get("threshold")
            shown = f"{threshold:g}" if isinstance(threshold, (int, float)) else str(threshold)
            key = f"{entry['metric']} {entry.get('op', '<=')} {shown}"
    return key if isinstance(key, str) else None


@dataclass
class Entry:
    """One merged list entry and the (document, index) pairs that wrote it, oldest first."""

    data: Any
    parts: list[tuple[YamlDoc, int]] = field(default_factory=list)


@dataclass
class Merged:
    data: dict[str, Any]
    entries: dict[str, list[Entry]]
    docs: list[YamlDoc]  # child first
    removed: list[tuple[str, str, str]] = field(default_factory=list)  # (section, key, file:line)


def display_path(path: str | Path, bundled_dir: Path | None) -> str:
    """A bundled rules file as ``bundled:default.yaml`` (no paths of the user's machine)."""
    if bundled_dir is not None:
        try:
            rel = Path(path).resolve().relative_to(bundled_dir.resolve())
        except ValueError:
            return str(path)
        return f"bundled:{rel.as_posix()}"
    return str(path)


def _replaced_sections(doc: YamlDoc) -> set[str]:
    value = doc.data.get("replace", [])
    line = doc.line_of(("replace",))
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RulesError(f"{doc.path}:{line}: replace: must be a list of section names")
    unknown = sorted(set(value) - set(LIST_SECTIONS))
    if unknown:
        raise RulesError(
            f"{doc.path}:{line}: replace: unknown section {unknown[0]!r} "
            f"(one of {', '.join(LIST_SECTIONS)})"
        )
    return set(value)


def _merge_entry(old: Entry, item: dict[str, Any], section: str) -> Any:
    if section == "steps" and "step" in item and item["step"] != old.data.get("step"):
        return dict(item)
    return deep_merge(old.data, item)


def merge_chain(docs: list[YamlDoc]) -> Merged:
    """Merge ``docs`` (child first, as ``extends`` was followed) into one mapping."""
    merged: dict[str, Any] = {}
    entries: dict[str, list[Entry]] = {s: [] for s in LIST_SECTIONS}
    removed: list[tuple[str, str, str]] = []
    present: set[str] = set()
    for doc in reversed(docs):
        data = dict(doc.data)
        data.pop("extends", None)
        replaced = _replaced_sections(doc)
        data.pop("replace", None)
        for section in LIST_SECTIONS:
            if section in replaced:
                entries[section] = []
            if section not in data:
                continue
            present.add(section)
            items = data.pop(section)
            if items is None:
                items = []
            if not isinstance(items, list):
                line = doc.line_of((section,))
                raise RulesError(f"{doc.path}:{line}: {section}: must be a valid list of entries")
            removed += _merge_list(doc, section, items, entries[section])
        merged = deep_merge(merged, _one_text_source(merged, data))
    for section in LIST_SECTIONS:
        if section in present:
            merged[section] = [e.data for e in entries[section]]
    return Merged(merged, entries, docs, removed)


def _merge_list(
    doc: YamlDoc, section: str, items: list[Any], entries: list[Entry]
) -> list[tuple[str, str, str]]:
    removed = []
    for j, item in enumerate(items):
        key = entry_key(section, item)
        match = next((e for e in entries if entry_key(section, e.data) == key), None)
        if key is not None and isinstance(item, dict) and "remove" in item:
            if item["remove"] is not True:
                line = doc.line_of((section, j, "remove"))
                raise RulesError(f"{doc.path}:{line}: {section}.{j}.remove: must be true")
            if match is None:
                line = doc.line_of((section, j))
                raise RulesError(
                    f"{doc.path}:{line}: {section}.{j}: nothing to remove: no entry {key!r} "
                    "in the rules this file extends"
                )
            entries.remove(match)
            removed.append((section, key, f"{doc.path}:{doc.line_of((section, j))}"))
            continue
        if match is not None and any(d is doc for d, _ in match.parts):
            # Within one file a repeated key is a mistake, not an override (loader says which).
            match = None
        if match is None or key is None:
            entries.append(Entry(item, [(doc, j)]))
        else:
            match.data = _merge_entry(match, item, section)
            match.parts.append((doc, j))
    return removed


class Locator:
    """Finds which file of an ``extends`` chain, and which line, a merged key path comes from."""

    def __init__(self, merged: Merged) -> None:
        self.docs = merged.docs
        self.entries = merged.entries

    def _resolve(self, loc: Loc) -> tuple[YamlDoc, Loc]:
        """The document that wrote ``loc``, and ``loc`` with that document's list index."""
        if len(loc) >= 2 and loc[0] in self.entries and isinstance(loc[1], int):
            entries = self.entries[str(loc[0])]
            if 0 <= loc[1] < len(entries):
                parts = entries[loc[1]].parts
                rest = loc[2:]
                for doc, j in reversed(parts):
                    if rest and doc.has((loc[0], j, *rest)):
                        return doc, (loc[0], j, *rest)
                doc, j = parts[-1]
                return doc, (loc[0], j, *rest)
        for probe in (loc, loc[:-1]):
            for doc in self.docs:
                if probe and doc.has(probe):
                    return doc, loc
        return self.docs[0], loc

    def where(self, loc: Loc) -> str:
        doc, local = self._resolve(loc)
        return f"{doc.path}:{doc.line_of(local) or 1}"

    def origin(self, section: str, index: int, bundled_dir: Path | None) -> tuple[str, ...]:
        """``file:line`` of every file that wrote entry ``index`` of ``section``, oldest first."""
        return tuple(
            f"{display_path(doc.path, bundled_dir)}:{doc.line_of((section, j))}"
            for doc, j in self.entries[section][index].parts
        )

    def fail(self, loc: Loc, message: str) -> RulesError:
        doc, local = self._resolve(loc)
        dotted = ".".join(str(p) for p in local)
        key = f" {dotted}:" if dotted else ""
        return RulesError(f"{doc.path}:{doc.line_of(local) or 1}:{key} {message}")
