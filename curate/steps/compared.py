"""What a dedupe step compares: the whole text, some named text fields, or some chat roles' turns.

``dedupe_exact`` and ``dedupe_near`` take ``fields: [instruction, output]`` (text records) or
``roles: [assistant]`` (chat records); by default they compare the whole text (``_text``), as
before these options existed. The compared text is built from the ``_segments`` column (each
piece of text with its field path and chat role) with one polars expression per batch: the
segments kept, in record order, joined with the rules' ``fields.join``. The rules loader checks
the choice against the rules' ``fields`` section (``CompareParams.for_fields``) and hands the
join string to the parameters, so every engine builds the same text from the same batch.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from pydantic import Field, PrivateAttr, model_serializer, model_validator

from curate import batch as B
from curate.records import escape_key
from curate.registry import Params, ParamsError

#: the parameters this module adds; left out of dumps while unset, so that the rules' sha256
#: (and every audit bound to it) is the same as before they existed
COMPARE_KEYS = ("fields", "roles")


class CompareParams(Params):
    """Parameters of a step that compares records: which part of each record it compares."""

    fields: list[str] | None = Field(
        None,
        min_length=1,
        description="compare only these text fields (names from the rules' fields.text, in "
        "the record's field order, joined with fields.join); default: the whole text",
    )
    roles: list[str] | None = Field(
        None,
        min_length=1,
        description="chat records (fields.chat): compare only the turns of these roles, e.g. "
        "[assistant], joined in order; default: the whole text",
    )
    # The rules' fields.join, set by ``for_fields`` when the rules are loaded (not a parameter:
    # it is the rules' own setting, already part of their hash).
    _join: str = PrivateAttr("\n\n")

    @model_validator(mode="after")
    def _one_choice(self) -> CompareParams:
        if self.fields is not None and self.roles is not None:
            raise ValueError("give either 'fields' or 'roles', not both")
        return self

    @model_serializer(mode="wrap")
    def _without_unset_choice(self, handler: Any) -> Any:
        data = handler(self)
        if isinstance(data, dict):
            for key in COMPARE_KEYS:
                if key in data and data[key] is None:
                    del data[key]
        return data

    def for_fields(self, fields: Any) -> CompareParams:
        """These parameters checked against the rules' ``fields`` section (a
        ``curate.rules.Fields``), with its join string."""
        if self.fields is not None:
            if fields.chat is not None:
                raise ParamsError(
                    "fields",
                    f"chat records (fields.chat: {fields.chat}) have no named text fields: "
                    "compare turns with 'roles' instead",
                )
            declared = fields.text_fields
            for i, name in enumerate(self.fields):
                if name not in declared:
                    raise ParamsError(
                        ("fields", i),
                        f"{name!r} is not a text field of these rules (fields.text: "
                        f"{', '.join(declared)})",
                    )
        if self.roles is not None and fields.chat is None:
            raise ParamsError("roles", "'roles' needs chat records (fields.chat)")
        bound = self.model_copy()
        bound._join = fields.join
        return bound

    @property
    def compares_part(self) -> bool:
        """Whether only part of each record is compared (``fields`` or ``roles``)."""
        return self.fields is not None or self.roles is not None

    def compared_text(self) -> pl.Expr:
        """The text compared, per record: ``_text``, or the chosen segments joined in order (an
        empty string when the record has none of them)."""
        if self.fields is not None:
            paths = [escape_key(name) for name in self.fields]
            keep = pl.element().struct.field("path").is_in(paths)
        elif self.roles is not None:
            keep = pl.element().struct.field("role").is_in(list(self.roles))
        else:
            return pl.col(B.TEXT)
        return (
            pl.col(B.SEGMENTS)
            .list.eval(pl.element().filter(keep).struct.field("text"))
            .list.join(self._join)
            .fill_null("")
        )

    def nothing_to_compare(self, compared: pl.Expr) -> pl.Expr:
        """Whether a record is never judged a duplicate, given its ``compared`` text: with
        ``fields``/``roles``, when that part is blank. A record without it (a chat with no
        assistant turn) shares nothing with another such record; having nothing to compare is
        not sameness. The whole text is compared as it always was (blank texts are equal)."""
        if not self.compares_part:
            return pl.lit(False)
        return compared.str.strip_chars().str.len_chars() == 0
