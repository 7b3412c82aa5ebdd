"""Find and redact personal data and secrets with patterns and checksums, no model download.

Numbers are only taken for what they claim when their checksum agrees, checked by python-stdnum:
a card number must pass Luhn (`stdnum.luhn`), an IBAN its country's format and mod-97
(`stdnum.iban`), an SSN a valid area, group and serial (`stdnum.us.ssn`), and so must Korean
resident registration and business registration numbers (`stdnum.kr.rrn`, `stdnum.kr.brn`);
an IP address must parse (`ipaddress`). Phone numbers are judged by phonenumbers against the
deployment's region (guards/phones.py), and a Korean street address is taken when it reads like one: province or city, district, road and building number. Person names are found
from context ("my name is", "Dr.", "Sincerely,") and from a list of common given names; without
a language model this is the weakest detector.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from stdnum import iban, luhn
from stdnum.kr import brn, rrn
from stdnum.us import ssn

from guards.phones import DEFAULT_REGION, is_phone, korean_phones
from knowledge.language import HANGUL

NAMES_FILE = Path(__file__).parent / "data" / "given_names.txt"


@dataclass(frozen=True)
class Finding:
    kind: str
    start: int
    end: int
    value: str


def _ssn_ok(value: str) -> bool:
    return ssn.is_valid(re.sub(r"\D", "", value))  # stdnum's compact form keeps spaces


def _ip_ok(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _card_ok(value: str) -> bool:
    digits = re.sub(r"\D", "", value)
    return 12 <= len(digits) <= 19 and luhn.is_valid(digits)


def _brn_ok(value: str) -> bool:
    """stdnum checks a business registration number's form and parts, not its check digit (the
    National Tax Service's weights 1,3,7,1,3,7,1,3,5), so an order number like 123-45-67890
    would pass; the check digit is checked here."""
    digits = re.sub(r"\D", "", value)
    if not brn.is_valid(digits):
        return False
    total = (
        sum(w * int(d) for w, d in zip((1, 3, 7, 1, 3, 7, 1, 3, 5), digits, strict=False))
        + int(digits[8]) * 5 // 10
    )
    return (10 - total % 10) % 10 == int(digits[9])


_PROVINCE = (
    r"(?:서울|부산|대구|인천|광주|대전|울산|세종|경기|강원|충북|충남|전북|전남|경북|경남|제주|"
    r"충청[남북]|전라[남북]|경상[남북])(?:특별시|광역시|특별자치시|특별자치도|도|시)?"
)
KOREAN_ADDRESS = (
    rf"(?:{_PROVINCE}\s+(?:[가-힣]{{1,5}}[시군구]\s+){{1,2}}|(?:[가-힣]{{2,4}}[시군]\s+)?[가-힣]{{2,4}}구\s+)"
    r"(?:[가-힣]{1,5}[읍면동]\s+)?[가-힣\d]{1,12}(?:로|길)\s*(?:\d+(?:번)?길\s*)?\d+(?:-\d+)?"
    r"(?:\s*,?\s*\d+층|\s*,?\s*\d+동\s*\d+호|\s*,?\s*\d+호)?"
)
"""Province or city, district, road (로, 길) and building number: "서울특별시 강남구 테헤란로 123"."""


SECRET_PATTERNS = (
    r"\bsk-(?:proj-)?[A-Za-z0-9_\-]{20,}",  # OpenAI-style keys
    r"\bxox[abposr]-[A-Za-z0-9\-]{10,}",  # Slack tokens
    r"\bxapp-\d-[A-Za-z0-9\-]{10,}",
    r"\bAKIA[0-9A-Z]{16}\b",  # AWS access key ids
    r"\bgh[pousr]_[A-Za-z0-9]{30,}",  # GitHub tokens
    r"\bglpat-[A-Za-z0-9_\-]{20,}",  # GitLab tokens
    r"\bAIza[0-9A-Za-z_\-]{35}\b",  # Google API keys
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----",
    r"\beyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}",  # JWTs
    r"(?i:\b(?:password|passwd|pwd|passcode|api[_ ]?key|secret|token)\s*[:=]\s*\S{6,})",
)

# (kind, pattern, check): checked in this order; an earlier finding wins an overlap.
PATTERNS: tuple[tuple[str, str, object], ...] = (
    ("SECRET", "|".join(f"(?:{p})" for p in SECRET_PATTERNS), None),
    ("EMAIL", r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}\b", None),
    ("ADDRESS", KOREAN_ADDRESS, None),
    ("KR_RRN", r"(?<![\d-])\d{6}(?: ?- ?| )?[1-8]\d{6}(?![\d-])", rrn.is_valid),
    ("KR_BRN", r"(?<![\d-])\d{3}-\d{2}-\d{5}(?![\d-])", _brn_ok),
    (
        "IBAN",
        r"\b[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]{4}){2,7}(?: ?[A-Za-z0-9]{1,3})?\b",
        iban.is_valid,
    ),
    ("CREDIT_CARD", r"(?<!\+)\b\d(?:[ \-]?\d){11,18}\b", _card_ok),
    ("US_SSN", r"\b\d{3}[- ]\d{2}[- ]\d{4}\b", _ssn_ok),
    (
        "IP_ADDRESS",
        r"\b(?:\d{1,3}\.){3}\d{1,3}\b|\b(?:[0-9a-fA-F]{1,4}:){2,7}[0-9a-fA-F]{1,4}\b",
        _ip_ok,
    ),
    (
        "PHONE",
        r"(?<![\w/])(?:\+\d{1,3}[ .\-]?)?(?:\(\d{1,4}\)[ .\-]?\d{1,11}|\d{2,11})(?:[ .\-]\d{2,8}){0,4}"
        r"(?:\s?(?:x|ext\.?)\s?\d{1,5})?(?![\w/])",
        None,
    ),  # judged by guards/phones.py
    (
        "PERSON",
        r"(?:\b(?:Mr|Mrs|Ms|Miss|Dr|Prof|Herr|Frau|Mme|Sr|Sra)\.?\s+|\b(?i:my name is|i am|i'm|name:|"
        r"called|sincerely,|regards,|signed)\s+)([A-Z][a-z\u00C0-\u024F'\-]+(?:\s+[A-Z]\.?(?=\s))?"
        r"(?:\s+[A-Z][a-z\u00C0-\u024F'\-]+)?)",
        None,
    ),
)
_COMPILED = tuple((kind, re.compile(pattern), check) for kind, pattern, check in PATTERNS)


@lru_cache(maxsize=1)
def _given_names() -> frozenset[str]:
    return frozenset(
        line.strip()
        for line in NAMES_FILE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    )


_CAPITALISED = re.compile(
    r"\b([A-Z][a-z\u00C0-\u024F'\-]+)((?:\s+[A-Z]\.?(?=\s))?(?:\s+[A-Z][\w\u00C0-\u024F'\-]+){0,2})"
)


def find(text: str, phone_region: str = DEFAULT_REGION) -> list[Finding]:
    """Every finding, left to right, without overlaps. `phone_region`: where a number written
    without a country code is read as dialled from (PII_PHONE_REGION)."""
    found: list[Finding] = []
    taken: list[tuple[int, int]] = []

    def add(kind: str, start: int, end: int) -> None:
        if any(start < e and s < end for s, e in taken):
            return
        taken.append((start, end))
        found.append(Finding(kind, start, end, text[start:end]))

    for kind, pattern, check in _COMPILED:
        if kind == "PHONE":  # phonenumbers knows Korean numbering better than the generic pattern
            for start, end in korean_phones(text):
                add("PHONE", start, end)
            if HANGUL.search(text):
                continue  # in Korean text, order and receipt numbers (240315-1234567) outnumber foreign phones
        for match in pattern.finditer(text):
            group = 1 if kind == "PERSON" else 0
            value = match.group(group)
            if kind == "PHONE" and not is_phone(text, match.start(), match.end(), phone_region):
                continue
            if check is None or check(value):
                add(kind, match.start(group), match.end(group))
    names = _given_names()
    for match in _CAPITALISED.finditer(text):
        if match.group(1) in names:
            add("PERSON", match.start(), match.end())
    return sorted(found, key=lambda f: f.start)


def redact(text: str, phone_region: str = DEFAULT_REGION) -> tuple[str, list[Finding]]:
    """`text` with each finding replaced by its kind in brackets ("[EMAIL]")."""
    findings = find(text, phone_region)
    parts: list[str] = []
    cursor = 0
    for finding in findings:
        parts += [text[cursor : finding.start], f"[{finding.kind}]"]
        cursor = finding.end
    parts.append(text[cursor:])
    return "".join(parts), findings
