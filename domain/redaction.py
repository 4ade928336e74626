"""Redaction of personal data in public disclosures (ECL 44 public record, DSA Art 24(5)).

Pure: standard library only (plus domain.errors); every built-in regex is compiled once at import.

Two layers, as the peers suggest (see ../shared/reference/peers.md):

* **Field allow-list** (`redact_fields`, the DSA Transparency Database approach): a disclosure is a
  projection of the private record onto an explicit set of fields. A field nobody listed is
  dropped, so personal-data fields (names, addresses, contact details) cannot leak by being
  forgotten.
* **Free-text redaction** (`redact_text`, Lumen's approach): the human-written fields that do get
  published (explanations, grounds) are scanned for personal data, which is replaced by a marker.

Marker. A redacted span becomes ``[redacted:<category>]``, e.g. ``请联系[redacted:email]获取``.
It is ASCII and language-neutral on purpose: stored disclosures and exports stay the same for
every locale, and the public page localises it by matching `MARKER_PATTERN` (group 1 is the
category) and rendering e.g. "[已隐去 邮箱]" in zh-CN. Categories (`RedactionCategory`):

  ==================== ===================================================================
  email                addresses in ASCII, also glued to Chinese text ("请联系a@b.com获取"),
                       with a full-width at sign or dot (U+FF20, U+FF0E), or obfuscated as
                       "a [at] b [dot] com"
  phone                CN mobiles 1[3-9]x xxxx xxxx with or without +86 / 0086 / 86 and with
                       spaces or dashes; CN landlines (010-12345678, (0755) 8888 6666,
                       +86 10 8888 6666); international numbers with "+" and 8-15 digits
                       (+44 20 7946 0958, +1 (212) 555-0199); NANP numbers with separators
                       ((212) 555-0199, 212-555-0199). Full-width digits count as digits.
  cn_resident_id       PRC resident identity numbers: 18 characters, last may be X; only
                       redacted when the ISO 7064 MOD 11-2 check character, the province
                       code and the birth date (1900-2099) are valid, so order numbers and
                       other 18-digit strings survive. The 2023 foreigners' permanent
                       residence number (leading 9, same check) is covered. Not covered:
                       the legacy 15-digit format (expired since 2013), IDs split by spaces.
  bank_card            16-19 digits, contiguous or in groups of four, Luhn-valid and with a
                       card-network prefix (2[2-7] 35 4 5[1-5] 6); `redact_bank_cards`.
                       A heuristic: about 3 % of random 16-19 digit order numbers pass it.
  url_with_credentials the userinfo of scheme://user:pass@host (or scheme://token@host); the
                       scheme, host and path stay readable
  url                  any scheme:// or www. URL, only with `redact_urls` (the tenant hides
                       evidence URIs); the whole URL is then replaced, credentials included
  custom:<i>           a match of the tenant's i-th `disclosure.extra_redaction_patterns`
  manual               a reviewer's redaction (written by the disclosure service with
                       ``marker("manual")``); recognised and protected like the others
  ==================== ===================================================================

Not redacted (tested): SKU and order codes (SKU-2026-000123), registration numbers (TM 12345678,
ZL201910123456.7), prices, dates, times, version strings, IP addresses, EAN codes, URLs without
credentials, Nice classes, @handles without a domain, 18-digit numbers failing the ID check.
A number glued to a preceding ASCII letter (ZL2019..., SKU13800138000) is part of a code and is
left alone; that is the main false-negative trade-off, made to keep registration numbers intact.

Semantics:

* One combined scan per text for the built-in detectors (left to right, first alternative wins,
  validators reject candidates such as an 18-digit number with a bad check digit). Each tenant
  pattern runs as its own `finditer` (user regexes cannot be spliced into one alternation safely:
  inline flags, numbered back-references). Overlapping matches are merged into one redacted span
  whose category is that of the earliest (then longest, then built-in) match.
* Existing markers are protected: no detector rewrites ``[redacted:...]`` (a tenant pattern that
  overlaps one is trimmed around it), so redacting redacted text changes nothing.
* Idempotent by construction: a replacement changes the context of its neighbours (e.g. the
  phone in "a@b.com13800138000" is glued to "m" until the email becomes a marker), so
  `redact_text` rescans a changed text until nothing more matches. Each extra round replaces at
  least one unprotected character, so it terminates; in practice the second round is the last.
* `RedactionHit` spans are offsets into the **input** text (``text[start:end]`` is what was
  replaced), sorted and disjoint; the hit never carries the redacted content itself, so hits can
  be logged and stored next to the public record. Replacing each span of the input by
  ``marker(category)`` yields `Redacted.text` exactly.

Performance: the scanner is gated on the first characters detectors can start with, so most
positions of Chinese text cost one class test (~40 % faster than the ungated alternation).
On a shared 2-core dev box: 2 KB of notice text in ~0.5-0.8 ms, about twice that when it holds
personal data (the confirming second round); linear on hostile input (100 KB of dashed digit
groups, dotted labels, "+1 " or "a@" runs: 0.1-0.3 s). Tenant patterns are compiled once per
distinct pattern tuple.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import lru_cache
from typing import Protocol, cast

import re2

from domain.errors import FieldProblem, InvalidInput

__all__ = [
    "MARKER_PATTERN",
    "MAX_EXTRA_PATTERNS",
    "FieldRedaction",
    "Redacted",
    "RedactedRecord",
    "RedactionCategory",
    "RedactionHit",
    "RedactionRules",
    "TenantPattern",
    "compile_tenant_pattern",
    "custom_category",
    "is_valid_resident_id",
    "marker",
    "redact_fields",
    "redact_text",
    "rules_from_policy",
]


class _Match(Protocol):
    def start(self) -> int: ...
    def end(self) -> int: ...


class TenantPattern(Protocol):
    """What redaction needs of a compiled tenant pattern (RE2's, see compile_tenant_pattern)."""

    def finditer(self, text: str) -> Iterator[_Match]: ...


class RedactionCategory(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    CN_RESIDENT_ID = "cn_resident_id"
    BANK_CARD = "bank_card"
    URL_WITH_CREDENTIALS = "url_with_credentials"
    URL = "url"
    MANUAL = "manual"  # a reviewer's manual redaction; never produced by redact_text


# plain str values for hits (a StrEnum member would compare equal but repr noisily)
_CAT_EMAIL, _CAT_PHONE, _CAT_ID = RedactionCategory.EMAIL.value, RedactionCategory.PHONE.value, "cn_resident_id"
_CAT_CARD, _CAT_CREDENTIALS, _CAT_URL = "bank_card", "url_with_credentials", "url"

MAX_EXTRA_PATTERNS = 100
"""Tenant patterns per rule set; custom:<i> markers are recognised for i < 100 (policy allows 50)."""


def custom_category(index: int) -> str:
    """The category of the tenant's `index`-th extra pattern: ``custom:<index>``."""
    return f"custom:{index}"


def marker(category: str) -> str:
    """The text that replaces a redacted span: ``[redacted:<category>]``."""
    return f"[redacted:{category}]"


# Only real categories are protected: a fake marker such as "[redacted:zhangsan]" is not a marker.
_MARKER = r"\[redacted:(email|phone|cn_resident_id|bank_card|url_with_credentials|url|manual|custom:\d{1,2})\]"
MARKER_PATTERN = re.compile(_MARKER)
"""Matches a marker; group 1 is the category. For localising markers on the public page."""


@dataclass(frozen=True, slots=True)
class RedactionHit:
    """One redacted span: ``start:end`` in the input text, replaced by ``marker(category)``."""

    category: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Redacted:
    text: str
    hits: tuple[RedactionHit, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.hits)


@dataclass(frozen=True, slots=True)
class RedactionRules:
    """What to redact besides the built-in personal-data detectors.

    `extra_patterns`: the tenant's compiled patterns (hit category ``custom:<index>``).
    `redact_urls`: replace every URL, not only the credentials in it (evidence URIs hidden).
    `redact_bank_cards`: detect Luhn-valid card numbers (a heuristic; on by default).
    """

    extra_patterns: tuple[TenantPattern, ...] = ()
    redact_urls: bool = False
    redact_bank_cards: bool = True

    def __post_init__(self) -> None:
        if len(self.extra_patterns) > MAX_EXTRA_PATTERNS:
            raise InvalidInput(f"At most {MAX_EXTRA_PATTERNS} redaction patterns.", "extra_redaction_patterns")


def rules_from_policy(patterns: Sequence[str], hide_urls: bool) -> RedactionRules:
    """Rules for a tenant: `patterns` is `DisclosurePolicy.extra_redaction_patterns` (validated by
    the policy; compiled once per distinct tuple) and `hide_urls` is `not show_evidence_uris`."""
    return RedactionRules(extra_patterns=_compile_patterns(tuple(patterns)), redact_urls=hide_urls)


_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a bad pattern is the admin's typed error, not a line on stderr


# Python's Unicode classes spelled for RE2, whose \d \w \s are ASCII-only. \s: RE2's [\t\n\f\r ] plus the
# separators (Z*) plus what else str.isspace() accepts (\v, the information separators U+001C-U+001F, NEL).
_UNICODE_CLASS_BODY = {"d": r"\p{Nd}", "w": r"\p{L}\p{N}_", "s": r"\s\p{Z}\x0b\x1c-\x1f\x85"}
_UNICODE_OUTSIDE_CLASS = {
    "d": r"\p{Nd}", "D": r"\P{Nd}",
    "w": r"[\p{L}\p{N}_]", "W": r"[^\p{L}\p{N}_]",
    "s": f"[{_UNICODE_CLASS_BODY['s']}]", "S": f"[^{_UNICODE_CLASS_BODY['s']}]",
}
_HEX = frozenset("0123456789abcdefABCDEF")


def _to_re2(source: str) -> str:
    r"""`source`, written in Python `re` syntax, spelled so RE2 matches what Python would.

    One left-to-right scan that tracks backslash escapes and character classes (a `]` right after
    `[` or `[^` is literal, and so is `[` inside a class, which is escaped so RE2 does not read
    `[:alpha:]` as a POSIX class):

    * `\d \w \s` and their negations become Unicode classes, as in Python (RE2's are ASCII-only):
      `\d` is `\p{Nd}`, `\w` is `[\p{L}\p{N}_]`, `\s` adds `\p{Z}` and `\v`, U+001C-U+001F, U+0085.
      Inside a class `\d \w \s` are spliced in; `\D \W \S` there are refused (ValueError), since RE2
      cannot put a negated Unicode class inside another class: write `[^\d...]` or an alternation.
    * `\uXXXX` and `\UXXXXXXXX` become RE2's `\x{...}`; every other escape is kept (`\\d` stays a
      backslash and a `d`).

    Still different in RE2 (documented for admins, not translated): `\b` and `\B` are ASCII word
    boundaries (RE2 has no Unicode one, so `\b\d{6}\b` misses full-width digits next to CJK text or
    spaces); `$` matches only at the very end, not before a trailing newline; `a{,3}` is a literal
    text, not `a{0,3}`; code points unassigned in Python's Unicode database may be classified by
    RE2's newer tables.
    """
    out: list[str] = []
    in_class = False
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        if ch == "\\" and i + 1 < n:
            esc = source[i + 1]
            if esc in "uU":
                width = 4 if esc == "u" else 8
                digits = source[i + 2 : i + 2 + width]
                if len(digits) == width and all(c in _HEX for c in digits):
                    out.append(f"\\x{{{digits}}}")
                    i += 2 + width
                    continue
            if in_class and esc in "DWS":
                raise ValueError(f"\\{esc} inside a character class [...] is not supported; write [^...] or "
                                 f"an alternation such as (?:\\{esc}|x) instead")
            if in_class and esc in _UNICODE_CLASS_BODY:
                out.append(_UNICODE_CLASS_BODY[esc])
            elif not in_class and esc in _UNICODE_OUTSIDE_CLASS:
                out.append(_UNICODE_OUTSIDE_CLASS[esc])
            else:
                out.append(source[i : i + 2])
            i += 2
            continue
        if in_class:
            if ch == "]":
                in_class = False
            out.append("\\[" if ch == "[" else ch)
            i += 1
            continue
        out.append(ch)
        i += 1
        if ch == "[":
            in_class = True
            if i < n and source[i] == "^":
                out.append("^")
                i += 1
            if i < n and source[i] == "]":
                out.append("]")
                i += 1
    return "".join(out)


def compile_tenant_pattern(source: str) -> TenantPattern:
    r"""A tenant's pattern, written in Python `re` syntax, compiled by RE2, which matches in time linear
    in the text: an admin's pattern such as `(a|a)+$` cannot stall the process on a long notice, as
    Python's backtracking `re` would. `_to_re2` keeps Python's meaning (Unicode `\d \w \s`, `\u4e00`
    escapes) and lists what still differs; RE2 has no lookarounds or backreferences, and a pattern
    using them, or `\D \W \S` inside `[...]`, is refused (ValueError)."""
    re2_source = _to_re2(source)
    try:
        return cast(TenantPattern, re2.compile(re2_source, options=_RE2_OPTIONS))
    except re2.error as exc:
        detail = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise ValueError(f"not a supported regular expression (RE2 syntax, no lookarounds or backreferences): "
                         f"{detail}") from None


@lru_cache(maxsize=256)
def _compile_patterns(patterns: tuple[str, ...]) -> tuple[TenantPattern, ...]:
    compiled: list[TenantPattern] = []
    problems: list[FieldProblem] = []
    for index, source in enumerate(patterns):
        try:
            compiled.append(compile_tenant_pattern(source))
        except ValueError as exc:
            problems.append(FieldProblem(f"disclosure.extra_redaction_patterns.{index}", str(exc)))
    if problems:
        raise InvalidInput.from_problems(problems)
    return tuple(compiled)


# ----- built-in detectors ----------------------------------------------------------------------

_NOT_AFTER_ALNUM = r"(?<![\dA-Za-z\uff21-\uff3a\uff41-\uff5a])"  # not glued to a preceding letter or digit
_NOT_BEFORE_ALNUM = r"(?![\dA-Za-z\uff21-\uff3a\uff41-\uff5a])"
_SEP = r"[ \u00a0\u3000\-\uff0d]"  # one space (ASCII, no-break, ideographic) or dash inside a number

_OPEN, _CLOSE = r"[ ]?[\[(\uff08\u3010][ ]?", r"[ ]?[\])\uff09\u3011][ ]?"
_EMAIL = (
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]+"
    rf"(?:[@\uff20]|{_OPEN}[Aa][Tt]{_CLOSE})"
    rf"(?:[A-Za-z0-9\-]+(?:[.\uff0e]|{_OPEN}[Dd][Oo][Tt]{_CLOSE}))+"
    r"(?:[A-Za-z]{2,24}|xn--[A-Za-z0-9\-]{2,59})(?![A-Za-z])"
)

_SCHEME = r"(?<![A-Za-z0-9+.\-])[A-Za-z][A-Za-z0-9+.\-]{0,15}://"
# greedy up to the end of the authority, then back to its last "@" (passwords may contain "@")
_CREDENTIALS = rf"{_SCHEME}(?P<userinfo>[A-Za-z0-9\-._~!$&'()*+=:%@]+)@"
_URL = (
    rf"(?:{_SCHEME}|(?<![A-Za-z0-9.\-])[Ww]{{3}}\.)"
    r"[A-Za-z0-9\-._~:/?#@!$&'()*+,;=%]*[A-Za-z0-9\-_~/#@$&*+=%]"  # no trailing . , ; : ! ? ' ( )
)
_HAS_USERINFO = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^/?#]*@")

# 16-19 digits (cards, contiguous or in groups of 4) or 17 digits + X (resident ID); classified
# in Python, because the two overlap (an 18-digit string failing the ID check may be a card).
_LONG_NUMBER = (
    rf"{_NOT_AFTER_ALNUM}(?:\d{{4}}(?:[ \-]?\d{{4}}){{3}}(?:[ \-]?\d{{1,3}})?|\d{{17}}[Xx\uff38\uff58])"
    rf"{_NOT_BEFORE_ALNUM}"
)
_CN_MOBILE = (
    rf"{_NOT_AFTER_ALNUM}(?:(?:\(?[+\uff0b]?86\)?|\(?0086\)?){_SEP}?)?"
    rf"[1\uff11][3-9\uff13-\uff19]\d(?:{_SEP}?\d{{4}}){{2}}(?!\d)"
)
_AREA = r"(?:10|2\d|[3-9]\d{2})"
_CN_LANDLINE = (
    rf"{_NOT_AFTER_ALNUM}(?:(?:[+\uff0b]|00)86{_SEP}?\(?0?{_AREA}\)?|\(0{_AREA}\)|0{_AREA})"
    rf"{_SEP}?[1-9]\d{{2,3}}{_SEP}?\d{{4}}(?!\d)"
)
# "+" then digit groups separated by one space/dash or a "(..)" trunk/area part; 8-15 digits are
# checked in Python (the longest prefix of whole groups that fits is redacted).
_INTERNATIONAL = rf"(?<![\dA-Za-z+\uff0b])[+\uff0b]\d+(?:(?:{_SEP}?\(\d{{1,4}}\){_SEP}?|{_SEP})\d+)*"
_NANP = rf"{_NOT_AFTER_ALNUM}(?:1[ \-.]?)?(?:\([2-9]\d{{2}}\)[ ]?|[2-9]\d{{2}}[ \-.])[2-9]\d{{2}}[ \-.]\d{{4}}(?!\d)"


# Every detector starts with one of these characters; the gate lets most positions of Chinese
# text fail after one class test instead of one attempt per detector.
_FIRST_CHAR = r"(?=[\[\dA-Za-z._%+\-(\uff0b])"


def _scanner(url_alternative: str) -> re.Pattern[str]:
    return re.compile(
        _FIRST_CHAR
        + "(?:"
        + "|".join(
            (
                f"(?P<marker>{_MARKER})",
                url_alternative,
                f"(?P<email>{_EMAIL})",
                # the numeric detectors, behind a gate of their own first characters. `long` is
                # last: when its validators reject a candidate the scan moves one character on,
                # so no other detector may still be untried at that position ("0755-2000 0000
                # 0000" is a landline and a few digits, not a failed card).
                r"(?=[\d(+\uff0b])(?:"
                + "|".join(
                    (
                        f"(?P<mobile>{_CN_MOBILE})",
                        f"(?P<landline>{_CN_LANDLINE})",
                        f"(?P<intl>{_INTERNATIONAL})",
                        f"(?P<nanp>{_NANP})",
                        f"(?P<long>{_LONG_NUMBER})",
                    )
                )
                + ")",
            )
        )
        + ")"
    )


_SCAN_KEEP_URLS = _scanner(f"(?P<creds>{_CREDENTIALS})")
_SCAN_HIDE_URLS = _scanner(f"(?P<url>{_URL})")
_DIGIT_RUN = re.compile(r"\d+")
_CARD_SEPARATORS = str.maketrans("", "", " -")

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_PROVINCES = frozenset(
    {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46}
    | {50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83}
)


def _ascii_digits(value: str) -> str:
    return "".join(str(int(ch)) if ch.isdecimal() else ch for ch in value)


def is_valid_resident_id(value: str) -> bool:
    """An 18-character PRC resident ID (or 2023 permanent residence number): province code,
    birth date 1900-2099 and the ISO 7064 MOD 11-2 check character (X/x for 10)."""
    if len(value) != 18:
        return False
    value = _ascii_digits(value).upper().replace("\uff38", "X")
    body, check = value[:17], value[17]
    if not body.isascii() or not body.isdigit():
        return False
    province = int(body[1:3]) if body[0] == "9" else int(body[:2])
    if province not in _PROVINCES:
        return False
    year, month, day = int(body[6:10]), int(body[10:12]), int(body[12:14])
    if not 1900 <= year <= 2099:
        return False
    try:
        date(year, month, day)
    except ValueError:
        return False
    total = sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == check


def _is_card(digits: str) -> bool:
    if not (16 <= len(digits) <= 19 and digits.isascii() and digits.isdigit()):
        return False
    first, second = digits[0], digits[1]
    if not (
        first in "46"
        or (first == "5" and second in "12345")
        or (first == "2" and second in "234567")
        or (first == "3" and second == "5")
    ):
        return False
    total = 0
    for position, ch in enumerate(reversed(digits)):
        d = int(ch)
        if position % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _classify_long(raw: str, rules: RedactionRules) -> str | None:
    if len(raw) == 18 and is_valid_resident_id(raw):
        return _CAT_ID
    if rules.redact_bank_cards and _is_card(_ascii_digits(raw).translate(_CARD_SEPARATORS)):
        return _CAT_CARD
    return None


def _international_end(text: str, start: int, end: int) -> int | None:
    """End of the longest prefix of whole digit groups holding at most 15 digits, if >= 8."""
    digits, best = 0, None
    for group in _DIGIT_RUN.finditer(text, start, end):
        digits += group.end() - group.start()
        if digits > 15:
            break
        if digits >= 8:
            best = group.end()
    return best


# A region: (start, end, category, rank); rank orders overlapping matches (built-in first).
_Region = tuple[int, int, str, int]


def _builtin(text: str, rules: RedactionRules) -> tuple[list[_Region], list[tuple[int, int]]]:
    scan = _SCAN_HIDE_URLS if rules.redact_urls else _SCAN_KEEP_URLS
    regions: list[_Region] = []
    markers: list[tuple[int, int]] = []
    pos = 0
    while (m := scan.search(text, pos)) is not None:
        kind, start, end = m.lastgroup, m.start(), m.end()
        category: str | None = None
        if kind == "marker":
            markers.append((start, end))
        elif kind == "creds":
            regions.append((m.start("userinfo"), m.end("userinfo"), _CAT_CREDENTIALS, 0))
        elif kind == "url":
            category = _CAT_CREDENTIALS if _HAS_USERINFO.match(m[0]) else _CAT_URL
        elif kind == "email":
            category = _CAT_EMAIL
        elif kind == "long":
            category = _classify_long(m[0], rules)
        elif kind == "intl":
            found = _international_end(text, start, end)
            if found is not None:
                category, end = _CAT_PHONE, found
        else:  # mobile, landline, nanp
            category = _CAT_PHONE
        if category is not None:
            regions.append((start, end, category, 0))
        # after a validator's rejection other detectors may still match inside the candidate
        pos = end if kind in ("marker", "creds") or category is not None else start + 1
    return regions, markers


def _outside_markers(start: int, end: int, markers: list[tuple[int, int]], ends: list[int]) -> list[tuple[int, int]]:
    """[start, end) minus the marker spans, as non-empty pieces."""
    pieces: list[tuple[int, int]] = []
    i = bisect_right(ends, start)
    cursor = start
    while i < len(markers) and markers[i][0] < end:
        if markers[i][0] > cursor:
            pieces.append((cursor, markers[i][0]))
        cursor = max(cursor, markers[i][1])
        i += 1
    if cursor < end:
        pieces.append((cursor, end))
    return pieces


def _find(text: str, rules: RedactionRules) -> list[tuple[int, int, str]]:
    """Disjoint, sorted spans to redact in `text` (never overlapping an existing marker)."""
    regions, markers = _builtin(text, rules)
    if rules.extra_patterns:
        ends = [e for _, e in markers]
        for index, pattern in enumerate(rules.extra_patterns, start=1):
            category = custom_category(index - 1)
            for m in pattern.finditer(text):
                if m.end() > m.start():
                    for s, e in _outside_markers(m.start(), m.end(), markers, ends):
                        regions.append((s, e, category, index))
        regions.sort(key=lambda r: (r[0], -r[1], r[3]))
    merged: list[tuple[int, int, str]] = []
    for start, end, category, _ in regions:
        if merged and start < merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end, merged[-1][2])
        else:
            merged.append((start, end, category))
    return merged


def redact_text(text: str, rules: RedactionRules) -> Redacted:
    """Replace personal data in `text` by markers; see the module docstring for what and how."""
    spans = _find(text, rules)
    if not spans:
        return Redacted(text)
    hits = [RedactionHit(category, start, end) for start, end, category in spans]
    # markers this call inserted: (start, end) in the current text and (start, end) in the input
    inserted: list[tuple[int, int, int, int]] = []
    current = text
    while spans:
        # later rounds only match unprotected text, i.e. input text shifted by the markers before it
        starts = [m[0] for m in inserted]
        shifts = [0]
        for cur_start, cur_end, in_start, in_end in inserted:
            shifts.append(shifts[-1] + (in_end - in_start) - (cur_end - cur_start))
        parts: list[str] = []
        placed: list[tuple[int, int, int, int]] = []
        pos = delta = j = 0
        for start, end, category in spans:
            shift = shifts[bisect_right(starts, start)]
            if current is not text:
                hits.append(RedactionHit(category, start + shift, end + shift))
            while j < len(inserted) and inserted[j][0] < start:
                cs, ce, i_s, i_e = inserted[j]
                placed.append((cs + delta, ce + delta, i_s, i_e))
                j += 1
            mark = marker(category)
            parts += (current[pos:start], mark)
            placed.append((start + delta, start + delta + len(mark), start + shift, end + shift))
            delta += len(mark) - (end - start)
            pos = end
        for cs, ce, i_s, i_e in inserted[j:]:
            placed.append((cs + delta, ce + delta, i_s, i_e))
        parts.append(current[pos:])
        current, inserted = "".join(parts), placed
        spans = _find(current, rules)
    hits.sort(key=lambda h: h.start)
    return Redacted(current, tuple(hits))


# ----- records ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldRedaction:
    """A redaction in a published record: `field` is a dotted path (`grounds.2`, `explanation.en`)."""

    field: str
    category: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class RedactedRecord:
    fields: dict[str, object]
    redactions: tuple[FieldRedaction, ...] = ()


def redact_fields(
    record: Mapping[str, object],
    allow: frozenset[str],
    free_text: frozenset[str],
    rules: RedactionRules,
) -> RedactedRecord:
    """Project `record` onto the `allow` list (every other field is dropped) and redact the
    allowed fields named in `free_text`.

    A free-text value may be a str, None, a list/tuple of those, or a mapping of str keys to
    those (e.g. per-locale texts). Anything else raises TypeError: publishing an unredacted
    value of an unexpected shape would fail open. Allowed fields not in `free_text` are copied
    as they are, so every human-written string must be listed in `free_text`.
    """
    fields: dict[str, object] = {}
    redactions: list[FieldRedaction] = []
    for name, value in record.items():
        if name not in allow:
            continue
        fields[name] = _redact_value(value, name, rules, redactions) if name in free_text else value
    return RedactedRecord(fields, tuple(redactions))


def _redact_value(value: object, path: str, rules: RedactionRules, out: list[FieldRedaction]) -> object:
    if value is None:
        return None
    if isinstance(value, str):
        result = redact_text(value, rules)
        out.extend(FieldRedaction(path, h.category, h.start, h.end) for h in result.hits)
        return result.text
    if isinstance(value, list | tuple):
        items = [_redact_value(item, f"{path}.{i}", rules, out) for i, item in enumerate(value)]
        return items if isinstance(value, list) else tuple(items)
    if isinstance(value, Mapping):
        redacted: dict[str, object] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"free-text field {path!r} has a non-string key")
            redacted[key] = _redact_value(item, f"{path}.{key}", rules, out)
        return redacted
    raise TypeError(f"free-text field {path!r} holds a {type(value).__name__}, not text")
