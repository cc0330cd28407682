"""Person names of the "fresh2" PII set (bench/pii_fresh2.py): a hand list and Faker sources.

Hand list: composed by hand from general knowledge of naming customs (not copied from Faker
or from bench/pii_fresh_names.py, whose names none of these repeats: tests/test_pii_fresh2.py
checks). ``lang`` ties a culture to a template language, so that a German letter more often
names a German speaker; ``order`` is "gf" (given name first) or "fg" (family name first).
Names are separated by "|"; a name may hold spaces or particles ("van den Broek", "bin
Saleh", "af Klercker", "Della Valle"). Some English given and family names are also common
words (Hope, Reed, Baker, Stone), as they are in real data.

Faker sources: locales no earlier set used for names (bench/pii_corpus.py NAME_LOCALES and
SEALED_NAME_LOCALES, bench/pii_heldout.py HELDOUT_NAME_LOCALES, bench/pii_fresh.py
FRESH_NAME_LOCALES), either Latin-script already (de_LI, de_LU, vi_VN), romanised by Faker
(ja_JP, zh_CN, zh_TW) or transliterated here from Cyrillic and Greek (ru_RU, uk_UA, bg_BG,
mk_MK, el_GR), the way such names appear in English-language HR and support data.
"""

from __future__ import annotations

import unicodedata
from typing import NamedTuple


class Culture(NamedTuple):
    key: str
    lang: str  # template language this culture is preferred for ("" : any)
    given: tuple[str, ...]
    family: tuple[str, ...]
    order: str = "gf"


def _c(key: str, lang: str, given: str, family: str, order: str = "gf") -> Culture:
    return Culture(key, lang, tuple(given.split("|")), tuple(family.split("|")), order)


HAND2_CULTURES: tuple[Culture, ...] = (
    _c(
        "german", "de",
        "Wolfgang|Annegret|Jürgen|Heike|Dieter|Ulrike|Torsten|Gudrun|Rüdiger|Sieglinde|Leonie|"
        "Till|Merle|Hans-Jörg",
        "Schäfer|Großmann|Krüger-Nolte|Oberhuber|Gschwendtner|Pfeiffer|Kühn|von Stetten|"
        "Brandstätter|Zöllner|Imhof|Achternbusch",
    ),
    _c(
        "french", "fr",
        "Amandine|Gaëtan|Clémence|Loïc|Ségolène|Benoît|Océane|Hervé|Aurélien|Maïwenn|"
        "Marie-Claude|Jean-Baptiste",
        "Lemaire|Fontaine|de La Roche|Giraud-Mallet|Chevallier|Le Bihan|Vasseur|Carpentier|"
        "Aubert|Delacroix|Bouchard-Lévesque",
    ),
    _c(
        "spanish", "es",
        "Íñigo|Begoña|Nerea|Álvaro|Itziar|Remedios|Fermín|Macarena|Xabier|Montserrat|Juan Carlos",
        "Etxeberria|Gorostiza|Martín-Aguado|de la Fuente|Iglesias Ruano|Arrieta|Soler i Puig|"
        "Urquijo|Beltrán|Zubizarreta",
    ),
    _c(
        "italian", "it",
        "Gianluca|Ornella|Ludovica|Pierpaolo|Benedetta|Gaetano|Mariangela|Corrado|Rosalba|Ettore",
        "Esposito|Della Valle|Lo Russo|D'Amico|Bianchini|Squillaci|Di Stefano|Marcheggiani|"
        "Pellegrino|De Santis",
    ),
    _c(
        "dutch", "nl",
        "Maarten|Anouk|Bram|Lieke|Wouter|Fenna|Sjoerd|Ilse|Gijs|Mieke|Jan-Pieter",
        "van den Broek|Verhoeven|Bakker|van Leeuwen|Timmermans|Claessens|Vermeulen|de Wit|"
        "Hoekstra|van Rossum|in 't Veld",
    ),
    _c(
        "portuguese", "pt",
        "João Pedro|Conceição|Gonçalo|Inês|Thaís|Rogério|Luana|Benedito|Leonor|Caio",
        "Magalhães|Figueiredo|da Silva Pinto|Gonçalves|Assunção|Nogueira|Carvalho-Lopes|"
        "dos Reis|Sampaio|Brandão",
    ),
    _c(
        "polish", "pl",
        "Zbigniew|Grażyna|Wojciech|Małgorzata|Przemysław|Jadwiga|Szymon|Bożena|Radosław|Iwona",
        "Wróblewski|Szczepańska|Grzybowski|Zielińska|Pawlak|Jankowski|Kaczmarek|Dąbrowska|"
        "Sobczak|Brzozowski|Nowicka-Wójcik",
    ),
    _c(
        "swedish", "sv",
        "Linnea|Oskar|Ebba|Gustav|Maj-Britt|Torbjörn|Elsa|Håkan|Agnes|Pelle",
        "Sjöberg|Holmqvist|Åkesson|Lundgren|Wallin|Engström|Hedlund|af Klercker|Söderberg|"
        "Björklund",
    ),
    _c(
        "turkish_kurdish", "",
        "Emre|Zeynep|Barış|Elif|Mehmet Ali|Gülşen|Serdar|Dilan|Rojda|Cemile",
        "Yılmaz|Öztürk|Aydın|Çelik|Karaca|Doğan|Şimşek|Erdem|Bozkurt|Zana",
    ),
    _c(
        "filipino", "",
        "Maricel|Rodel|Jhun|Analyn|Jomar|Ligaya|Rowena|Ernesto",
        "Macaraeg|Dimaculangan|Villanueva|Pangilinan|Dizon|Mercado|Sarmiento",
    ),
    _c(
        "indian", "",
        "Aarav|Kavya|Siddharth|Deepika|Raghunath|Pooja|Gurpreet|Anirudh|Shreya|Manoj",
        "Agarwal|Nair|Menon|Reddy|Patil|Kulkarni|Banerjee|Gill|Pillai|Rao",
    ),
    _c(
        "arabic_maghreb", "",
        "Karim|Yasmina|Mehdi|Houda|Rachid|Nadia|Ilyas|Soumaya|Faisal|Lamia",
        "al-Amin|al-Farsi|Bouzid|Benali|El Idrissi|Chaoui|al-Zahrani|bin Saleh|Mansouri|"
        "Abu-Ghazaleh",
    ),
    _c(
        "west_african", "",
        "Folake|Emeka|Ifeoma|Babajide|Akua|Kwame|Adjoa|Sékou|Chinonso",
        "Adebanjo|Obi|Okonkwo|Mensah|Darko|Ouédraogo|Kaboré|Ansah|Adeleke",
    ),
    _c(
        "southern_east_african", "",
        "Thandiwe|Sipho|Nomvula|Lerato|Tendai|Chipo|Baraka|Zawadi",
        "Dlamini|Nkosi|Mokoena|Moyo|Chikwanha|Banda|Mutua|Kimani",
    ),
    _c(
        "mongolian", "",
        "Batbayar|Oyunchimeg|Bolormaa|Temuulen|Munkhzul",
        "Ganbold|Dorjsuren|Enkhbayar|Tserendorj|Batsaikhan",
    ),
    _c(
        "english_wordlike", "en",
        "Hope|Rowan|Ivy|Hunter|Skye|Chase|Faith|Brooke|Reed|Wren",
        "Baker|Fisher|Cook|Mason|Carpenter|Hill|Stone|Woodward|Shepherd|Young",
    ),
    _c(
        "anglo_celtic", "en",
        "Gareth|Morag|Bronwen|Declan|Imogen|Rhys|Tamsin|Callum|Eilidh|Dougal",
        "Pritchard|Fairweather|Llewellyn|Ó Briain|McGillivray|Hargreaves|Fitzgerald|Ogilvie|"
        "Blackwood-Jones|Cavendish",
    ),
)  # fmt: skip

# Faker locales: (locale, how its names are turned into Latin script, order of a full name)
FAKER2_LOCALES: tuple[tuple[str, str, str], ...] = (
    ("de_LI", "plain", "gf"),
    ("de_LU", "plain", "gf"),
    ("vi_VN", "plain", "fg"),
    ("ja_JP", "romanized", "gf"),
    ("zh_CN", "romanized", "gf"),
    ("zh_TW", "romanized", "gf"),
    ("ru_RU", "translit", "gf"),
    ("uk_UA", "translit", "gf"),
    ("bg_BG", "translit", "gf"),
    ("mk_MK", "translit", "gf"),
    ("el_GR", "translit", "gf"),
)


def _split(letters: str) -> list[str]:
    """One Latin rendering per letter, "|"-separated (easier to check by eye than a list)."""
    return letters.split("|")


# Cyrillic (Russian, Ukrainian, Bulgarian, Macedonian) and Greek letters to Latin, roughly as
# passports and HR systems write them. Digraphs of Greek come first (see ``transliterate``).
_CYRILLIC = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґђјљњћџѓќѕ",
        _split(
            "a|b|v|g|d|e|e|zh|z|i|y|k|l|m|n|o|p|r|s|t|u|f|kh|ts|ch|sh|shch||y||e|yu|ya|i|yi|ye|g|"
            "dj|j|lj|nj|c|dzh|gj|kj|dz"
        ),
        strict=True,
    )
)
_BULGARIAN = {"ъ": "a", "щ": "sht", "х": "h", "ц": "ts", "й": "y"}
_GREEK_DIGRAPHS = {"ου": "ou", "αι": "ai", "ει": "ei", "οι": "oi", "μπ": "b", "ντ": "nt"}
_GREEK = dict(
    zip(
        "αβγδεζηθικλμνξοπρσςτυφχψωάέήίόύώϊΐϋΰ",
        _split("a|v|g|d|e|z|i|th|i|k|l|m|n|x|o|p|r|s|s|t|y|f|ch|ps|o|a|e|i|i|o|y|o|i|i|y|y"),
        strict=True,
    )
)


def transliterate(name: str, locale: str) -> str:
    """``name`` in Latin letters, capitals kept (Жанна -> Zhanna, Παπαδάκης -> Papadakis)."""
    if locale == "el_GR":  # accents off first, so that "ού" reads as the digraph "ου"
        name = "".join(
            c for c in unicodedata.normalize("NFD", name) if not unicodedata.combining(c)
        )
    out = []
    i = 0
    while i < len(name):
        ch, pair = name[i], name[i : i + 2].lower()
        step = 1
        if locale == "el_GR" and pair in _GREEK_DIGRAPHS:
            latin, step = _GREEK_DIGRAPHS[pair], 2
        elif locale == "el_GR":
            latin = _GREEK.get(ch.lower(), ch)
        elif locale == "bg_BG" and ch.lower() in _BULGARIAN:
            latin = _BULGARIAN[ch.lower()]
        else:
            latin = _CYRILLIC.get(ch.lower(), ch)
        if ch != ch.lower() and latin:
            latin = latin[0].upper() + latin[1:]
        out.append(latin)
        i += step
    return "".join(out)
