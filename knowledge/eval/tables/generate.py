"""Writes the evaluation tables (offices, per-diem rates, equipment): `python -m knowledge.eval.tables.generate`.
Seeded, so the files and the expected results of tables.jsonl never drift."""

from __future__ import annotations

import csv
import random
from pathlib import Path

HERE = Path(__file__).parent
OFFICES = [  # city, country, region, employees, desks, parking, opened
    ("Berlin", "Germany", "Europe", 240, 180, True, "2012-03-01"),
    ("Munich", "Germany", "Europe", 85, 70, False, "2016-09-15"),
    ("Hamburg", "Germany", "Europe", 40, 38, True, "2019-01-07"),
    ("Oslo", "Norway", "Europe", 310, 260, True, "2008-05-20"),
    ("Bergen", "Norway", "Europe", 55, 50, True, "2014-11-03"),
    ("Paris", "France", "Europe", 120, 90, False, "2013-06-10"),
    ("Madrid", "Spain", "Europe", 64, 60, False, "2018-02-12"),
    ("London", "United Kingdom", "Europe", 150, 110, False, "2011-10-01"),
    ("Seoul", "South Korea", "Asia", 130, 120, True, "2017-04-03"),
    ("Tokyo", "Japan", "Asia", 95, 80, False, "2015-07-21"),
    ("Singapore", "Singapore", "Asia", 70, 66, True, "2020-01-13"),
    ("Bangalore", "India", "Asia", 410, 300, True, "2010-08-30"),
    ("New York", "United States", "Americas", 200, 140, False, "2009-03-16"),
    ("Austin", "United States", "Americas", 75, 75, True, "2021-05-03"),
    ("Toronto", "Canada", "Americas", 60, 48, True, "2019-09-09"),
    ("Sao Paulo", "Brazil", "Americas", 45, 40, False, "2022-02-01"),
    ("Sydney", "Australia", "Oceania", 35, 30, True, "2018-11-19"),
    ("Nairobi", "Kenya", "Africa", 28, 28, True, "2023-03-06"),
]
PER_DIEM = [  # city, country, region, per_diem_eur, lodging_eur
    ("Berlin", "Germany", "Europe", 28.0, 140),
    ("Munich", "Germany", "Europe", 30.0, 165),
    ("Hamburg", "Germany", "Europe", 28.0, 150),
    ("Oslo", "Norway", "Europe", 62.5, 210),
    ("Bergen", "Norway", "Europe", 58.0, 180),
    ("Paris", "France", "Europe", 54.0, 230),
    ("Lyon", "France", "Europe", 44.0, 150),
    ("Madrid", "Spain", "Europe", 41.0, 160),
    ("Barcelona", "Spain", "Europe", 43.5, 175),
    ("London", "United Kingdom", "Europe", 66.0, 260),
    ("Dublin", "Ireland", "Europe", 52.0, 205),
    ("Zurich", "Switzerland", "Europe", 70.0, 270),
    ("Vienna", "Austria", "Europe", 40.0, 150),
    ("Warsaw", "Poland", "Europe", 33.0, 120),
    ("Stockholm", "Sweden", "Europe", 55.0, 190),
    ("Seoul", "South Korea", "Asia", 47.0, 180),
    ("Busan", "South Korea", "Asia", 39.0, 130),
    ("Tokyo", "Japan", "Asia", 52.0, 200),
    ("Osaka", "Japan", "Asia", 46.0, 170),
    ("Singapore", "Singapore", "Asia", 64.0, 250),
    ("Bangalore", "India", "Asia", 32.0, 110),
    ("Mumbai", "India", "Asia", 36.0, 140),
    ("Hong Kong", "China", "Asia", 68.0, 265),
    ("Shanghai", "China", "Asia", 50.0, 190),
    ("Bangkok", "Thailand", "Asia", 35.0, 120),
    ("New York", "United States", "Americas", 71.0, 310),
    ("Austin", "United States", "Americas", 50.0, 190),
    ("San Francisco", "United States", "Americas", 74.0, 330),
    ("Chicago", "United States", "Americas", 60.0, 240),
    ("Toronto", "Canada", "Americas", 55.0, 210),
    ("Mexico City", "Mexico", "Americas", 38.0, 140),
    ("Sao Paulo", "Brazil", "Americas", 42.0, 150),
    ("Buenos Aires", "Argentina", "Americas", 37.0, 130),
    ("Sydney", "Australia", "Oceania", 61.0, 230),
    ("Auckland", "New Zealand", "Oceania", 53.0, 190),
    ("Nairobi", "Kenya", "Africa", 34.0, 150),
    ("Cape Town", "South Africa", "Africa", 36.0, 140),
    ("Cairo", "Egypt", "Africa", 31.0, 125),
]
TYPES = {
    "laptop": (["ThinkPad X1 Carbon", "MacBook Pro 14", "Dell XPS 13"], 1400, 2600),
    "monitor": (["Dell U2723QE", "LG 27UK850"], 300, 650),
    "phone": (["iPhone 15", "Pixel 8"], 600, 1100),
    "headset": (["Jabra Evolve2 65", "Poly Voyager 4320"], 120, 260),
    "dock": (["CalDigit TS4", "Dell WD22TB4"], 180, 360),
}


def write(name: str, header: list[str], rows: list[tuple]) -> None:
    with (HERE / f"{name}.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def equipment() -> list[tuple]:
    rng = random.Random(16)
    rows = []
    for number in range(1, 121):
        kind = rng.choice(list(TYPES))
        models, low, high = TYPES[kind]
        rows.append(
            (
                f"EQ-{number:04d}",
                kind,
                rng.choice(models),
                rng.choice(OFFICES)[0],
                f"{rng.randint(2019, 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                rng.randrange(low, high, 10),
                rng.choices(["in use", "spare", "repair"], [7, 2, 1])[0],
            )
        )
    return rows


if __name__ == "__main__":
    write(
        "offices",
        ["city", "country", "region", "employees", "desks", "parking", "opened"],
        [(*o[:5], "yes" if o[5] else "no", o[6]) for o in OFFICES],
    )
    write("per_diem_rates", ["city", "country", "region", "per_diem_eur", "lodging_eur"], PER_DIEM)
    write(
        "equipment",
        ["asset_tag", "type", "model", "office", "purchased", "price_eur", "status"],
        equipment(),
    )
