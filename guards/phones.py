"""Phone numbers in text, judged by phonenumbers (Google's libphonenumber metadata).

Candidates come from one broad pattern (guards/pii.py's PHONE); each is judged here:

- given internationally (`+47 912 34 567`): phonenumbers reads the country code, and the
  number must have a length that country's numbering plan allows (`is_possible_number`);
- a valid number of the deployment's region (`PII_PHONE_REGION`, e.g. US: `(602) 272-9781`)
  is a phone wherever it stands;
- any other number of phone length may be a phone written the way another country writes it
  (`0490 75 40 81`, `467 3395`): phonenumbers cannot tell without knowing the country, so it
  is taken unless its context says what else it is. A number followed on its line by a street
  name is a house number (`3911 Fourth Avenue`, `62314 Mellemvej`: a capitalised word other
  than a phone label such as Mobile or Fax, or a street word such as avenue or rue within the
  next three words); one right after a licence, passport, ZIP or postcode label is that.

Korean numbers (010-..., 02-..., +82 ...) are found by phonenumbers' own matcher for region
KR, in Korean text only those (order and receipt numbers outnumber foreign phones there).
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import CountryCodeSource, NumberParseException, PhoneNumber

from knowledge.language import HANGUL

DEFAULT_REGION = "US"
"""phonenumbers' region for numbers written without a country code (Presidio's default too)."""

_LABEL = re.compile(r"(?i)mobile|cell|phone|tel|telephone|fax|desk|office|home|work|ext|extension")
"""Capitalised words that may follow a phone number on its line without making it a house number."""
_WORDS_AFTER = re.compile(r"(?:[ \t]+[^\W\d_][\w.'-]*){1,3}")
_STREET_WORD = re.compile(
    r"(?i)\b(?:street|st|avenue|ave|road|rd|drive|dr|lane|ln|court|ct|place|pl|close|square|sq|"
    r"boulevard|blvd|way|rue|via|calle|strasse|straße|vej|gade|gata|gatan|veien|weg)\b"
)
_OTHER_NUMBER = re.compile(
    r"(?i)\b(?:licen[cs]e|passport|zip|postcode|post(?:al)? code|serial|order|invoice|"
    r"account|policy|ticket)(?: (?:number|no\.?|code|id))?(?: is)?\s*[:#]?\s*$"
)
"""A label right before a number that says it is not a phone ("my license number is 2270-66-1551")."""
_KOREAN_NUMBER = re.compile(r"(?<!\d)0(?:1[016-9]|2|[3-6]\d|70)[ .\-]?\d{3,4}[ .\-]?\d{4}(?!\d)")


def is_phone(text: str, start: int, end: int, region: str = DEFAULT_REGION) -> bool:
    """Is `text[start:end]`, a candidate of the broad pattern, a phone number?"""
    value = text[start:end]
    if not _shaped_like_phone(value) or _OTHER_NUMBER.search(text[max(0, start - 40) : start]):
        return False
    number = _parse(value, region)
    if (
        number is not None
        and number.country_code_source == CountryCodeSource.FROM_NUMBER_WITH_PLUS_SIGN
    ):
        return phonenumbers.is_possible_number(number)
    if number is not None and phonenumbers.is_valid_number_for_region(number, region):
        return True
    return not _street_follows(text, end)


def korean_phones(text: str) -> list[tuple[int, int]]:
    """Spans of Korean phone numbers, and in Korean text of international ones (+1 ...);
    only looked for where they can be."""
    korean = bool(HANGUL.search(text))
    if not (korean or "+82" in text or _KOREAN_NUMBER.search(text)):
        return []
    return [
        (m.start, m.end)
        for m in phonenumbers.PhoneNumberMatcher(text, "KR", leniency=phonenumbers.Leniency.VALID)
        if m.number.country_code == 82 or (korean and m.raw_string.startswith("+"))
    ]


def _parse(value: str, region: str) -> PhoneNumber | None:
    try:
        return phonenumbers.parse(value, region, keep_raw_input=True)
    except NumberParseException:
        return None


def _street_follows(text: str, end: int) -> bool:
    words = _WORDS_AFTER.match(text, end)
    if words is None:
        return False
    first = words.group().split()[0].rstrip(".").split("'")[0]  # I'd, I'm: not a street
    return (first[0].isupper() and len(first) > 1 and not _LABEL.fullmatch(first)) or bool(
        _STREET_WORD.search(words.group())
    )


def _shaped_like_phone(value: str) -> bool:
    digits = re.sub(r"\D", "", re.split(r"(?i)\s*(?:x|ext\.?)\s*\d", value)[0])
    if not 7 <= len(digits) <= 15:
        return False
    if value.isdigit() and len(value) < 10:
        return False  # a bare short number is a count or an id more often than a phone
    return not _looks_like_date(value.strip())


def _looks_like_date(value: str) -> bool:
    """2026-03-01 (maybe with a time after it), 01.03.2026, 3/1/26: not phone numbers."""
    if re.match(r"(19|20)\d\d[-./]\d\d?[-./]\d\d?\b", value):
        return True
    parts = re.fullmatch(r"(\d\d?)[-./](\d\d?)[-./]((?:19|20)?\d\d)", value)
    return bool(parts) and int(parts[1]) <= 31 and int(parts[2]) <= 31
