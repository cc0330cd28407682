"""Turning one parsed record into (id, text segments, columns), or a reason to quarantine it.

Supported shapes: a plain text field, several fields joined (``prompt`` + ``completion``,
``instruction``/``input``/``output``), and chat records (``messages: [{role, content}]``, where
``content`` may also be a list of ``{type: text, text}`` parts as in newer OpenAI payloads).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from curate.rules import Fields


class RecordProblem(Exception):
    """Why a record is quarantined: a stable reason code and a message naming the field."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Extracted:
    record_id: str | None
    segments: list[dict[str, str | None]]
    columns: dict[str, str | None]


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "object", list: "array", str: "string", bool: "boolean"}.get(
        type(value), type(value).__name__
    )


def column_value(value: Any) -> str | None:
    """User columns are carried as strings so that 1, "1" and 1.0 do not become three groups."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _chat_hint(record: dict[str, Any]) -> str:
    """A hint for chat records read with text rules (the most common first-run mistake)."""
    for key, value in record.items():
        if (
            isinstance(value, list)
            and value
            and all(isinstance(m, dict) and "role" in m for m in value[:3])
        ):
            field = json.dumps(key, ensure_ascii=True)
            return f"; the record holds chat messages in {field}: use --rules chat or fields.chat"
    other = sharegpt_field(record)
    if other is not None:
        field = json.dumps(other, ensure_ascii=True)
        return (
            f"; the record holds ShareGPT turns (from/value) in {field}: convert them to "
            "messages [{role, content}] and use --rules chat"
        )
    return ""


def sharegpt_field(record: dict[str, Any]) -> str | None:
    """The field holding ShareGPT-style turns (``[{from, value}]``), if any: the most common
    other chat format, which curate does not read."""
    for key, value in record.items():
        if (
            isinstance(value, list)
            and value
            and all(isinstance(t, dict) and "from" in t and "value" in t for t in value[:3])
        ):
            return str(key)
    return None


def escape_key(key: str) -> str:
    """A field name as a segment path part (JSON-pointer escapes: ``~`` and ``/``)."""
    return key.replace("~", "~0").replace("/", "~1")


class Extractor:
    """Applies the rules' ``fields`` section to parsed records."""

    def __init__(self, fields: Fields, columns: list[str], *, lenient_chat: bool = False) -> None:
        self.fields = fields
        self.columns = columns
        self.optional = set(fields.optional)
        # a check that reports chat structure (chat_format) sees malformed chats: the text
        # that can be read is kept and the rest is left to that check's findings
        self.lenient_chat = lenient_chat

    def extract(self, record: Any) -> Extracted:
        if not isinstance(record, dict):
            raise RecordProblem(
                "not_an_object", f"expected a JSON object, got {_type_name(record)}"
            )
        if self.fields.chat and self.lenient_chat:
            segments = self._chat_lenient(record)
        elif self.fields.chat:
            segments = self._chat(record)
        else:
            segments = self._text(record)
        record_id = None
        if self.fields.id is not None:
            raw_id = record.get(self.fields.id)
            if raw_id is None or isinstance(raw_id, (dict, list)):
                what = "missing" if self.fields.id not in record else _type_name(raw_id)
                raise RecordProblem(
                    "bad_id", f"field {self.fields.id!r}: id is {what}, expected a string or number"
                )
            record_id = column_value(raw_id)
        columns = {name: column_value(record.get(name)) for name in self.columns}
        return Extracted(record_id, segments, columns)

    def _text(self, record: dict[str, Any]) -> list[dict[str, str | None]]:
        segments: list[dict[str, str | None]] = []
        for name in self.fields.text_fields:
            value = record.get(name)
            if value is None:
                if name in self.optional:
                    continue
                if name in record:
                    raise RecordProblem(
                        "wrong_type", f"field {name!r}: expected a string, got null"
                    )
                raise RecordProblem("missing_field", f"field {name!r}: missing{_chat_hint(record)}")
            if not isinstance(value, str):
                raise RecordProblem(
                    "wrong_type", f"field {name!r}: expected a string, got {_type_name(value)}"
                )
            segments.append({"path": escape_key(name), "role": None, "text": value})
        return segments

    def _chat(self, record: dict[str, Any]) -> list[dict[str, str | None]]:
        name = self.fields.chat
        assert name is not None
        messages = record.get(name)
        if messages is None:
            raise RecordProblem("missing_field", f"field {name!r}: missing")
        if not isinstance(messages, list):
            raise RecordProblem(
                "wrong_type",
                f"field {name!r}: expected an array of messages, got {_type_name(messages)}",
            )
        segments: list[dict[str, str | None]] = []
        base = escape_key(name)
        for i, message in enumerate(messages):
            where = f"field {name!r}[{i}]"
            if not isinstance(message, dict):
                raise RecordProblem(
                    "wrong_type", f"{where}: expected an object, got {_type_name(message)}"
                )
            role = message.get("role")
            if not isinstance(role, str):
                raise RecordProblem(
                    "wrong_type", f"{where}.role: expected a string, got {_type_name(role)}"
                )
            content = message.get("content")
            if content is None:  # e.g. an assistant turn that only calls a tool
                continue
            if isinstance(content, str):
                segments.append({"path": f"{base}/{i}/content", "role": role, "text": content})
            elif isinstance(content, list):
                for j, part in enumerate(content):
                    if isinstance(part, dict) and part.get("type") == "text":
                        text = part.get("text")
                        if not isinstance(text, str):
                            raise RecordProblem(
                                "wrong_type",
                                f"{where}.content[{j}].text: expected a string, "
                                f"got {_type_name(text)}",
                            )
                        segments.append(
                            {"path": f"{base}/{i}/content/{j}/text", "role": role, "text": text}
                        )
            else:
                raise RecordProblem(
                    "wrong_type", f"{where}.content: expected a string, got {_type_name(content)}"
                )
        return segments

    def _chat_lenient(self, record: dict[str, Any]) -> list[dict[str, str | None]]:
        """The texts of a chat that may be malformed: what is not text is skipped."""
        name = self.fields.chat
        assert name is not None
        messages = record.get(name)
        if not isinstance(messages, list):
            return []
        base = escape_key(name)
        segments: list[dict[str, str | None]] = []
        for i, message in enumerate(messages):
            if not isinstance(message, dict):
                continue
            role = message.get("role")
            role = role if isinstance(role, str) else None
            content = message.get("content")
            if isinstance(content, str):
                segments.append({"path": f"{base}/{i}/content", "role": role, "text": content})
            elif isinstance(content, list):
                for j, part in enumerate(content):
                    text = part.get("text") if isinstance(part, dict) else None
                    if isinstance(text, str) and part.get("type") == "text":
                        path = f"{base}/{i}/content/{j}/text"
                        segments.append({"path": path, "role": role, "text": text})
        return segments


def path_parts(path: str) -> list[str]:
    """A segment path (``messages/3/content``) as its keys and indices, unescaped."""
    return [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")]


def set_path(record: Any, path: str, value: str) -> None:
    """Write ``value`` at a segment path (``messages/3/content``) inside a parsed record."""
    parts = path_parts(path)
    node = record
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    last = parts[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
