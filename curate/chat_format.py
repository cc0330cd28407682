"""The chat fine-tuning format: what a conversation must look like for a trainer to use it.

Checked as read (the parsed record), message by message, against OpenAI's chat fine-tuning
format: the problems that stop a run or silently waste it (no assistant turn, a misspelled
role, an empty answer, a broken tool call). Roles and keys are compared exactly:
``"Assistant"`` and ``"assistant "`` are not ``assistant``. The ``chat_format`` step (drops or
flags) and the ``chat_format`` check (counts, findings, gate) both use ``Validator``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import polars as pl
from pydantic import Field

from curate import batch as B
from curate.records import path_parts, sharegpt_field
from curate.registry import Params

ERRORS: dict[str, str] = {
    "no_messages": "the messages field is missing, not a list, or empty",
    "bad_message": "a message is not a JSON object",
    "bad_role": "a role outside the allowed set (compared exactly)",
    "empty_content": "content missing, null or blank where text is required",
    "bad_content": "content is neither a string nor a list of content parts",
    "system_not_first": "a system or developer message after the conversation started",
    "no_assistant": "no assistant message",
    "last_not_assistant": "the last message is not the assistant's",
    "unknown_key": "a message key outside the format's set",
    "bad_tool_call": "a tool call without id, type or function name, arguments that are not "
    "a JSON string, or a tool reply that answers no earlier call",
}
WARNINGS: dict[str, str] = {
    "repeated_role": "two messages in a row from the same role",
    "bad_weight": "a weight other than 0 or 1",
    "sharegpt_turns": "turns in ShareGPT form ({from, value}) in another field: convert them "
    "to messages [{role, content}]",
}
#: roles that open a conversation
PREAMBLE_ROLES = ("system", "developer")


class ChatFormatParams(Params):
    roles: list[str] = Field(
        default_factory=lambda: ["system", "developer", "user", "assistant", "tool"],
        min_length=1,
        description="allowed roles, compared exactly (no trimming, no case folding)",
    )
    keys: list[str] = Field(
        default_factory=lambda: [
            "role",
            "content",
            "name",
            "weight",
            "tool_calls",
            "tool_call_id",
            "function_call",
            "refusal",
        ],
        min_length=1,
        description="allowed message keys",
    )
    require_assistant: bool = Field(True, description="no_assistant is an error")
    last_assistant: bool = Field(True, description="last_not_assistant is an error")
    max_findings_per_record: int = Field(
        20, ge=1, le=10_000, description="check: findings written per record (all are counted)"
    )


Problem = tuple[str, str]  # (code, JSON pointer)


def _pointer(*parts: str | int) -> str:
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _blank(value: Any) -> bool:
    return not isinstance(value, str) or not value.strip()


def _is_json_text(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        orjson.loads(value)
    except orjson.JSONDecodeError:
        return False
    return True


class Validator:
    """The problems of one chat record's messages, in message order."""

    def __init__(self, params: ChatFormatParams) -> None:
        self.roles = set(params.roles)
        self.keys = set(params.keys)
        self.require_assistant = params.require_assistant
        self.last_assistant = params.last_assistant

    def messages(self, record: dict[str, Any], field: str) -> Iterator[Problem]:
        messages = record.get(field)
        if not isinstance(messages, list) or not messages:
            yield "no_messages", _pointer(field)
            other = sharegpt_field(record)
            if other is not None:
                yield "sharegpt_turns", _pointer(other)
            return
        call_ids: set[str] = set()
        started = False  # a message other than system/developer was seen
        previous: str | None = None
        roles: list[Any] = []
        for i, message in enumerate(messages):
            if not isinstance(message, dict):
                yield "bad_message", _pointer(field, i)
                roles.append(None)
                previous = None
                continue
            role = message.get("role")
            roles.append(role)
            if not isinstance(role, str) or role not in self.roles:
                yield "bad_role", _pointer(field, i, "role")
            for key in message:
                if key not in self.keys:
                    yield "unknown_key", _pointer(field, i, key)
            yield from self._content(message, field, i)
            yield from self._tools(message, field, i, call_ids)
            if "weight" in message and (
                isinstance(message["weight"], bool) or message["weight"] not in (0, 1)
            ):
                yield "bad_weight", _pointer(field, i, "weight")
            if role in PREAMBLE_ROLES and started:
                yield "system_not_first", _pointer(field, i, "role")
            elif isinstance(role, str) and role not in PREAMBLE_ROLES:
                started = True
            if role is not None and role == previous and role != "tool":
                yield "repeated_role", _pointer(field, i, "role")
            previous = role if isinstance(role, str) else None
        if self.require_assistant and "assistant" not in roles:
            yield "no_assistant", _pointer(field)
        elif self.last_assistant and roles[-1] != "assistant":
            yield "last_not_assistant", _pointer(field, len(messages) - 1)

    def _content(self, message: dict[str, Any], field: str, i: int) -> Iterator[Problem]:
        content = message.get("content")
        calls_a_tool = message.get("role") == "assistant" and bool(
            message.get("tool_calls") or message.get("function_call")
        )
        if content is None:
            if not calls_a_tool:
                yield "empty_content", _pointer(field, i, "content")
            return
        if isinstance(content, str):
            if not content.strip() and not calls_a_tool:
                yield "empty_content", _pointer(field, i, "content")
            return
        if not isinstance(content, list):
            yield "bad_content", _pointer(field, i, "content")
            return
        has_text = False
        for j, part in enumerate(content):
            if not isinstance(part, dict) or not isinstance(part.get("type"), str):
                yield "bad_content", _pointer(field, i, "content", j)
            elif part["type"] == "text":
                if not isinstance(part.get("text"), str):
                    yield "bad_content", _pointer(field, i, "content", j, "text")
                elif part["text"].strip():
                    has_text = True
            else:  # an image or audio part carries content of its own
                has_text = True
        if not has_text and not calls_a_tool:
            yield "empty_content", _pointer(field, i, "content")

    def _tools(
        self, message: dict[str, Any], field: str, i: int, call_ids: set[str]
    ) -> Iterator[Problem]:
        calls = message.get("tool_calls")
        if calls is not None:
            if not isinstance(calls, list):
                yield "bad_tool_call", _pointer(field, i, "tool_calls")
                calls = []
            for j, call in enumerate(calls):
                where = _pointer(field, i, "tool_calls", j)
                function = call.get("function") if isinstance(call, dict) else None
                if (
                    not isinstance(call, dict)
                    or _blank(call.get("id"))
                    or _blank(call.get("type"))
                    or not isinstance(function, dict)
                    or _blank(function.get("name"))
                    or not _is_json_text(function.get("arguments"))
                ):
                    yield "bad_tool_call", where
                if isinstance(call, dict) and isinstance(call.get("id"), str):
                    call_ids.add(call["id"])
        legacy = message.get("function_call")
        if legacy is not None and (
            not isinstance(legacy, dict)
            or _blank(legacy.get("name"))
            or not _is_json_text(legacy.get("arguments"))
        ):
            yield "bad_tool_call", _pointer(field, i, "function_call")
        if message.get("role") == "tool":
            answered = message.get("tool_call_id")
            if not isinstance(answered, str) or answered not in call_ids:
                yield "bad_tool_call", _pointer(field, i, "tool_call_id")


def record_problems(
    validator: Validator, batch: pl.DataFrame, chat: str | None, optional: set[str]
) -> list[list[Problem]]:
    """Each row's problems, in order: chat records from ``_raw``, text records' blank
    required fields from their segments."""
    if chat is None:
        return [
            [
                ("empty_content", _pointer(name))
                for seg in segments
                if (name := path_parts(str(seg["path"]))[0]) not in optional and _blank(seg["text"])
            ]
            for segments in batch[B.SEGMENTS].to_list()
        ]
    out = []
    for raw in batch[B.RAW].to_list():
        try:
            record = orjson.loads(raw) if raw is not None else None
        except orjson.JSONDecodeError:
            record = None
        if not isinstance(record, dict):
            out.append([("no_messages", _pointer(chat))])
            continue
        out.append(list(validator.messages(record, chat)))
    return out
