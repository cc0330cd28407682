"""The quality step: every rule fires just past its threshold and not at it, presets,
overrides, rule order, and a run through ``curate.cleaning``."""

from __future__ import annotations

import json
import string
from pathlib import Path
from typing import Any

import polars as pl
import pydantic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from quality_reference import ReferenceQuality

from curate.batch import from_texts
from curate.cleaning import clean
from curate.steps import quality_metrics
from curate.steps.quality import PRESETS, REASON_CODES, Quality, QualityParams
from curate.steps.quality_c4 import C4Options, c4_line_edits
from curate.steps.quality_text import sentence_counts, word_token_counts

ENGLISH = "\n\n".join(
    [
        "The history of the printing press is a story of how ideas travel. When Johannes "
        "Gutenberg built his press in the middle of the fifteenth century, he combined several "
        "existing technologies into a single working system. Movable type had been used "
        "before, and presses for wine and paper were common, but nobody had joined them "
        "together with an oil-based ink that would stick to metal. Within a few decades, "
        "printers had set up shops in more than two hundred cities across Europe.",
        "Books became cheaper, and with that change came new readers. Merchants wanted account "
        "books, students wanted grammars, and churches wanted prayer books that were the same "
        "from one town to the next. Scholars could compare editions and correct mistakes, which "
        "had been nearly impossible when every copy was written by hand. Some historians argue "
        "that the scientific revolution would have been slower without this steady supply of "
        "identical texts.",
        "Not everyone welcomed the press. Authorities worried about pamphlets that spread "
        "rumours, and some scribes lost their work. Yet the overall effect was to widen the "
        "circle of people who could take part in public debate. Today we see similar arguments "
        "about new media, and it is worth remembering that each new technology for copying "
        "words has brought both confusion and opportunity.",
    ]
)


def mark(texts: list[str], **params: Any) -> list[tuple[str | None, float | None]]:
    out = Quality(QualityParams(**params)).apply(from_texts(texts))
    return list(zip(out["_reason"].to_list(), out["_score"].to_list(), strict=True))


def only(code: str, text: str, **params: Any) -> tuple[str | None, float | None]:
    """(reason, score) with every rule but ``code`` switched off."""
    others = [c for c in REASON_CODES if c != code]
    return mark([text], disable=others, **params)[0]


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def unique_words(n: int, first: str = "u") -> list[str]:
    """n distinct 4-letter words starting with ``first`` (so all words weigh 4 characters)."""
    letters = string.ascii_lowercase
    return [first + letters[i // 676] + letters[i // 26 % 26] + letters[i % 26] for i in range(n)]


def words_text(n: int, filler: str = "word") -> str:
    return " ".join(["the", "and", *[filler] * (n - 2)])


# --- normal text -------------------------------------------------------------------------


@pytest.mark.parametrize("preset", ["gopher", "dolma", "fineweb"])
def test_normal_english_passes_every_rule(preset: str) -> None:
    assert len(ENGLISH.split()) > 200
    assert mark([ENGLISH], preset=preset) == [(None, None)]


def test_rows_keep_their_order_and_reasons_come_with_scores() -> None:
    out = Quality(QualityParams()).apply(from_texts([ENGLISH, "too short", ENGLISH]))
    assert out["_id"].to_list() == ["1", "2", "3"]
    assert out["_reason"].to_list() == [None, "gopher_short_doc", None]
    assert out["_score"].to_list() == [None, 2.0, None]


# --- Gopher quality ----------------------------------------------------------------------


def test_short_doc_at_50_words() -> None:
    assert only("gopher_short_doc", words_text(50)) == (None, None)
    assert only("gopher_short_doc", words_text(49)) == ("gopher_short_doc", 49.0)


def test_punctuation_only_tokens_are_not_words() -> None:
    text = words_text(49) + " -- | ..."
    assert only("gopher_short_doc", text) == ("gopher_short_doc", 49.0)


def test_long_doc_at_100000_words() -> None:
    assert only("gopher_long_doc", words_text(100_000)) == (None, None)
    assert only("gopher_long_doc", words_text(100_001)) == ("gopher_long_doc", 100_001.0)


def test_word_count_thresholds_can_be_overridden() -> None:
    assert only("gopher_short_doc", words_text(10), gopher_min_words=10) == (None, None)
    assert only("gopher_long_doc", words_text(61), gopher_max_words=60)[0] == "gopher_long_doc"


def test_mean_word_length_between_3_and_10() -> None:
    at_min = ["the", "and", *["cat"] * 48]  # 150 characters / 50 words = 3.0
    assert only("gopher_mean_word_length", " ".join(at_min)) == (None, None)
    below = [*at_min[:-1], "at"]
    assert only("gopher_mean_word_length", " ".join(below)) == ("gopher_mean_word_length", 2.98)
    at_max = ["the", "and", *["abcdefghij"] * 46, "a" * 17, "b" * 17]  # 500 / 50
    assert only("gopher_mean_word_length", " ".join(at_max)) == (None, None)
    above = [*at_max[:-1], "b" * 18]
    assert only("gopher_mean_word_length", " ".join(above)) == ("gopher_mean_word_length", 10.02)


def test_word_length_ignores_surrounding_punctuation() -> None:
    text = " ".join(["(the),", "and.", *['"cat"'] * 48])
    assert only("gopher_mean_word_length", text) == (None, None)


@pytest.mark.parametrize("symbol", ["#", "...", "\u2026"])
def test_symbol_to_word_ratio_at_0_1(symbol: str) -> None:
    def text(symbols: int) -> str:
        return words_text(50) + " " + " ".join([symbol] * symbols) + " end"

    # 51 words; 5.1 symbols per 51 words is the limit, so 5 pass and 6 fail
    assert only("gopher_symbol_ratio", text(5)) == (None, None)
    reason, score = only("gopher_symbol_ratio", text(6))
    assert reason == "gopher_symbol_ratio"
    assert score == pytest.approx(6 / 51)


def test_bullet_lines_at_0_9() -> None:
    def text(bullets: int) -> str:
        lines = [f"• item {i} of the list" for i in range(bullets)]
        lines += [f"plain line {i} of the text" for i in range(10 - bullets)]
        return "\n".join(lines)

    assert only("gopher_bullet_lines", text(9)) == (None, None)
    assert only("gopher_bullet_lines", text(10)) == ("gopher_bullet_lines", 1.0)


def test_blank_lines_do_not_dilute_line_fractions() -> None:
    text = "\n\n\n".join(f"- item {i} of the list" for i in range(10))
    assert only("gopher_bullet_lines", text) == ("gopher_bullet_lines", 1.0)


def test_ellipsis_lines_at_0_3() -> None:
    def text(ellipsis: int) -> str:
        lines = [f"and then line {i} trails off..." for i in range(ellipsis)]
        lines += [f"line {i} ends properly." for i in range(10 - ellipsis)]
        return "\n".join(lines)

    assert only("gopher_ellipsis_lines", text(3)) == (None, None)
    assert only("gopher_ellipsis_lines", text(4)) == ("gopher_ellipsis_lines", 0.4)


def test_alpha_words_at_0_8() -> None:
    def text(alpha: int, numeric: int) -> str:
        return " ".join(["word"] * alpha + ["1234"] * numeric)

    assert only("gopher_alpha_words", text(48, 12)) == (None, None)
    reason, score = only("gopher_alpha_words", text(47, 13))
    assert reason == "gopher_alpha_words"
    assert score == pytest.approx(47 / 60)


def test_stop_words_two_distinct_any_case() -> None:
    assert only("gopher_stop_words", "The cat AND the dog") == (None, None)
    assert only("gopher_stop_words", "the cat the dog the end") == ("gopher_stop_words", 1.0)
    assert only("gopher_stop_words", "the cat the dog", gopher_min_stop_words=1) == (None, None)
    custom = {"gopher_stop_words": ["der", "die"]}
    assert only("gopher_stop_words", "der Hund und die Katze", **custom) == (None, None)
    assert only("gopher_stop_words", "the cat and the dog", **custom)[0] == "gopher_stop_words"


# --- C4 ----------------------------------------------------------------------------------


def lines(n: int, template: str) -> list[str]:
    return [template.format(i=i) for i in range(n)]


def test_lorem_ipsum_and_curly_bracket_drop_the_page() -> None:
    assert only("c4_lorem_ipsum", ENGLISH) == (None, None)
    assert only("c4_lorem_ipsum", ENGLISH + "\nLorem Ipsum dolor sit amet.") == (
        "c4_lorem_ipsum",
        1.0,
    )
    assert only("c4_curly_bracket", ENGLISH) == (None, None)
    assert only("c4_curly_bracket", ENGLISH + "\nvar x = {a: 1};") == ("c4_curly_bracket", 1.0)


def test_no_terminal_punct_at_0_5() -> None:
    def text(bare: int) -> str:
        body = lines(bare, "a heading number {i} without a stop")
        return "\n".join(body + lines(10 - bare, "Line {i} is a full sentence here."))

    assert only("c4_no_terminal_punct", text(5)) == (None, None)
    assert only("c4_no_terminal_punct", text(6)) == ("c4_no_terminal_punct", 0.6)
    # an ellipsis is not terminal punctuation for C4; a trailing citation mark is ignored
    reason, score = only("c4_no_terminal_punct", "It goes on...\nIt ends.[1]\nNo stop")
    assert (reason, score) == ("c4_no_terminal_punct", pytest.approx(2 / 3))
    assert only("c4_no_terminal_punct", text(6), c4_max_no_terminal_punct_frac=0.6) == (
        None,
        None,
    )


def test_fineweb_preset_does_not_require_terminal_punct() -> None:
    text = "\n".join(lines(10, "a heading number {i} without any stop"))
    assert only("c4_no_terminal_punct", text, preset="gopher")[0] == "c4_no_terminal_punct"
    assert only("c4_no_terminal_punct", text, preset="fineweb") == (None, None)
    explicit = {"preset": "gopher", "c4_require_terminal_punct": False}
    assert only("c4_no_terminal_punct", text, **explicit) == (None, None)


@pytest.mark.parametrize(
    ("code", "phrase"),
    [("c4_javascript_lines", "Please enable JavaScript"), ("c4_policy_lines", "Privacy Policy")],
)
def test_javascript_and_policy_lines_at_0_3(code: str, phrase: str) -> None:
    def text(marked: int) -> str:
        body = lines(marked, phrase + " to read part {i} of it.")
        return "\n".join(body + lines(10 - marked, "Line {i} is a full sentence here."))

    assert only(code, text(3)) == (None, None)
    assert only(code, text(4)) == (code, 0.4)


def test_too_few_sentences_counts_only_lines_c4_keeps() -> None:
    three = "This line holds two sentences. Here is the second one.\nA single sentence is here."
    assert only("c4_too_few_sentences", three) == (None, None)
    javascript = three.replace("A single sentence is here.", "Please enable javascript here.")
    assert only("c4_too_few_sentences", javascript) == ("c4_too_few_sentences", 2.0)
    four_words = three.replace("A single sentence is here.", "Four words only here.")
    assert only("c4_too_few_sentences", four_words) == ("c4_too_few_sentences", 2.0)
    long_word = "A line with an extraordinarily long word.\nThis short line is kept here."
    assert only("c4_too_few_sentences", long_word, c4_max_word_length=10)[1] == 1.0
    assert only("c4_too_few_sentences", long_word, c4_max_word_length=15)[1] == 2.0


def test_too_few_sentences_follows_the_preset() -> None:
    four_words = (
        "One sentence with enough words.\nAnd another one right here.\nFour words only here."
    )
    # gopher preset: lines need 5 words, pages 3 sentences; fineweb: 3 words, 5 sentences
    assert only("c4_too_few_sentences", four_words, preset="gopher")[1] == 2.0
    assert only("c4_too_few_sentences", four_words, preset="fineweb") == (
        "c4_too_few_sentences",
        3.0,
    )
    relaxed = {"preset": "fineweb", "c4_min_sentences": 3}
    assert only("c4_too_few_sentences", four_words, **relaxed) == (None, None)


# --- FineWeb -----------------------------------------------------------------------------


def test_line_punct_at_0_12() -> None:
    def text(punct: int) -> str:
        body = lines(punct, "Line {i} ends with a full stop here.")
        return "\n".join(body + lines(25 - punct, "line {i} has no stop at its end"))

    assert only("fineweb_line_punct", text(3)) == (None, None)
    assert only("fineweb_line_punct", text(2)) == ("fineweb_line_punct", 0.08)


def test_short_lines_at_0_67() -> None:
    def text(short: int) -> str:
        body = lines(short, "Short line {i}.")
        return "\n".join(body + lines(100 - short, "This is a much longer line, number {i}."))

    assert only("fineweb_short_lines", text(67)) == (None, None)
    assert only("fineweb_short_lines", text(68)) == ("fineweb_short_lines", 0.68)


def test_a_short_line_has_at_most_30_characters() -> None:
    params = {"fineweb_max_short_lines_frac": 0.5}
    assert only("fineweb_short_lines", "a" * 30 + "\n" + "b" * 31, **params) == (None, None)
    assert only("fineweb_short_lines", "a" * 30 + "\n" + "b" * 30, **params)[1] == 1.0


def forty_char_lines(n: int) -> list[str]:
    return [f"Line number {i:03d} is forty characters, ok." for i in range(n)]


def test_fineweb_dup_line_chars_at_0_1() -> None:
    unique = forty_char_lines(9)
    assert {len(line) for line in unique} == {40}
    at_limit = "\n".join([*unique, unique[0]])  # 40 of 400 characters repeat
    assert only("fineweb_dup_line_char_frac", at_limit) == (None, None)
    longer = unique[0] + "!"
    above = "\n".join([*unique[1:], longer, longer])  # 41 of 402
    reason, score = only("fineweb_dup_line_char_frac", above)
    assert reason == "fineweb_dup_line_char_frac"
    assert score == pytest.approx(41 / 402)


def test_newline_ratio_at_0_3() -> None:
    body = [f"line{i} here." for i in range(10)]  # 3 tokenizer words each: line0, here, .
    assert only("fineweb_newline_ratio", "\n".join(body)) == (None, None)  # 9 / 30
    reason, score = only(
        "fineweb_newline_ratio", "\n\n".join(body[:2]) + "\n" + "\n".join(body[2:])
    )
    assert reason == "fineweb_newline_ratio"
    assert score == pytest.approx(10 / 30)


# --- Gopher repetition -------------------------------------------------------------------


def repeated_lines(unique: int, copies: int, sep: str = "\n") -> str:
    body = forty_char_lines(unique)
    return sep.join(body + [body[0]] * copies)


def test_dup_line_frac_at_0_3() -> None:
    assert only("dup_line_frac", repeated_lines(7, 3)) == (None, None)
    assert only("dup_line_frac", repeated_lines(6, 4)) == ("dup_line_frac", 0.4)


def test_dup_para_frac_at_0_3() -> None:
    assert only("dup_para_frac", repeated_lines(7, 3, "\n\n")) == (None, None)
    assert only("dup_para_frac", repeated_lines(6, 4, "\n \n")) == ("dup_para_frac", 0.4)


def test_lines_of_one_paragraph_are_not_duplicate_paragraphs() -> None:
    assert only("dup_para_frac", repeated_lines(2, 8)) == (None, None)


def test_dup_line_char_frac_follows_the_preset() -> None:
    assert only("dup_line_char_frac", repeated_lines(8, 2)) == (None, None)  # 0.2
    assert only("dup_line_char_frac", repeated_lines(7, 3)) == ("dup_line_char_frac", 0.3)
    assert only("dup_line_char_frac", repeated_lines(7, 3), preset="dolma") == (None, None)
    assert only("dup_line_char_frac", repeated_lines(6, 4), preset="dolma")[0] == (
        "dup_line_char_frac"
    )
    override = {"preset": "dolma", "max_dup_line_char_frac": 0.25}
    assert only("dup_line_char_frac", repeated_lines(7, 3), **override)[1] == 0.3


def test_dup_para_char_frac_at_0_2() -> None:
    assert only("dup_para_char_frac", repeated_lines(8, 2, "\n\n")) == (None, None)
    assert only("dup_para_char_frac", repeated_lines(7, 3, "\n\n")) == ("dup_para_char_frac", 0.3)


def with_repeats(gram: list[str], copies: int, total_words: int) -> str:
    """``copies`` copies of ``gram`` among distinct 4-letter words, never side by side."""
    fill = iter(unique_words(total_words))
    words: list[str] = []
    for _ in range(copies):
        words += [*gram, next(fill)]
    words += [next(fill) for _ in range(total_words - len(words))]
    assert len(words) == total_words
    return " ".join(words)


@pytest.mark.parametrize(("n", "limit_copies"), [(2, 5), (3, 3), (4, 2)])
def test_top_ngram_char_frac(n: int, limit_copies: int) -> None:
    """50 words of 4 letters: the top n-gram covers n x copies / 50 of the characters."""
    code = f"top_{n}gram_char_frac"
    gram = unique_words(n, first="g")
    assert only(code, with_repeats(gram, limit_copies, 50)) == (None, None)
    reason, score = only(code, with_repeats(gram, limit_copies + 1, 50))
    assert (reason, score) == (code, pytest.approx(n * (limit_copies + 1) / 50))


def test_top_ngram_counts_overlapping_occurrences_once() -> None:
    reason, score = only("top_2gram_char_frac", "abab " * 60)
    assert (reason, score) == ("top_2gram_char_frac", 1.0)


def test_top_ngram_ignores_case_and_punctuation() -> None:
    variants = [["GAAA,", "gbbb."], ["gaaa", "Gbbb"], ["(gaaa", "gbbb)"]] * 2
    fill = iter(unique_words(50))
    words = [w for variant in variants for w in [*variant, next(fill)]]
    words += [next(fill) for _ in range(50 - len(words))]
    reason, score = only("top_2gram_char_frac", " ".join(words))
    assert (reason, score) == ("top_2gram_char_frac", pytest.approx(12 / 50))


@pytest.mark.parametrize(
    ("n", "duplicates", "total_words"),
    [(5, 3, 100), (6, 7, 300), (7, 13, 700), (8, 3, 200), (9, 11, 900), (10, 1, 100)],
)
def test_dup_ngram_char_frac(n: int, duplicates: int, total_words: int) -> None:
    """The first occurrence is not a duplicate: n x duplicates / total is the limit."""
    code = f"dup_{n}gram_char_frac"
    gram = unique_words(n, first="g")
    at_limit = with_repeats(gram, duplicates + 1, total_words)
    assert only(code, at_limit) == (None, None)
    reason, score = only(code, with_repeats(gram, duplicates + 2, total_words))
    assert (reason, score) == (code, pytest.approx(n * (duplicates + 1) / total_words))


def test_dup_ngram_overlaps_count_once() -> None:
    # in a stuttering text every 5-gram after the first repeats it; together the repeats
    # cover words 1..19, each counted once
    assert only("dup_5gram_char_frac", "abcd " * 20)[1] == pytest.approx(19 / 20)


# --- order, switches, parameters, summary ------------------------------------------------


def test_first_failing_rule_in_the_documented_order_names_the_reason() -> None:
    text = "short { text"
    assert mark([text]) == [("gopher_short_doc", 2.0)]
    assert mark([text], gopher_quality=False) == [("c4_curly_bracket", 1.0)]
    assert mark([text], gopher_quality=False, c4=False)[0][0] == "fineweb_line_punct"
    only_repetition = {"gopher_quality": False, "c4": False, "fineweb": False}
    assert mark([text], **only_repetition) == [(None, None)]
    assert mark([repeated_lines(6, 4)], **only_repetition) == [("dup_line_frac", 0.4)]


def test_groups_and_single_rules_switch_off() -> None:
    everything_off = {"gopher_quality": False, "gopher_repetition": False, "c4": False}
    assert mark(["x"], fineweb=False, **everything_off) == [(None, None)]
    assert mark(["word " * 10], disable=["gopher_short_doc"]) == [("gopher_stop_words", 0.0)]


def test_bad_parameters_are_rejected() -> None:
    with pytest.raises(pydantic.ValidationError, match="unknown reason codes"):
        QualityParams(disable=["gopher_shortdoc"])
    with pytest.raises(pydantic.ValidationError, match="must not exceed"):
        QualityParams(gopher_min_words=10, gopher_max_words=5)
    with pytest.raises(pydantic.ValidationError):
        QualityParams(max_dup_line_frac=1.5)
    with pytest.raises(pydantic.ValidationError):
        QualityParams(preset="c4")  # type: ignore[arg-type]


def test_summary_counts_reasons_over_batches() -> None:
    step = Quality(QualityParams())
    step.apply(from_texts([ENGLISH, "one two", "x"]))
    step.apply(from_texts(["a b", ENGLISH]))
    step.apply(from_texts([]))
    assert step.summary() == {"seen": 5, "marked": 3, "reasons": {"gopher_short_doc": 3}}


def test_empty_and_null_texts_do_not_break_any_rule() -> None:
    batch = from_texts(["", " \n\n ", "x", "y"])
    batch = batch.with_columns(
        pl.when(pl.col("_id") == "4").then(None).otherwise(pl.col("_text")).alias("_text")
    )
    out = Quality(QualityParams(gopher_quality=False)).apply(batch)
    assert out["_reason"].to_list() == [
        "c4_too_few_sentences",
        "c4_too_few_sentences",
        "c4_no_terminal_punct",
        "c4_too_few_sentences",
    ]
    assert mark(["", "   "]) == [("gopher_short_doc", 0.0)] * 2


# --- end to end --------------------------------------------------------------------------


def test_clean_drops_with_the_reason(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "fields: {text: text}\n"
        "steps:\n"
        "  - step: quality\n"
        "    id: web_quality\n"
        "    preset: fineweb\n"
        "    gopher_min_words: 60\n",
        encoding="utf-8",
    )
    records = [
        {"id": "good", "text": ENGLISH},
        {"id": "short", "text": words_text(59)},
        {"id": "copy", "text": repeated_lines(4, 6) + "\n\n" + ENGLISH},
    ]
    source = write_jsonl(tmp_path / "in.jsonl", records)
    result = clean(source, tmp_path / "out", rules)

    kept = read_jsonl(tmp_path / "out" / "clean.jsonl")
    dropped = {r["id"]: r["_curate"] for r in read_jsonl(tmp_path / "out" / "dropped.jsonl")}
    assert [r["id"] for r in kept] == ["good"]
    assert dropped["short"]["reason"] == "gopher_short_doc"
    assert dropped["short"]["score"] == 59.0
    assert dropped["short"]["step"] == "web_quality"
    assert dropped["copy"]["reason"] == "fineweb_dup_line_char_frac"
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest == result.manifest
    (step,) = manifest["steps"]
    assert step["summary"]["reasons"] == {
        "gopher_short_doc": 1,
        "fineweb_dup_line_char_frac": 1,
    }


# --- preset fineweb: datatrove's FineWeb chain (bench/compare_datatrove.py measures it) ----

# Sentence counts of NLTK 3.10's English punkt model (punkt_tab), taken from NLTK itself.
PUNKT_SENTENCES = [
    ("Acme Inc. opened an office in the U.S. in 1990.", 1),  # abbreviations, a number
    ("The firm, e.g. its staff, works with Dr. Smith every day.", 2),  # punkt ends one at e.g.
    ("Dr. Smith and Mrs. Brown met Mr. Jones at St. Paul's.", 1),
    ("It was founded by Acme Inc. The firm grew fast.", 2),  # a capitalised opener follows
    ("We saw it in the U.S. The trip was long.", 2),
    ("J. S. Bach wrote it in Leipzig.", 1),  # initials
    ("Pi is 3.14 and e is 2.72 today.", 1),  # decimals
    ("It ended in 2013. It was late.", 2),
    ("The meeting ran from 9 a.m. to noon.", 1),
    ("It rained. We stayed in", 2),  # an unterminated last sentence counts
    ("no full stop at all", 1),
    ("Really? Yes! Fine.", 3),
    ('He said "no." Then he left.', 2),  # a closing quote after the full stop
    ("", 0),
    (" \n ", 0),
]
ISSUE_EXAMPLE = (
    "Acme Inc. opened an office in the U.S. in 1990.\n"
    "The firm, e.g. its staff, works with Dr. Smith every day.\n"
    "It makes tools for many people."
)


def test_sentence_counts_are_punkts() -> None:
    texts = pl.Series([text for text, _ in PUNKT_SENTENCES])
    assert sentence_counts(texts).tolist() == [n for _, n in PUNKT_SENTENCES]


def test_the_issue_example_holds_four_sentences() -> None:
    """NLTK counts 1 + 2 + 1 over the three lines; one sentence per ". " made it 7."""
    assert sentence_counts(pl.Series([ISSUE_EXAMPLE])).tolist() == [4]
    for preset in ("gopher", "fineweb"):
        fails = only("c4_too_few_sentences", ISSUE_EXAMPLE, preset=preset, c4_min_sentences=5)
        assert fails == ("c4_too_few_sentences", 4.0)
        passes = only("c4_too_few_sentences", ISSUE_EXAMPLE, preset=preset, c4_min_sentences=4)
        assert passes == (None, None)


# (text, NLTK word_tokenize tokens, of them with a letter, of them not all punctuation)
NLTK_TOKENS = [
    ("Hello, world! Don't stop... it's 3.5 U.S. e.g.", 14, 9, 10),
    ('I cannot go -- it\'s "late" (really).', 14, 8, 8),
    ("He said 'only this' today: 10,000 people came, and #1 won!", 17, 9, 11),
    ("The end. And then [1] {x} <y> 50% off & more; a@b.c", 23, 10, 12),
]


def test_word_tokens_are_nltks() -> None:
    counts = word_token_counts(pl.Series([text for text, *_ in NLTK_TOKENS]))
    assert counts["tokens"].to_list() == [row[1] for row in NLTK_TOKENS]
    assert counts["alpha_tokens"].to_list() == [row[2] for row in NLTK_TOKENS]
    assert counts["words"].to_list() == [row[3] for row in NLTK_TOKENS]
    assert counts["stop_words"].to_list() == [0, 0, 1, 0]  # "and"; "The" is no stop word
    assert word_token_counts(pl.Series(["The cat and the dog went to"]))["stop_words"][0] == 3


def test_presets_hold_their_references_values() -> None:
    assert PRESETS["fineweb"] == {
        "max_dup_line_char_frac": 0.20,  # GopherRepetitionFilter's default
        "c4_require_terminal_punct": False,  # C4QualityFilter(filter_no_terminal_punct=False)
        "c4_min_words_per_line": 3,
        "c4_min_sentences": 5,
        "c4_edit_lines": True,
        "fineweb_max_dup_line_char_frac": 0.01,  # FineWebQualityFilter's char_duplicates_ratio
        "word_definition": "nltk",
        "gopher_bullets": ["•", "-"],  # GopherQualityFilter's
    }
    for preset in ("gopher", "dolma"):
        values = QualityParams(preset=preset).resolved()
        assert values["c4_edit_lines"] is False
        assert values["word_definition"] == "gopher"
        assert values["fineweb_max_dup_line_char_frac"] == 0.1  # the FineWeb paper's value
        assert values["c4_min_sentences"] == 3
    own = QualityParams(preset="fineweb", c4_edit_lines=False, word_definition="gopher")
    assert own.resolved()["c4_edit_lines"] is False
    assert own.resolved()["word_definition"] == "gopher"


def test_only_the_line_edit_mode_changes_text() -> None:
    assert Quality(QualityParams(preset="fineweb")).changes_text is True
    assert Quality(QualityParams(preset="fineweb", c4=False)).changes_text is False
    assert Quality(QualityParams(preset="gopher")).changes_text is False
    assert Quality.changes_text is False  # the class keeps the registry's default


PARAGRAPHS = ENGLISH.split("\n\n")
WEB_PAGE = "\n".join(
    [
        "Home",  # fewer than 3 words: deleted
        "Menu {",  # deleted before the curly bracket is looked at
        "var x = {a: 1}; please enable JavaScript to see the comments.",  # javascript: deleted
        PARAGRAPHS[0] + "[1]",  # citation mark removed
        "lorem ipsum",  # two words: deleted before lorem ipsum is looked at
        "",
        PARAGRAPHS[1],
        "We use cookies to personalise content and ads.",  # a policy phrase: deleted
        "  " + PARAGRAPHS[2] + "  ",
    ]
)


def test_line_edits_delete_c4s_lines() -> None:
    batch = from_texts([WEB_PAGE, "\n".join(PARAGRAPHS)])
    out = Quality(QualityParams(preset="fineweb")).apply(batch)
    assert out["_reason"].to_list() == [None, None]
    assert out["_text"].to_list() == ["\n".join(PARAGRAPHS)] * 2
    assert out["_changed"].to_list() == [True, False]
    assert out["_segments"][0][0]["text"] == "\n".join(PARAGRAPHS)
    # without the edits, "lorem ipsum" anywhere drops the page
    unedited = QualityParams(preset="fineweb", c4_edit_lines=False)
    assert Quality(unedited).apply(batch)["_reason"].to_list() == ["c4_lorem_ipsum", None]


def test_lorem_ipsum_and_curly_brackets_on_kept_lines_drop_the_page() -> None:
    lorem = WEB_PAGE + "\nLorem ipsum dolor sit amet, consectetur adipiscing elit."
    curly = WEB_PAGE + "\nThe set {1, 2} has two members."
    out = Quality(QualityParams(preset="fineweb")).apply(from_texts([lorem, curly, WEB_PAGE]))
    assert out["_reason"].to_list() == ["c4_lorem_ipsum", "c4_curly_bracket", None]
    assert out["_text"].to_list()[:2] == [lorem, curly]  # dropped pages keep their text


def test_fineweb_rules_measure_the_edited_text() -> None:
    """Short navigation lines fail FineWeb's short-line rule unless C4 deleted them first."""
    menu = "\n".join(f"Section {i}" for i in range(15))
    page = menu + "\n" + "\n".join(PARAGRAPHS)
    assert mark([page], preset="fineweb") == [(None, None)]
    assert mark([page], preset="fineweb", c4_edit_lines=False)[0][0] == "fineweb_short_lines"


def test_fineweb_duplicate_line_characters_at_0_01() -> None:
    copy = PARAGRAPHS[2].split(". ")[0] + "."  # one repeated sentence: about 3% of the page
    page = "\n".join([*PARAGRAPHS, copy, copy])
    reason, score = mark([page], preset="fineweb")[0]
    assert reason == "fineweb_dup_line_char_frac"
    assert 0.01 < score < 0.1
    assert mark([page], preset="fineweb", fineweb_max_dup_line_char_frac=0.1) == [(None, None)]


def test_nltk_words_split_clitics_and_count_punctuation_tokens() -> None:
    contractions = " ".join(["don't"] * 25)  # NLTK: 50 words ("do", "n't"); Gopher: 25
    assert only("gopher_short_doc", contractions, preset="fineweb") == (None, None)
    assert only("gopher_short_doc", contractions, preset="gopher") == ("gopher_short_doc", 25.0)
    listing = ", ".join(unique_words(60)) + "."  # every word followed by its comma
    reason, score = only("gopher_alpha_words", listing, preset="fineweb")
    assert reason == "gopher_alpha_words"
    assert score == 0.5  # 60 words, 59 commas and a full stop
    assert only("gopher_alpha_words", listing, preset="gopher") == (None, None)


def test_nltk_stop_words_are_compared_as_written() -> None:
    text = " ".join(["The", "And", *unique_words(60)]) + "."
    assert only("gopher_stop_words", text, preset="fineweb") == ("gopher_stop_words", 0.0)
    assert only("gopher_stop_words", text, preset="gopher") == (None, None)


def test_fineweb_figures_of_edited_texts_are_those_of_the_texts_c4_left(
    corpus: list[str],
) -> None:
    """Texts C4 left as they were (blank lines and outer spaces apart) take the original
    text's figures and the kept lines' newlines; the others are measured again: either way
    the figures are those of the edited text measured on its own."""
    reach = {"gopher_quality": False, "c4_min_sentences": 0}
    texts = [*corpus, "a b c.\n\n\n d e f?  \n", "x y z.\n" * 3 + "\n\n"]
    step = Quality(QualityParams(preset="fineweb", **reach))
    figures, edited = step.measure_and_edit(pl.Series(texts))
    assert edited is not None
    on_own = Quality(QualityParams(preset="fineweb", c4_edit_lines=False, **reach))
    expected = on_own.measure(edited)
    names = ["line_punct_frac", "short_lines_frac", "dup_line_char_frac", "newline_ratio"]
    # measured where C4's page rules passed (lorem ipsum and curly brackets fail the others)
    reached = (figures["lorem_ipsum"] == 0) & (figures["curly_brackets"] == 0)
    assert reached.sum() > 1500
    for name in names:
        got = figures[f"{name}:edited"].filter(reached).to_list()
        assert got == pytest.approx(expected[name].filter(reached).to_list()), name
    changed = [e != t.strip() for e, t in zip(edited, texts, strict=True)]
    assert sum(changed) > 100


def test_c4_line_edits_follow_c4s_code() -> None:
    """Words are counted before citation marks go; lines end where str.splitlines ends them."""
    opts = C4Options(
        require_terminal_punct=False,
        min_words_per_line=3,
        max_word_length=10,
        policy_phrases=("privacy policy",),
    )
    texts = [
        "two words [1]\u2028three words here\x0bWe read the Privacy Policy today.",
        "one supercalifragilistic word here.\n  kept   as   is.  ",
    ]
    out = c4_line_edits(pl.Series(texts), opts)
    assert out["text"].to_list() == ["two words \nthree words here", "kept   as   is."]
    assert out["kept_lines"].to_list() == [2, 1]
    assert out["untouched"].to_list() == [False, False]
    assert out["c4_sentences"].to_list() == [2, 1]


def test_line_edits_land_in_each_segment() -> None:
    """A record of several fields (or chat turns) has each field edited on its own."""
    page = "\n".join(["Home", *PARAGRAPHS])
    batch = from_texts([page, page])
    segments = [
        {"path": "title", "role": None, "text": "Menu"},
        {"path": "body", "role": None, "text": page},
    ]
    batch = batch.with_columns(
        pl.Series(
            [segments, batch["_segments"][1].to_list()], dtype=batch["_segments"].dtype
        ).alias("_segments"),
        pl.Series(["Menu\n\n" + page, page]).alias("_text"),
    )
    out = Quality(QualityParams(preset="fineweb")).apply(batch)
    assert out["_reason"].to_list() == [None, None]
    first, second = out["_segments"].to_list()
    assert [s["text"] for s in first] == ["", "\n".join(PARAGRAPHS)]
    assert [s["path"] for s in first] == ["title", "body"]
    assert [s["text"] for s in second] == ["\n".join(PARAGRAPHS)]
    assert out["_text"].to_list() == ["\n\n" + "\n".join(PARAGRAPHS), "\n".join(PARAGRAPHS)]
    assert out["_changed"].to_list() == [True, True]


def test_line_edits_are_counted_as_changed_in_the_manifest(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "fields: {text: text}\nsteps:\n  - step: quality\n    preset: fineweb\n",
        encoding="utf-8",
    )
    records = [
        {"id": "page", "text": WEB_PAGE},
        {"id": "clean", "text": "\n".join(PARAGRAPHS)},
        {"id": "lorem", "text": WEB_PAGE + "\nLorem ipsum dolor sit amet, consectetur elit."},
    ]
    result = clean(write_jsonl(tmp_path / "in.jsonl", records), tmp_path / "out", rules)
    kept = {r["id"]: r["text"] for r in read_jsonl(tmp_path / "out" / "clean.jsonl")}
    assert kept == {"page": "\n".join(PARAGRAPHS), "clean": "\n".join(PARAGRAPHS)}
    (step,) = result.manifest["steps"]
    assert step["changed"] == 1
    assert step["summary"]["reasons"] == {"c4_lorem_ipsum": 1}


# --- identical to the reference implementation -------------------------------------------
# quality_reference.py keeps the implementation the step had before it was vectorised over
# characters; every figure and every (reason, score) must stay the same.

FIXTURES = Path(__file__).resolve().parent / "fixtures"
VOCABULARY = [
    "the", "of", "and", "to", "in", "a", "is", "that", "for", "it", "as", "was", "with", "be",
    "by", "on", "not", "he", "this", "are", "or", "his", "from", "at", "which", "but", "have",
    "an", "they", "you", "were", "their", "one", "all", "we", "can", "her", "has", "there",
    "been", "if", "more", "when", "will", "would", "who", "so", "no", "people", "time", "year",
    "world", "government", "market", "company", "policy", "school", "history", "Paris",
    "London", "COVID-19", "e-mail", "U.S.", "don't", "it's", "2024", "3.5%", "$100", "#1",
    "café", "naïve", "résumé", "Straße", "ΟΔΟΣ", "οδος", "İstanbul", "i\u0307stanbul", "ſtraße",
    "\u212aelvin", "東京", "中文", "😀", "—", "–", "“quoted”", "‘single’", "«guillemets»",
]  # fmt: skip
BOILERPLATE = [
    "Privacy Policy | Terms of Use | Cookie Policy",
    "Please enable JavaScript to view the comments.",
    "This site uses cookies. By continuing you agree to our use of cookies.",
    "• Home",
    "- Contact us",
    "* Share on social media",
    "Read more...",
    "Loading\u2026",
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit.",
    "var config = {debug: true};",
    "It was first described in 1901.[1] Later work confirmed it.[citation needed]",
    "Main article [edit]",
    "#tags #news #today",
    "Copyright 2024",
]


def web_like_texts(count: int, seed: int) -> list[str]:
    """Seeded web-like documents: prose, boilerplate, repeated lines and paragraphs, odd
    punctuation and scripts, Windows newlines, now and then."""
    import random

    rng = random.Random(seed)
    weights = [1 / (rank + 1) for rank in range(len(VOCABULARY))]

    def sentence() -> str:
        words = rng.choices(VOCABULARY, weights, k=rng.randint(3, 18))
        words[0] = words[0].capitalize()
        return " ".join(words) + rng.choice([".", ".", ".", "!", "?", "", "...", '."', ".)"])

    texts = []
    for _ in range(count):
        paragraphs = []
        for _ in range(rng.randint(1, 8)):
            lines = []
            for _ in range(rng.randint(1, 6)):
                roll = rng.random()
                if roll < 0.15:
                    lines.append(rng.choice(BOILERPLATE))
                elif roll < 0.25 and lines:
                    lines.append(rng.choice(lines))  # a repeated line
                else:
                    lines.append(" ".join(sentence() for _ in range(rng.randint(1, 5))))
            paragraphs.append("\n".join(lines))
        if rng.random() < 0.2:
            paragraphs.append(rng.choice(paragraphs))  # a repeated paragraph
        if rng.random() < 0.1:
            paragraphs.append(" ".join(paragraphs[0].split()[:12]) * 3)  # repeated n-grams
        text = rng.choice(["\n\n", "\n\n\n", "\n \n"]).join(paragraphs)
        texts.append(text.replace("\n", "\r\n") if rng.random() < 0.05 else text)
    return texts


ADVERSARIAL = [
    "",
    " ",
    "\n\n\n",
    "word",
    "a b",
    "!!! ??? ... --- |",
    "12345 67890 3.14",
    "这是一个测试。这是第二句。没有空格的文本！",
    "• a\n• b\n• c\n● d\n– e",
    "...\n...\n\u2026\nfine.",
    "the " * 300,
    "abab " * 60,
    "ab ab ab cd ef cd ef gh",  # top 2-grams tie on count and length, not on coverage
    " ".join(["one two three four five six seven eight nine ten"] * 8),
    "word " * 60_000,  # one huge line
    "x" * 5_000 + " tail.",  # a token longer than C4's 1000 characters
    '{"a": 1, "b": [1, 2, {"c": null}]}\n{"d": "e"}',
    "Lorem Ipsum dolor.\nLOREM IPSUM again. lorem ipſum too. lorem  ipsum no.",
    "Please enable JavaScript.\nJAVASCRIPT required.\njava script is fine.",
    "Terms of Use apply.\nPRIVACY POLICY here.\nWe use cookies.\nCookie Policy.",
    "It is true.[1]\nClaim [citation needed]\nSee [edit]\n[1] [2] [3]\nOdd [x].",
    'He said "no." Then he left.\nReally?!) yes\nWait...) no\nDone.\u201d Yes.\u00bb',
    "line one\r\nline two\r\rline three\r\n\r\nnew paragraph.",
    "a\n\x00\nb\n\x00 lead\ntrail \x00\n\x00",
    "ΟΔΟΣ ΟΔΟΣ οδος οδοσ. ΣΑΣ σας.",
    "İstanbul i\u0307stanbul ISTANBUL istanbul. İ i\u0307.",
    "\u212aelvin kelvin KELVIN. ﬁne fine.",
    "😀 😀 😀 emoji 😀 text 😀.",
    "nbsp\u00a0joined\u2028line\u3000ideographic\x0bvt\x0cff\x85nel end.",
    "--hello-- ((world)) ...dots... 'quoted' #hash# {brace}",
    "https://example.com/a?b=c&d=e http://x.y/z.",
    "#1 #2 #3 #4 #5 #6",
    "\u2026\u2026 \u2026 ...... .....",
    "Σ",
    "\x00",
]


def real_prose() -> list[str]:
    path = FIXTURES / "xsum_near_dup_sample.jsonl"
    return [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def corpus() -> list[str]:
    return web_like_texts(1500, seed=1) + real_prose() + ADVERSARIAL


# The fineweb preset's datatrove definitions are not in the reference: it is compared with
# them switched back to the Gopher definitions here, and with datatrove's behaviour below.
GOPHER_DEFINITIONS = {
    "c4_edit_lines": False,
    "word_definition": "gopher",
    "fineweb_max_dup_line_char_frac": 0.1,
    "gopher_bullets": ["•", "●", "○", "◦", "▪", "‣", "∙", "-", "*", "–"],
}
OVERRIDES: list[dict[str, Any]] = [
    {"preset": "gopher"},
    {"preset": "dolma"},
    {"preset": "fineweb", **GOPHER_DEFINITIONS},
    {  # relaxed page rules, so that most documents reach the later rules
        "preset": "fineweb",
        **GOPHER_DEFINITIONS,
        "gopher_min_words": 5,
        "gopher_min_stop_words": 0,
        "gopher_min_alpha_words_frac": 0.3,
        "c4_min_sentences": 0,
        "fineweb_min_line_punct_frac": 0.0,
        "fineweb_max_short_lines_frac": 1.0,
        "max_dup_line_frac": 1.0,
        "max_dup_para_frac": 1.0,
        "max_dup_line_char_frac": 1.0,
        "fineweb_max_dup_line_char_frac": 1.0,
        "max_dup_para_char_frac": 1.0,
        "max_top_2gram_char_frac": 0.05,
        "max_dup_7gram_char_frac": 0.02,
    },
    {  # only repetition, strict
        "gopher_quality": False,
        "c4": False,
        "fineweb": False,
        "max_top_3gram_char_frac": 0.03,
        "max_dup_5gram_char_frac": 0.01,
        "disable": ["top_2gram_char_frac"],
    },
    {  # other word lists, bullets and phrases; C4 lines as FineWeb with 2-word lines
        "preset": "gopher",
        "gopher_min_words": 3,
        "gopher_stop_words": ["THE", "und", "οδος", "i\u0307stanbul", "don't"],
        "gopher_bullets": ["•", "-", "Read", "", "東"],
        "c4_policy_phrases": ["Privacy", "cookies", "ΣΑΣ", "東京"],
        "c4_require_terminal_punct": True,
        "c4_min_words_per_line": 2,
        "c4_max_word_length": 12,
        "fineweb_short_line_chars": 10,
        "disable": ["gopher_stop_words", "gopher_alpha_words", "gopher_mean_word_length"],
    },
]


def marks_of(texts: list[str], params: QualityParams) -> pl.DataFrame:
    batch = from_texts(texts)
    return Quality(params).apply(batch).select("_reason", "_score")


def assert_same_marks(new: pl.DataFrame, old: pl.DataFrame, texts: list[str]) -> None:
    same = new["_reason"].eq_missing(old["_reason"]) & new["_score"].eq_missing(old["_score"])
    differ = [(i, texts[i][:60], new.row(i), old.row(i)) for i in range(len(texts)) if not same[i]]
    assert differ == []


@pytest.mark.parametrize("overrides", OVERRIDES, ids=lambda o: o.get("preset", "custom"))
def test_reasons_and_scores_match_the_reference(
    corpus: list[str], overrides: dict[str, Any]
) -> None:
    params = QualityParams(**overrides)
    new = marks_of(corpus, params)
    assert_same_marks(new, ReferenceQuality(params).marks(corpus), corpus)
    assert new["_reason"].null_count() < len(corpus)  # the comparison saw some failures


def test_every_figure_matches_the_reference(corpus: list[str]) -> None:
    """All figures for all documents: nothing fails, so every n-gram figure is measured."""
    limits = {f"max_top_{n}gram_char_frac": 1.0 for n in (2, 3, 4)}
    limits |= {f"max_dup_{n}gram_char_frac": 1.0 for n in range(5, 11)}
    params = QualityParams(gopher_max_words=10**9, **limits)
    texts = pl.Series(corpus)
    new = Quality(params).measure(texts)
    old = ReferenceQuality(params).measure(texts)
    assert new.columns == old.columns
    for name in new.columns:
        if name.endswith("gram_char_frac"):  # measured where every page rule passed
            measured = old[name].is_not_null()
            assert new[name].filter(measured).to_list() == old[name].filter(measured).to_list()
        elif name == "c4_sentences":  # counted where Gopher's rules passed and they decide
            measured = new[name].is_not_null()
            assert new[name].filter(measured).to_list() == old[name].filter(measured).to_list()
        else:
            assert new[name].eq_missing(old[name]).all(), name
    assert old["top_2gram_char_frac"].drop_nulls().gt(0).sum() > 10


def test_c4_sentences_match_the_reference(corpus: list[str]) -> None:
    """Counted for every text when no Gopher rule runs first and every count decides."""
    for preset in ("gopher", "fineweb"):
        params = QualityParams(
            preset=preset, **GOPHER_DEFINITIONS, gopher_quality=False, c4_min_sentences=10**6
        )
        new = Quality(params).measure(pl.Series(corpus))["c4_sentences"]
        old = ReferenceQuality(params).measure(pl.Series(corpus))["c4_sentences"]
        assert new.null_count() == 0
        assert new.to_list() == old.to_list()
        assert new.gt(3).sum() > 500


def test_real_prose_matches_the_reference() -> None:
    texts = real_prose()
    for params in (QualityParams(), QualityParams(preset="fineweb", **GOPHER_DEFINITIONS)):
        assert_same_marks(marks_of(texts, params), ReferenceQuality(params).marks(texts), texts)


SNIPPETS = [
    "the", "The", "THE", "and", "word", "words", "ab", "cd", "x", "ΟΔΟΣ", "ς", "İ", "東京",
    "café", "ſ", "\u212a", "😀", "#", "{", "}", "[1]", "[edit]", "...", "\u2026", ".", "!", "?",
    '"', ")", "\u201d", "-", "•", "--", "javascript", "Privacy Policy", "use cookies",
    "lorem ipsum", "12", "3.5", "a.b", "'s",
]  # fmt: skip
SEPARATORS = [" ", " ", " ", "  ", "\n", "\n\n", "\n \n", "\r\n", "\t", "\u00a0", "\x00", ""]


@st.composite
def snippet_texts(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.sampled_from(SNIPPETS), max_size=60))
    seps = draw(st.lists(st.sampled_from(SEPARATORS), min_size=len(parts), max_size=len(parts)))
    return "".join(p + s for p, s in zip(parts, seps, strict=True))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(snippet_texts() | st.text(max_size=40), min_size=1, max_size=12))
def test_random_texts_match_the_reference(texts: list[str]) -> None:
    for params in (
        QualityParams(gopher_min_words=1, gopher_min_stop_words=0, c4_min_sentences=0),
        QualityParams(gopher_quality=False, c4=False, fineweb=False, max_top_2gram_char_frac=0.1),
    ):
        assert_same_marks(marks_of(texts, params), ReferenceQuality(params).marks(texts), texts)


def test_many_small_chunks_give_the_same_marks(
    corpus: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks of a few documents, ASCII ones apart, are put back in the batch's order."""
    params = QualityParams(preset="fineweb", gopher_min_words=5, gopher_min_stop_words=0)
    whole = marks_of(corpus, params)
    monkeypatch.setattr(quality_metrics, "_CHUNK_CHARS", 20_000)
    assert len(quality_metrics.chunks(pl.Series(corpus))) > 50
    assert marks_of(corpus, params).equals(whole)


def test_token_spaces_are_the_spaces_lines_are_stripped_of() -> None:
    """Tokens end at ``\\s``, lines are stripped by ``strip_chars``: the arrays assume both
    mean the same characters (Unicode White_Space)."""
    code_points = [c for c in range(0x30000) if not 0xD800 <= c < 0xE000]
    chars = pl.Series([chr(c) for c in code_points])
    assert chars.str.contains(r"^\s$").equals(chars.str.strip_chars() == "", check_names=False)
