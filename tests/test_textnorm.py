"""textnorm: full-width, spaces, traditional, pinyin annotations, extraction noise, Chinese numerals."""

from __future__ import annotations

import itertools
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reminder.textnorm import (
    cn_to_int,
    normalize,
    normalize_with_map,
    normalize_with_optional_map,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # full-width digits, latin and ASCII punctuation -> half-width
        ("２０２１年９月３０日前", "2021年9月30日前"),
        ("２０２１．０６．３０", "2021.06.30"),
        ("２０２１／９／３０", "2021/9/30"),
        ("ＡＢＣ－１２３％", "ABC-123%"),
        # Chinese punctuation that splits clauses and unit groups stays full-width
        ("各镇（街、园区）；区直各单位：完成，好！对？", "各镇（街、园区）；区直各单位：完成，好！对？"),
        ("〔2019〕54号《通知》。", "〔2019〕54号《通知》。"),
        # ideographic space and NBSP -> space
        ("12\u3000月底前", "12 月底前"),
        ("a\u00a0b", "a b"),
        # zero-width characters disappear
        ("年\u200b底\ufeff前", "年底前"),
        # traditional -> simplified
        ("長期堅持，持續推進", "长期坚持，持续推进"),
        ("廣州市從化區", "广州市从化区"),
        ("每季度報送", "每季度报送"),
        # pinyin inserted after characters by a converter
        ("從化區(qū)堅(jiān)持", "从化区坚持"),
        ("習(xí)近平", "习近平"),
        ("標(biāo)準(zhǔn)化", "标准化"),
        ("區（qū）", "区"),
        # a broken converter left ? for the character; its pinyin still goes
        ("政府?(dāng)?(shù)据", "政府??据"),
        # latin in brackets that is not pinyin stays
        ("政务新媒体(app)", "政务新媒体(app)"),
        ("文件(2021)", "文件(2021)"),
        ("(qū)开头", "(qū)开头"),  # no CJK character before: not an annotation
        # Word bookmarks left by extraction
        ("[bookmark: _Hlk72762406]3.全面提升", "3.全面提升"),
        ("[bookmark: _GoBack][bookmark: _Hlk72769256]27.严格", "27.严格"),
        ("［bookmark: _x］年底", "年底"),  # full-width noise: translated first, then removed
        ("", ""),
        ("plain ascii, unchanged", "plain ascii, unchanged"),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_normalize_drop_spaces_squeezes_pdf_text() -> None:
    assert normalize("12 月 底 前\t\n", drop_spaces=True) == "12月底前"
    assert normalize("12\u3000月底前", drop_spaces=True) == "12月底前"
    assert normalize("12 月底前") == "12 月底前"


@pytest.mark.parametrize(
    ("raw", "expected_out", "expected_index"),
    [
        ("區(qū)堅(jiān)持", "区坚持", [0, 5, 12]),
        ("１２ 月底前", "12 月底前", [0, 1, 2, 3, 4, 5]),
        ("[bookmark: x]年底", "年底", [13, 14]),
        ("", "", []),
    ],
)
def test_normalize_with_map(raw: str, expected_out: str, expected_index: list[int]) -> None:
    assert normalize_with_map(raw) == (expected_out, expected_index)


def test_normalize_with_map_drop_spaces() -> None:
    out, index = normalize_with_map("１２ 月底前", drop_spaces=True)
    assert out == "12月底前"
    assert index == [0, 1, 3, 4, 5]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80), st.booleans())
def test_map_is_exact(text: str, drop_spaces: bool) -> None:
    """Same output as normalize; each output char comes from its mapped original char, in order."""
    out, index = normalize_with_map(text, drop_spaces=drop_spaces)
    assert out == normalize(text, drop_spaces=drop_spaces)
    assert len(index) == len(out)
    assert all(0 <= i < len(text) for i in index)
    assert all(a < b for a, b in itertools.pairwise(index))
    assert all(normalize(text[i]) == ch for i, ch in zip(index, out))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


@pytest.mark.parametrize(
    ("numeral", "value"),
    [
        ("三十", 30), ("二〇二一", 2021), ("十二", 12), ("两", 2), ("廿", 20), ("一百", 100),
        ("十", 10), ("一", 1), ("零", 0), ("九", 9), ("二十一", 21), ("三十一", 31), ("廿一", 21),
        ("一百零五", 105), ("一百一十", 110), ("两千零二十一", 2021), ("二零二二", 2022), ("一九九九", 1999),
        ("二O二一", 2021), ("一万二千", 12000), ("十万", 100000), ("叁拾", 30), ("壹佰零贰", 102),
        ("12", 12), ("2021", 2021),
    ],
)
def test_cn_to_int(numeral: str, value: int) -> None:
    assert cn_to_int(numeral) == value


@pytest.mark.parametrize("bad", ["", "  ", "年", "三十x", "abc", "十月", "1二", "二0二1"])
def test_cn_to_int_rejects_non_numerals(bad: str) -> None:
    with pytest.raises(ValueError):
        cn_to_int(bad)


_DIGITS = "零一二三四五六七八九"


def _write_cn(n: int) -> str:
    """Write 0..99999 the standard way (十二, 一百零五, 两 never used), independently of the code under test."""
    if n == 0:
        return "零"
    parts: list[str] = []
    units = [(10_000, "万"), (1000, "千"), (100, "百"), (10, "十"), (1, "")]
    zero_pending = False
    started = False
    for value, unit in units:
        digit = n // value % 10
        if digit:
            if zero_pending:
                parts.append("零")
            zero_pending = False
            if not (unit == "十" and digit == 1 and not started):
                parts.append(_DIGITS[digit])
            parts.append(unit)
            started = True
        elif started:
            zero_pending = True
    return "".join(parts)


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=99_999))
def test_cn_to_int_reads_written_numbers(n: int) -> None:
    assert cn_to_int(_write_cn(n)) == n


@given(st.integers(min_value=1000, max_value=2999))
def test_cn_to_int_reads_positional_years(year: int) -> None:
    written = "".join("〇一二三四五六七八九"[int(c)] for c in str(year))
    assert cn_to_int(written) == year


# ---------------------------------------------------------------------------------------------------------
# The shipped traditional -> simplified table, and the fast path
# ---------------------------------------------------------------------------------------------------------


def test_shipped_table_is_zhconvs_single_character_entries() -> None:
    """reminder/trad2simp.py is generated from zhconv (scripts/make_trad2simp.py); regenerate it if this fails."""
    pytest.importorskip("zhconv")
    from zhconv.zhconv import getdict

    from reminder.trad2simp import SIMPLIFIED, TRADITIONAL

    expected = {t: s for t, s in getdict("zh-cn").items() if len(t) == 1 and len(s) == 1 and t != s}
    assert dict(zip(TRADITIONAL, SIMPLIFIED)) == expected
    assert len(TRADITIONAL) == len(SIMPLIFIED) == len(set(TRADITIONAL))


def test_normalising_does_not_load_zhconv() -> None:
    """Start-up time: the table is a module of two strings, not zhconv's dictionary (~80 ms to load)."""
    code = "import sys; from reminder.textnorm import normalize; assert normalize('區') == '区'; print('zhconv' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def _reference_normalize(text: str, drop_spaces: bool) -> str:
    """What normalize did before its fast path: translate everything, then remove noise everywhere."""
    from reminder import textnorm

    compiled = textnorm._compiled or textnorm._build()
    noise = compiled.noise_and_space if drop_spaces else compiled.noise
    return noise.sub("", text.translate(compiled.table))


# Text rich in what normalisation acts on: traditional, full-width, spaces, noise, pinyin.
NOISY_ALPHABET = "區堅持續報２０１９年月日前（）()[]bookmark:_Hlkqūjiānā \u3000\u00a0\t\n\u200b\ufeff?\ufffd，。a1"


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=60), st.text(alphabet=NOISY_ALPHABET, max_size=60)), st.booleans())
def test_fast_path_reads_the_same_as_translating_everything(text: str, drop_spaces: bool) -> None:
    assert normalize(text, drop_spaces=drop_spaces) == _reference_normalize(text, drop_spaces)


@pytest.mark.parametrize("text", ["2021年9月30日前", "持续推进", "推进部门规范性文件统一公开，2021年底前集中公开。"])
def test_text_that_needs_nothing_comes_back_as_it_is_without_a_map(text: str) -> None:
    out, index = normalize_with_optional_map(text, drop_spaces=True)
    assert out is text and index is None
    assert normalize_with_map(text, drop_spaces=True) == (text, list(range(len(text))))


@pytest.mark.parametrize(
    ("raw", "expected_out"),
    [
        ("各单位，２０２１年９月３０日前报區", "各单位，2021年9月30日前报区"),  # translated between the first and last mapped character
        ("１", "1"),
        ("a𠀀區b", "a𠀀区b"),  # a character beyond the BMP on the way
    ],
)
def test_translation_covers_every_mapped_character(raw: str, expected_out: str) -> None:
    assert normalize(raw) == expected_out
