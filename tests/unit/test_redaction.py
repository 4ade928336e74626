"""Redaction of public disclosures: a corpus of tricky strings (personal data that must go, look-alikes
that must stay), tenant patterns, the field allow-list, idempotence and properties.

Valid resident IDs and card numbers are generated here with check digits computed independently of
domain.redaction (ISO 7064 MOD 11-2 weights as 2^k mod 11; Luhn by doubling).
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, timedelta

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from domain.disclosure import check_manual_redaction
from domain.errors import InvalidInput
from domain.notices import MAX_TEXT
from domain.policy import DisclosurePolicy
from domain.redaction import (
    MARKER_PATTERN,
    FieldRedaction,
    Redacted,
    RedactionHit,
    RedactionRules,
    compile_tenant_pattern,
    is_valid_resident_id,
    marker,
    redact_fields,
    redact_text,
    rules_from_policy,
)

RULES = RedactionRules()
HIDE_URLS = RedactionRules(redact_urls=True)


# ----- generators (independent of the code under test) -----------------------------------------


def id_check_char(body17: str) -> str:
    """ISO 7064 MOD 11-2: weight of the i-th digit is 2^(17-i) mod 11; sum + check == 1 (mod 11)."""
    total = sum(int(d) * pow(2, 17 - i, 11) for i, d in enumerate(body17))
    check = (12 - total % 11) % 11
    return "X" if check == 10 else str(check)


def resident_id(region: str = "110105", born: date = date(1949, 12, 31), seq: str = "002") -> str:
    body = f"{region}{born:%Y%m%d}{seq}"
    return body + id_check_char(body)


def with_wrong_check(valid: str) -> str:
    """The same ID with another check character that is not a Luhn-valid card number either."""
    for c in "0123456789X":
        candidate = valid[:17] + c
        if c != valid[17] and not luhn_ok(candidate):
            return candidate
    raise AssertionError("unreachable")


def luhn_ok(number: str) -> bool:
    if not number.isdigit():
        return False
    digits = [int(d) for d in number]
    for i in range(len(digits) - 2, -1, -2):
        digits[i] = sum(divmod(digits[i] * 2, 10))
    return sum(digits) % 10 == 0


def luhn_complete(prefix: str) -> str:
    return next(prefix + d for d in "0123456789" if luhn_ok(prefix + d))


# An ID whose check character is X (search a few sequence numbers for one).
ID_X = next(v for v in (resident_id("440305", date(1990, 2, 28), f"{n:03d}") for n in range(200)) if v[-1] == "X")
ID_DIGIT = next(v for v in (resident_id("310104", date(2001, 7, 1), f"{n:03d}") for n in range(200)) if v[-1] != "X")
CARD = luhn_complete("622202123456789012")  # 19-digit UnionPay
CARD_16 = luhn_complete("411111111111111")  # Visa test number


def test_generated_ids_are_what_the_tests_think() -> None:
    assert ID_X.endswith("X") and len(ID_X) == 18
    assert resident_id() == "11010519491231002X"  # the well-known specimen number
    assert is_valid_resident_id(ID_X) and is_valid_resident_id(ID_X.lower()) and is_valid_resident_id(ID_DIGIT)
    assert not is_valid_resident_id(with_wrong_check(ID_DIGIT))
    assert not is_valid_resident_id(resident_id(born=date(1949, 12, 31))[:10] + "1332" + "0021")  # 13th month
    assert not is_valid_resident_id(resident_id(region="990105"))  # no such province
    assert CARD_16 == "4111111111111111" and luhn_ok(CARD)


# ----- corpus: personal data that must be redacted ---------------------------------------------

REDACT: list[tuple[str, str, str]] = [
    # (text, the personal data in it, category)
    ("请联系zhang.san@example.com获取授权书", "zhang.san@example.com", "email"),
    ("邮箱：li_si+ip@corp.example.com.cn。", "li_si+ip@corp.example.com.cn", "email"),
    ("全角地址wang.wu\uff20example.cn，谢谢", "wang.wu\uff20example.cn", "email"),
    ("Contact: legal-team@brand.co.uk.", "legal-team@brand.co.uk", "email"),
    ("写信至 ip-team [at] example [dot] com 即可", "ip-team [at] example [dot] com", "email"),
    ("QQ邮箱13800138000@qq.com", "13800138000@qq.com", "email"),
    ("<a@b.io>", "a@b.io", "email"),
    ("电话13800138000联系", "13800138000", "phone"),
    ("手机：+86 138 0013 8000", "+86 138 0013 8000", "phone"),
    ("手机 +86-138-0013-8000。", "+86-138-0013-8000", "phone"),
    ("(+86)13800138000", "(+86)13800138000", "phone"),
    ("0086 13912345678", "0086 13912345678", "phone"),
    ("8613800138000", "8613800138000", "phone"),
    ("请拨138-0013-8000", "138-0013-8000", "phone"),
    ("请拨 138 0013 8000 咨询", "138 0013 8000", "phone"),
    ("全角１３８００１３８０００号码", "１３８００１３８０００", "phone"),
    ("座机010-12345678", "010-12345678", "phone"),
    ("座机(0755) 8888 6666转", "(0755) 8888 6666", "phone"),
    ("深圳0755-88886666", "0755-88886666", "phone"),
    ("0755-20000000 0000", "0755-20000000", "phone"),  # not a 16-digit card candidate (found by fuzzing)
    ("北京 +86 10 8888 6666", "+86 10 8888 6666", "phone"),
    ("UK office +44 20 7946 0958.", "+44 20 7946 0958", "phone"),
    ("US +1 (212) 555-0199, ext", "+1 (212) 555-0199", "phone"),
    ("Berlin +49 30 1234567", "+49 30 1234567", "phone"),
    ("call (212) 555-0199 today", "(212) 555-0199", "phone"),
    ("call 212-555-0199 today", "212-555-0199", "phone"),
    (f"身份证号{ID_X}，", ID_X, "cn_resident_id"),
    (f"身份证号{ID_X.lower()}", ID_X.lower(), "cn_resident_id"),
    (f"ID: {ID_DIGIT}.", ID_DIGIT, "cn_resident_id"),
    ("https://admin:s3cret@shop.example.com/x?a=1", "admin:s3cret", "url_with_credentials"),
    ("ftp://user:p@ss@files.example.com/", "user:p@ss", "url_with_credentials"),
    ("clone https://ghp_abc123@github.com/org/repo", "ghp_abc123", "url_with_credentials"),
    (f"退款卡号{CARD}", CARD, "bank_card"),
    ("Visa 4111 1111 1111 1111 exp", "4111 1111 1111 1111", "bank_card"),
]


@pytest.mark.parametrize(("text", "secret", "category"), REDACT)
def test_personal_data_is_redacted(text: str, secret: str, category: str) -> None:
    result = redact_text(text, RULES)
    assert secret not in result.text
    assert marker(category) in result.text
    start = text.index(secret)
    assert result.hits == (RedactionHit(category, start, start + len(secret)),)
    assert result.text == text[:start] + marker(category) + text[start + len(secret) :]
    assert secret not in repr(result.hits)  # hits can be logged: spans, never the content


def test_redacted_text_reads_naturally_in_chinese() -> None:
    text = "请联系zhang.san@example.com或致电+86 138 0013 8000获取授权书。"
    assert redact_text(text, RULES).text == "请联系[redacted:email]或致电[redacted:phone]获取授权书。"


def test_several_kinds_in_one_text_are_reported_in_order() -> None:
    text = f"张先生，手机13800138000，邮箱zs@example.com，身份证{ID_X}，卡号{CARD}。"
    result = redact_text(text, RULES)
    assert [h.category for h in result.hits] == ["phone", "email", "cn_resident_id", "bank_card"]
    assert result.text == (
        "张先生，手机[redacted:phone]，邮箱[redacted:email]，身份证[redacted:cn_resident_id]，"
        "卡号[redacted:bank_card]。"
    )


def test_url_credentials_keep_the_rest_of_the_url_and_still_scan_it() -> None:
    text = "证据 https://u:pw@host.example.com/a?contact=x@y.com 见附件"
    assert redact_text(text, RULES).text == (
        "证据 https://[redacted:url_with_credentials]@host.example.com/a?contact=[redacted:email] 见附件"
    )


def test_hiding_urls_replaces_whole_urls() -> None:
    text = "链接https://item.taobao.com/item.htm?id=623456789012。另见 www.example.com/p/1, 以及 https://u:p@h.com/x)"
    result = redact_text(text, HIDE_URLS)
    assert result.text == "链接[redacted:url]。另见 [redacted:url], 以及 [redacted:url_with_credentials])"
    assert redact_text("请联系a@b.com", HIDE_URLS).text == "请联系[redacted:email]"


def test_bank_cards_can_be_switched_off() -> None:
    assert redact_text(f"卡号{CARD}", RedactionRules(redact_bank_cards=False)).text == f"卡号{CARD}"


# ----- corpus: look-alikes that must survive ---------------------------------------------------

bad_id = with_wrong_check(ID_DIGIT)
KEEP = [
    "订单 SKU-2026-000123 已发货",
    "SKU-13800-138000",
    "商标注册号 TM 12345678，第12345678号",
    "专利号 ZL201910123456.7 与 ZL 2019 1 0123456.7、CN201910123456.7",
    "售价¥1388.00，原价￥12,888.00，USD 1,299.99",
    "日期2026-10-01至2026/12/31 23:59:59，2026年10月1日",
    "版本 v2.13.800，build 13.8.0.13800",
    "https://item.taobao.com/item.htm?id=623456789012",
    "https://www.example.com/products/abc?color=red&size=42",
    "https://item.jd.com/100012043978.html",
    "第25类、第35类；Nice class 9, 35 and 42",
    f"订单号{bad_id}",  # 18 digits, wrong check character
    "订单号 2026100112345678901",  # 19 digits, not Luhn-valid
    "订单号 4200001234567890123456789012",  # 28-digit payment transaction number
    "EAN 6901234567892, ISBN 978-7-111-54742-6",
    "服务器 192.168.100.200:8080",
    "邮编100086，微博@品牌官方，a@b 不是邮箱",
    "时间 12:30:45，数量 1380013800 件",  # 10 digits
    "型号ABC13800138000",  # glued to letters: a product code
    "注册号 2019 1 0123456.7",
]


@pytest.mark.parametrize("text", KEEP)
def test_look_alikes_are_not_redacted(text: str) -> None:
    assert luhn_ok(bad_id) is False
    assert redact_text(text, RULES) == Redacted(text, ())


def test_an_id_with_a_wrong_check_digit_is_left_but_the_valid_one_goes() -> None:
    text = f"{ID_DIGIT} {with_wrong_check(ID_DIGIT)}"
    assert redact_text(text, RULES).text == f"[redacted:cn_resident_id] {with_wrong_check(ID_DIGIT)}"


# ----- tenant patterns -------------------------------------------------------------------------


def test_tenant_patterns_are_redacted_with_their_index() -> None:
    rules = rules_from_policy([r"客户[\u4e00-\u9fff]{2,3}", r"\bINV-\d{6}\b"], hide_urls=False)
    result = redact_text("客户张三，发票 INV-123456。", rules)
    assert result.text == "[redacted:custom:0]，发票 [redacted:custom:1]。"
    assert [h.category for h in result.hits] == ["custom:0", "custom:1"]


def test_a_pattern_that_backtracks_in_python_redacts_a_long_text() -> None:
    """(a|a)+$ takes Python's re 2^n steps on n a's without a match; RE2 answers at once (a hang here is
    the failure)."""
    text = "a" * 5_000 + "!"
    assert redact_text(text, rules_from_policy(["(a|a)+$"], hide_urls=False)).text == text
    assert redact_text("a" * 5_000, rules_from_policy(["(a|a)+$"], hide_urls=False)).text == "[redacted:custom:0]"


def test_overlapping_matches_merge_into_one_span() -> None:
    rules = rules_from_policy([r"联系人\S+"], hide_urls=False)
    text = "联系人王五13800138000。"  # the tenant pattern swallows the phone
    result = redact_text(text, rules)
    assert result.text == "[redacted:custom:0]"
    assert result.hits == (RedactionHit("custom:0", 0, len(text)),)
    # a built-in match starting first keeps its category and absorbs the overlap
    result = redact_text("13800138000号", rules_from_policy([r"8000号"], hide_urls=False))
    assert result.text == "[redacted:phone]"


def test_tenant_patterns_cannot_rewrite_markers_or_loop() -> None:
    for pattern in (r"redacted", r"\[", r"[a-z:]+", r"\S+", r".*"):
        rules = rules_from_policy([pattern], hide_urls=False)
        once = redact_text("见 a@b.com 与 [redacted:phone] 后文", rules)
        assert "a@b.com" not in once.text and "[redacted:phone]" in once.text
        assert redact_text(once.text, rules).text == once.text


def test_empty_matches_are_ignored() -> None:
    assert redact_text("abc", rules_from_policy([r"x*"], hide_urls=False)) == Redacted("abc")


def test_rules_from_policy_compiles_once_and_reports_bad_patterns() -> None:
    policy = DisclosurePolicy(extra_redaction_patterns=(r"\b\d{3}-\d{2}-\d{4}\b",), show_evidence_uris=False)
    rules = rules_from_policy(policy.extra_redaction_patterns, hide_urls=not policy.show_evidence_uris)
    assert rules.redact_urls and len(rules.extra_patterns) == 1
    assert rules_from_policy([r"\b\d{3}-\d{2}-\d{4}\b"], False).extra_patterns is rules.extra_patterns
    assert redact_text("SSN 123-45-6789", rules).text == "SSN [redacted:custom:0]"
    with pytest.raises(InvalidInput) as info:
        rules_from_policy(["ok", "[unclosed"], hide_urls=False)
    assert info.value.field == "disclosure.extra_redaction_patterns.1"


# Admins write Python `re` syntax; RE2's \d \w \s are ASCII-only, so compile_tenant_pattern translates them.
def _custom(pattern: str, text: str) -> str:
    return redact_text(text, rules_from_policy([pattern], hide_urls=False)).text


def test_unicode_digits_words_and_spaces_match_as_in_python() -> None:
    assert _custom(r"\d{6}", "单号１２３４５６。") == "单号[redacted:custom:0]。"  # full-width digits
    assert _custom(r"客户\w{2}", "客户张三，你好") == "[redacted:custom:0]，你好"
    assert _custom(r"甲\s乙", "甲\u3000乙") == "[redacted:custom:0]"  # ideographic space
    assert _custom(r"[\d-]+", "编号 １２-３４ 止") == "编号 [redacted:custom:0] 止"
    assert _custom(r"[^\s\d]+", "１２张三\u3000") == "１２[redacted:custom:0]\u3000"


@pytest.mark.parametrize(
    ("pattern", "text"),
    [(r"\D+", "１２张三３"), (r"\W+", "张三\u3000，李四"), (r"\S+", "张三\u3000李四\xa0王五"), (r"a\Db", "a١b a张b")],
)
def test_negated_classes_outside_brackets_match_as_in_python(pattern: str, text: str) -> None:
    spans = [(m.start(), m.end()) for m in compile_tenant_pattern(pattern).finditer(text)]
    assert spans == [m.span() for m in re.finditer(pattern, text)] and spans


@pytest.mark.parametrize("pattern", [r"[\D]", r"[a\W]", r"[^\S]"])
def test_negated_classes_inside_brackets_are_refused_with_a_typed_problem(pattern: str) -> None:
    with pytest.raises(ValueError, match="inside a character class"):
        compile_tenant_pattern(pattern)
    with pytest.raises(InvalidInput) as info:
        rules_from_policy(["ok", pattern], hide_urls=False)
    assert info.value.field == "disclosure.extra_redaction_patterns.1"
    assert "inside a character class" in info.value.problems[0].message


def test_escapes_other_than_classes_are_kept() -> None:
    assert _custom(r"\\d", r"a\d１") == "a[redacted:custom:0]１"  # an escaped backslash, then a literal d
    assert _custom(r"\u5f20\U00004e09", "张三") == "[redacted:custom:0]"
    assert _custom(r"[\u4e00-\u9fff]+\.", "a张三.b") == "a[redacted:custom:0]b"
    assert _custom(r"[]\d]+", "x]１]") == "x[redacted:custom:0]"  # "]" first in a class is literal
    assert _custom(r"[[:a]+", "x[:a") == "x[redacted:custom:0]"  # "[" in a class is literal, not POSIX


def test_word_boundaries_stay_ascii_as_documented() -> None:
    """RE2 has no Unicode \\b: it works between ASCII word characters and others only."""
    assert _custom(r"\bINV-\d{6}\b", "发票 INV-123456 号") == "发票 [redacted:custom:0] 号"
    # Python's re would match both: a full-width digit is no ASCII word character, so no \b touches it
    assert _custom(r"\b\d{6}\b", "单号 １２３４５６ 止") == "单号 １２３４５６ 止"
    assert _custom(r"\bINV-\d{6}\b", "INV-１２３４５６") == "INV-１２３４５６"


PYTHON_PATTERNS = [
    r"\d+", r"\d{6}", r"\D+", r"\w+", r"\W+", r"\s+", r"\S+", r"[\d-]+", r"[\w.]+", r"[^\d\s]+", r"[^\w]+",
    r"客户\w{2}", r"\\d", r"[\s\d]{2,}", r"[]a\d]+", r"[^]\w]+", r"[\u4e00-\u9fff]+", r"\w+@\w+", r"\S+\s\S+",
    r".{3}", r"a\Db", r"[x[]\W", r"\u3000\s*\d",
]
UNICODE_TEXT = st.text(
    # code points Python 3.11's Unicode database (14.0) knows; RE2's newer tables may classify later ones
    alphabet=st.one_of(
        st.sampled_from("１２３٣४０a_Z9-.@]\\d[x客户张三\u3000\xa0\x0b\x1c\x85\n\u2028Ⅻ½é"),
        st.characters(exclude_categories=("Cs", "Cn")),
    ),
    max_size=40,
)


@settings(max_examples=500, deadline=None)
@given(pattern=st.sampled_from(PYTHON_PATTERNS), text=UNICODE_TEXT)
@example(pattern=r"\d{6}", text="１２３４５６")
@example(pattern=r"\s+", text="\t\x0b\x1c\x1f\x85\u3000\u2029")
def test_tenant_patterns_match_exactly_what_python_re_matches(pattern: str, text: str) -> None:
    """The guarantee: an admin's pattern, written and tried in Python's re, finds the same spans under RE2."""
    re2_spans = [(m.start(), m.end()) for m in compile_tenant_pattern(pattern).finditer(text)]
    assert re2_spans == [m.span() for m in re.finditer(pattern, text)]


def test_too_many_patterns_are_refused() -> None:
    with pytest.raises(InvalidInput):
        RedactionRules(extra_patterns=tuple(re.compile(f"p{i}") for i in range(101)))


# ----- markers and idempotence -----------------------------------------------------------------


def test_markers_are_stable_and_localisable() -> None:
    text = "[redacted:email] [redacted:custom:7] [redacted:manual] [redacted:13800138000]"
    result = redact_text(text, rules_from_policy([r"[a-z]+"], hide_urls=False))
    # real markers (a reviewer's manual one too) stay; a fake "marker" hiding a phone number is not trusted
    assert result.text == "[redacted:email] [redacted:custom:7] [redacted:manual] [[redacted:custom:0]:[redacted:phone]]"
    assert [m.group(1) for m in MARKER_PATTERN.finditer(result.text)] == [
        "email", "custom:7", "manual", "custom:0", "phone"
    ]


def test_context_created_by_a_replacement_is_rescanned() -> None:
    # "m" glues the phone to a word until the email in front of it becomes a marker
    text = "x@y.com13800138000"
    result = redact_text(text, RULES)
    assert result.text == "[redacted:email][redacted:phone]"
    assert result.hits == (RedactionHit("email", 0, 7), RedactionHit("phone", 7, 18))


@pytest.mark.parametrize("text", [t for t, _, _ in REDACT] + KEEP)
def test_redacting_twice_changes_nothing(text: str) -> None:
    for rules in (RULES, HIDE_URLS):
        once = redact_text(text, rules)
        assert redact_text(once.text, rules) == Redacted(once.text, ())


# ----- records: the allow-list projection ------------------------------------------------------


def test_fields_outside_the_allow_list_are_dropped_and_free_text_is_redacted() -> None:
    record: dict[str, object] = {
        "kind": "notice",
        "right_type": "trademark",
        "explanation": "侵权商品，联系 zs@example.com",
        "grounds": ["电话13800138000", None],
        "decision_facts": {"zh-CN": f"身份证{ID_X}", "en": "no personal data"},
        "complainant_legal_name": "张三",
        "contact_email": "zs@example.com",
        "contact_phone": "13800138000",
        "some_new_field": "added later and forgotten",
    }
    allow = frozenset({"kind", "right_type", "explanation", "grounds", "decision_facts", "published_at"})
    free_text = frozenset({"explanation", "grounds", "decision_facts"})
    result = redact_fields(record, allow, free_text, RULES)
    assert result.fields == {
        "kind": "notice",
        "right_type": "trademark",
        "explanation": "侵权商品，联系 [redacted:email]",
        "grounds": ["电话[redacted:phone]", None],
        "decision_facts": {"zh-CN": "身份证[redacted:cn_resident_id]", "en": "no personal data"},
    }
    assert result.redactions == (
        FieldRedaction("explanation", "email", 8, 22),
        FieldRedaction("grounds.0", "phone", 2, 13),
        FieldRedaction("decision_facts.zh-CN", "cn_resident_id", 3, 21),
    )
    assert record["contact_email"] == "zs@example.com"  # the input is not touched
    assert "zs@example.com" not in repr(result) and "13800138000" not in repr(result)


def test_free_text_of_an_unexpected_shape_fails_closed() -> None:
    with pytest.raises(TypeError, match="explanation"):
        redact_fields({"explanation": 13800138000}, frozenset({"explanation"}), frozenset({"explanation"}), RULES)
    # tuples stay tuples, non-free-text values pass as they are
    result = redact_fields(
        {"grounds": ("a@b.com",), "count": 3}, frozenset({"grounds", "count"}), frozenset({"grounds"}), RULES
    )
    assert result.fields == {"grounds": ("[redacted:email]",), "count": 3}


# ----- properties ------------------------------------------------------------------------------

FILLER = st.text(
    alphabet=st.sampled_from(list("的了是在我有他这中商标专利号 abcXYZ0123456789,.;!?，。；！？、-_/#+:@()")),
    max_size=30,
)
SEPARATOR = st.sampled_from([" ", "，", "。", "：", "\n", "（", "）", "、", "电话", "邮箱", " / ", "; ", "<", ">"])

LOCAL = st.from_regex(r"[a-z0-9]([a-z0-9._+\-]{0,15}[a-z0-9])?", fullmatch=True).filter(lambda s: ".." not in s)
LABEL = st.from_regex(r"[a-z0-9]([a-z0-9\-]{0,10}[a-z0-9])?", fullmatch=True)
EMAILS = st.builds(
    lambda local, labels, tld, at: f"{local}{at}{'.'.join(labels)}.{tld}",
    LOCAL,
    st.lists(LABEL, min_size=1, max_size=3),
    st.sampled_from(["com", "cn", "net", "org", "co", "io", "hk", "shop", "xn--fiqs8s"]),
    st.sampled_from(["@", "\uff20"]),
)


@st.composite
def phones(draw: st.DrawFn) -> str:
    sep = draw(st.sampled_from(["", " ", "-"]))
    kind = draw(st.sampled_from(["mobile", "landline", "international"]))
    if kind == "mobile":
        n = f"1{draw(st.integers(3, 9))}{draw(st.integers(0, 9))}{draw(st.integers(0, 99_999_999)):08d}"
        prefix = draw(st.sampled_from(["", "+86", "0086", "86", "(+86)"]))
        number = f"{n[:3]}{sep}{n[3:7]}{sep}{n[7:]}"
        return f"{prefix}{draw(st.sampled_from(['', ' ', '-']))}{number}" if prefix else number
    if kind == "landline":
        area = draw(st.sampled_from(["010", "021", "0755", "0571", "0898"]))
        local = f"{draw(st.integers(2, 8))}{draw(st.integers(0, 9_999_999)):07d}"
        return f"{area}{sep or '-'}{local[:4]}{sep}{local[4:]}"
    country = draw(st.sampled_from(["1", "44", "49", "81", "852", "971"]))
    rest = f"{draw(st.integers(10**7, 10**11 - 1))}"
    return f"+{country}{sep or ' '}{rest[:3]}{sep}{rest[3:]}"


@st.composite
def resident_ids(draw: st.DrawFn) -> str:
    region = draw(st.sampled_from(["110105", "310104", "440305", "510107", "650102", "810000", "830000"]))
    born = date(1900, 1, 1) + timedelta(days=draw(st.integers(0, 45_000)))
    seq = f"{draw(st.integers(0, 999)):03d}"
    value = resident_id(region, born, seq)
    return value.lower() if draw(st.booleans()) else value


PERSONAL = st.one_of(EMAILS, phones(), resident_ids())


@settings(max_examples=400, deadline=None)
@given(before=FILLER, sep1=SEPARATOR, secret=PERSONAL, sep2=SEPARATOR, after=FILLER, hide=st.booleans())
@example(before="a@b.com", sep1="", secret="13800138000", sep2="", after="", hide=False)
@example(before="见", sep1="", secret=ID_X, sep2="", after="号", hide=False)
@example(before="", sep1=" ", secret="0755-20000000", sep2=" ", after="0000", hide=False)
def test_inserted_personal_data_never_survives(
    before: str, sep1: str, secret: str, sep2: str, after: str, hide: bool
) -> None:
    text = f"{before}{sep1}{secret}{sep2}{after}"
    result = redact_text(text, RedactionRules(redact_urls=hide))
    assert secret not in result.text
    assert result.hits


def _rebuild(text: str, result: Redacted) -> str:
    out: list[str] = []
    pos = 0
    for hit in result.hits:
        assert pos <= hit.start < hit.end <= len(text)
        out += (text[pos : hit.start], marker(hit.category))
        pos = hit.end
    return "".join(out) + text[pos:]


TENANT_PATTERNS = st.lists(
    st.sampled_from([r"redacted", r"\[", r"\d{3,}", r"[a-z]+", r"x*", r"客户\S{1,4}", r"(?i)secret\w*", r":\w+"]),
    max_size=3,
    unique=True,
)


@settings(max_examples=300, deadline=None)
@given(
    parts=st.lists(st.one_of(FILLER, SEPARATOR, PERSONAL, st.text(max_size=20)), max_size=8),
    patterns=TENANT_PATTERNS,
    hide=st.booleans(),
)
def test_redaction_is_idempotent_and_hits_describe_the_output(parts: list[str], patterns: list[str], hide: bool) -> None:
    text = "".join(parts)
    rules = rules_from_policy(patterns, hide_urls=hide)
    once = redact_text(text, rules)
    assert _rebuild(text, once) == once.text
    assert redact_text(once.text, rules) == Redacted(once.text, ())


# ----- a reviewer's manual redaction of a public record --------------------------------------------

NOTICE_RECORD = {"explanation": "假货。请联系[redacted:email]或 [redacted:phone]。SKU-2026-000123",
                 "listing_title": "Item 1", "received_at": "2026-10-01T08:00:00+00:00", "reason_code": "counterfeit",
                 "evidence": ["registration_certificate"], "notifier_name": None}


def _refused_field(field: str, text: str, reason: str = "") -> str | None:
    try:
        check_manual_redaction(NOTICE_RECORD, field, text, reason)
    except InvalidInput as exc:
        return exc.field
    return None


@pytest.mark.parametrize(("field", "text"), [("explanation", "SKU-2026-000123"), ("explanation", "假货"),
                                             ("listing_title", "Item"), ("explanation", "或 ")])
def test_a_passage_outside_markers_of_a_free_text_field_may_be_redacted(field: str, text: str) -> None:
    assert _refused_field(field, text) is None


@pytest.mark.parametrize("field", ["received_at", "reason_code", "evidence", "notifier_name", "nope"])
def test_only_free_text_fields_holding_text_are_redactable(field: str) -> None:
    """A timestamp or a code with a passage replaced is no longer one; lists and absent fields have no passage."""
    assert _refused_field(field, "2") == "field"


@pytest.mark.parametrize("text", ["[redacted", "email]", "[redacted:email]", "请联系[redacted:email]或", "e", ":",
                                  "]或 [", "zzz", ""])
def test_a_passage_that_overlaps_or_contains_a_marker_or_is_not_there_is_refused(text: str) -> None:
    assert _refused_field("explanation", text) == "text"


def test_the_redaction_reason_is_bounded_like_other_decision_texts() -> None:
    assert _refused_field("explanation", "SKU", "r" * MAX_TEXT) is None
    assert _refused_field("explanation", "SKU", "r" * (MAX_TEXT + 1)) == "reason"


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(st.one_of(st.sampled_from([marker("email"), marker("manual"), "[redacted", "ted:", "]"]),
                                 st.text("ab[]:", max_size=6)), max_size=8),
       data=st.data())
def test_an_accepted_manual_redaction_keeps_every_marker_and_adds_one_per_occurrence(
    parts: list[str], data: st.DataObject
) -> None:
    text = "".join(parts)
    start = data.draw(st.integers(0, len(text)))
    passage = text[start:data.draw(st.integers(start, len(text)))]
    try:
        check_manual_redaction({"explanation": text}, "explanation", passage, "")
    except InvalidInput:
        return
    after = text.replace(passage, marker("manual"))
    assert Counter(MARKER_PATTERN.findall(after)) == Counter(MARKER_PATTERN.findall(text)) + Counter(
        {"manual": text.count(passage)})
