"""Value makers of the "fresh2" set's hard negatives (bench/pii_fresh2.py): numbers and codes
that look like personal data and are not.

Each maker draws from the set's one generator (``v.rng`` through ``v.n``, ``v.digits``,
``v.hexes``, ``v.pick``). None makes a valid-for-a-person value on purpose: 16-digit gift
cards fail the Luhn test, SSN-shaped part codes sit in a part-number context, IMEI-shaped
serials are grouped 2-6-6-1 as printed on devices, OIDs and four-part versions look like IPv4.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pii_corpus import luhn_complete

MONTHS = ("Jan", "Feb.", "März", "avril", "mayo", "giugno", "juli", "sierpnia", "okt", "Dec")
CURRENCIES = (
    "CHF {a}'{b:03d}.{c:02d}", "{a}.{b:03d},{c:02d} €", "{a} {b:03d},{c:02d} zł",
    "R$ {a}.{b:03d},{c:02d}", "SEK {a} {b:03d}", "US${a},{b:03d}.{c:02d}", "£{a}{b:03d}.{c:02d}",
    "{a}{b:03d},{c:02d} kr", "EUR {a}{b:03d}.{c:02d}",
)  # fmt: skip


# Capitalised words and phrases that are also given or family names, as places, brands and
# common nouns of each template language; none names a person ("nw" slot, by v.lang).
NAME_WORDS = {
    "en": (
        "Chase Bank", "Jersey Royal potatoes", "Atlanta, Georgia", "Amman, Jordan",
        "Victoria Station", "Florence Cathedral", "Lincoln Cathedral", "Austin, Texas",
        "Sydney Harbour", "Tesla Model 3", "Ford Focus", "Apple Watch", "Amazon Prime",
        "Ivy League colleges", "Hope Valley railway", "Baker Street station", "Grace period",
        "Summer sale", "Hunter wellies", "Mason jars", "Stone Age tools", "Young Adult fiction",
        "Isle of Skye", "Cook Islands", "Chelsea boots", "Reading station", "Bath Abbey",
        "Virginia Water lake", "Brooke Park playground",
    ),
    "de": (
        "der Koch", "Bäckerei Sonne", "Engel-Apotheke", "Gasthof zur Rose", "Bahnhof Zoo",
        "Sonnenallee", "Kaufland", "Edeka", "Wolfsburg", "Rosenheim", "Hoffnung", "Frieden",
        "Winterdienst", "Porsche 911", "Fischerei", "Bergbau", "Schäferhund",
    ),
    "fr": (
        "la Marine nationale", "la gare de Lyon", "la ville de Nancy", "la région Lorraine",
        "Saint-Malo", "Carrefour Market", "forfait Orange", "la Rose des vents",
        "l'aurore boréale", "forêt de Fontainebleau",
    ),
    "es": (
        "la ciudad de Rosario", "La Paz (Bolivia)", "cerveza Victoria", "Santiago de Chile",
        "Mercedes-Benz", "Los Ángeles", "Santa Cruz de Tenerife", "El Corte Inglés",
        "Mar del Plata", "el municipio de Soledad", "las fiestas del Pilar",
    ),
    "it": (
        "bici Bianchi", "Ferrari Roma", "Firenze", "Duomo di Milano", "Esselunga",
        "Vittoria (Ragusa)", "la ruota della Fortuna", "acqua San Pellegrino", "Marina di Pisa",
        "maglioni Benetton", "Valle d'Aosta",
    ),
    "nl": (
        "Jumbo", "de Bijenkorf", "Philips", "Hema", "Zwolle", "Den Haag", "Rosmalen",
        "Wassenaar", "Bakkerij De Hoop", "Hoek van Holland", "Leeuwarden",
    ),
    "pt": (
        "Natal (RN)", "Vitória (ES)", "Belo Horizonte", "Pão de Açúcar", "bairro da Glória",
        "Rua da Conceição", "cerveja Sagres", "Boa Esperança", "Figueira da Foz",
        "Nogueira do Cravo",
    ),
    "pl": (
        "Biedronka", "Żabka", "Wawel", "Prince Polo", "rzeka Wisła", "Zakopane", "Orlen",
        "Allegro", "Łódź", "Góra Kalwaria",
    ),
    "sv": (
        "Systembolaget", "Ica", "Åhléns", "Göteborg", "Kiruna", "Lund", "Falun", "Malmö",
        "Stora Enso", "Volvo", "Saab", "Sjöbo",
    ),
}  # fmt: skip


def _ean(body: str) -> str:
    """``body`` and its EAN / ISBN-13 check digit (weights 1, 3 from the left of 12)."""
    odd = len(body) % 2
    total = sum(int(c) * (3 if (i % 2) != odd else 1) for i, c in enumerate(body))
    return body + str((10 - total % 10) % 10)


def luhn_digit(body: str) -> str:
    """The check digit that makes ``body`` + it pass the Luhn test."""
    return luhn_complete(body)[-1]


def negative_makers(v: Any) -> dict[str, Callable[[], str]]:
    """slot -> maker of the hard negatives, drawing from ``v`` (a ``Fresh2Values``)."""
    n, d, h, pick = v.n, v.digits, v.hexes, v.pick

    def date() -> str:
        y, m, day = n(2018, 2029), n(1, 13), n(1, 29)
        return pick(
            (
                f"{day}. {pick(MONTHS)} {y}",
                f"{y}/{m:02d}/{day:02d}",
                f"{day:02d}-{m:02d}-{y}",
                f"{m:02d}.{day:02d}.{y % 100:02d}",
                f"{y}-W{n(1, 53):02d}",
                f"{day}/{m}/{y}",
            )
        )

    def stamp() -> str:
        y, mo, day, hh, mm, ss = n(2019, 2028), n(1, 13), n(1, 29), n(0, 24), n(0, 60), n(0, 60)
        return pick(
            (
                f"{pick(('Mon', 'Tue', 'Wed', 'Thu', 'Fri'))}, {day:02d} "
                f"{pick(('Jan', 'Mar', 'Jun', 'Oct'))} {y} "
                f"{hh:02d}:{mm:02d}:{ss:02d} +0{n(0, 3)}00",
                f"{y}{mo:02d}{day:02d} {hh:02d}{mm:02d}{ss:02d}",
                f"{day:02d}/{mo:02d}/{y} {hh:02d}:{mm:02d}",
                f"{y}-{mo:02d}-{day:02d} {hh:02d}:{mm:02d}:{ss:02d},{d(3)}",
                str(n(1_600_000_000, 1_800_000_000)),
                f"{y}-{mo:02d}-{day:02d}T{hh:02d}:{mm:02d}:{ss:02d}.{d(6)}+00:00",
            )
        )

    def money() -> str:
        return pick(CURRENCIES).format(a=n(1, 99), b=n(0, 1000), c=n(0, 100))

    def badcard16() -> str:
        body = pick(("41", "53", "60", "37")) + d(13)
        good = int(luhn_digit(body))
        number = body + str((good + n(1, 10)) % 10)
        return pick((number, " ".join(number[i : i + 4] for i in range(0, 16, 4))))

    def imei() -> str:
        body = pick(("35", "86", "01")) + d(12)
        x = body + luhn_digit(body)
        return f"{x[:2]}-{x[2:8]}-{x[8:14]}-{x[14]}"

    def isbn10() -> str:
        body = d(9)
        check = sum((10 - i) * int(c) for i, c in enumerate(body)) % 11
        last = str((11 - check) % 11).replace("10", "X")
        return f"{body[0]}-{body[1:4]}-{body[4:9]}-{last}"

    def issn() -> str:
        body = d(7)
        check = (11 - sum((8 - i) * int(c) for i, c in enumerate(body)) % 11) % 11
        return f"{body[:4]}-{body[4:]}{'X' if check == 10 else check}"

    def semver() -> str:
        core = f"{n(0, 20)}.{n(0, 40)}.{n(0, 60)}"
        return pick((core, f"{core}-rc.{n(1, 6)}", f"{core}+build.{n(100, 99999)}", f"v{core}"))

    def version4() -> str:  # some parts in octet range: reads like an IPv4 address
        return f"{n(1, 12)}.{n(0, 20)}.{n(0, 255)}.{n(0, 255)}"

    def coords() -> str:
        return pick(
            (
                f"{n(35, 70)}.{d(4)}° N, {n(1, 30)}.{d(4)}° E",
                f"{n(30, 60)}°{n(0, 60)}′{n(0, 60)}″N {n(0, 20)}°{n(0, 60)}′{n(0, 60)}″E",
                f"-{n(10, 45)}.{d(6)}, -{n(40, 75)}.{d(6)}",
            )
        )

    def postcode() -> str:
        return pick(
            (
                f"{d(2)}-{d(3)}",
                f"{n(1000, 9999)} {pick('ABCDEGHJKL')}{pick('ABEHKLNPRST')}",
                f"SE-{n(100, 999)} {d(2)}",
                f"D-{n(10000, 99999)}",
                f"{n(1000, 9999)}-{d(3)}",
                f"{n(10000, 99999)}",
            )
        )

    def tracking() -> str:
        return pick(
            (
                f"1Z{d(3)}{h(3).upper()}{d(10)}",
                f"9400 1{d(3)} {d(4)} {d(4)} {d(4)} {d(2)}",
                f"3S{''.join(pick('ABCDEFGHKLMNPRTX') for _ in range(4))}{d(7)}",
                f"00{d(18)}",
                f"RR{d(9)}PL",
            )
        )

    return {
        "date": date,
        "stamp": stamp,
        "money": money,
        "badcard16": badcard16,
        "imei": imei,
        "isbn10": isbn10,
        "isbn13": lambda: (lambda x: f"{x[:3]}-{x[3:5]}-{x[5:9]}-{x[9:12]}-{x[12]}")(
            _ean(pick(("978", "979")) + d(9))
        ),
        "issn": issn,
        "ean8": lambda: _ean(d(7)),
        "ean13": lambda: _ean(pick(("590", "730", "400", "800", "560", "871")) + d(9)),
        "semver": semver,
        "version4": version4,
        "build": lambda: pick((str(n(1000, 99999)), f"{n(2019, 2028)}.{n(1, 13)}.{n(1, 500)}")),
        "sha": lambda: h(pick((7, 8, 12, 40))),
        "duration": lambda: pick(
            (
                f"{n(0, 5)}h {n(0, 60)}m {n(0, 60)}s",
                f"{n(0, 24):02d}:{n(0, 60):02d}:{n(0, 60):02d}.{d(3)}",
                f"PT{n(1, 9)}H{n(0, 60)}M",
                f"{n(1, 9999)} ms",
            )
        ),
        "measure": lambda: pick(
            (f"{n(100, 9999):,} mm", f"{n(2, 60)} x {n(2, 60)} x {n(2, 60)} cm", f"{n(2, 90)} m")
        ),
        "weight": lambda: f"{n(2, 140)}.{n(0, 10)} kg",
        "temp": lambda: f"{n(35, 40)}.{n(0, 10)} °C",
        "bp": lambda: f"{n(95, 180)}/{n(55, 110)} mmHg",
        "dose": lambda: f"{pick((250, 400, 500, 1000))} mg",
        "small": lambda: str(n(1, 30)),
        "ticket": lambda: pick(
            (
                f"INC{d(7)}",
                f"{pick(('OPS', 'PLAT', 'CS', 'BILL'))}-{n(10, 99999)}",
                f"PO-{n(2019, 2028)}-{d(6)}",
                f"#{n(100000, 9999999)}",
                f"SR-{d(3)}-{d(4)}",
            )
        ),
        "invoice": lambda: pick((f"RE-{n(2019, 2028)}-{d(5)}", f"F{d(8)}", f"{d(3)}/{d(2)}/2025")),
        "order": lambda: pick((f"{d(3)}-{d(7)}-{d(7)}", f"ORD{d(9)}", f"{n(10**7, 10**10)}")),
        "tracking": tracking,
        "ssnpart": lambda: f"{n(100, 899)}-{n(10, 99)}-{d(4)}",
        "phonepart": lambda: pick(
            (f"{d(3)}-{d(3)}-{d(4)}", f"0{d(3)} {d(3)} {d(4)}", f"+{n(1, 9)}.{d(3)}.{d(4)}")
        ),
        "coords": coords,
        "postcode": postcode,
        "oid": lambda: f"{n(1, 3)}.{n(2, 4)}.{n(1, 200)}.{n(1, 255)}.{n(1, 9)}.{n(1, 40000)}",
        "masked_card": lambda: f"**** **** **** {d(4)}",
        "masked_ssn": lambda: f"XXX-XX-{d(4)}",
        "int": lambda: str(n(2, 999)),
        "pct": lambda: f"{n(0, 100)}.{d(1)}%",
        "port": lambda: str(n(1024, 65535)),
        "hexid": lambda: f"0x{h(8)}",
        "uuid": lambda: f"{h(8)}-{h(4)}-{h(4)}-{h(4)}-{h(12)}",
        "line": lambda: str(n(12, 2400)),
        "cvss": lambda: f"{n(1, 10)}.{n(0, 10)}",
        "nw": lambda: pick(NAME_WORDS[v.lang]),
    }


NEGATIVE_SLOTS = (
    "date", "stamp", "money", "badcard16", "imei", "isbn10", "isbn13", "issn", "ean8", "ean13",
    "semver", "version4", "build", "sha", "duration", "measure", "ticket", "invoice", "order",
    "tracking", "ssnpart", "phonepart", "coords", "postcode", "oid", "masked_card",
    "masked_ssn", "int", "pct", "port", "hexid", "uuid", "line", "cvss", "nw", "weight", "temp",
    "bp", "dose", "small",
)  # fmt: skip
