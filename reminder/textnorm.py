"""Text normalisation shared by every step that reads Chinese plan text.

What ``normalize`` does, in this order:

1. **Removes extraction noise** that carries no meaning (after step 2, which is one to one, so noise
   written in full-width is caught too):
   - Word bookmarks left by docx-to-text tools: ``[bookmark: _Hlk72762406]``;
   - pinyin that some traditional-Chinese converters insert after a character:
     ``區(qū)`` -> ``區``, ``堅(jiān)持`` -> ``堅持``. Only a parenthesised run of lowercase latin letters
     holding at least one tone mark, right after a CJK character (or after the ``?`` / U+FFFD a broken
     converter left in its place), is removed, so ``(app)`` or ``(2021)``
     stay; a toneless syllable such as ``(de)`` also stays (converters seen so far always write tones);
   - zero-width characters (U+200B..U+200D, U+2060, U+FEFF).
2. **Maps characters one to one** (one ``str.translate`` table, built once, lazily):
   - full-width ASCII forms (U+FF01..U+FF5E) -> ASCII: ``２０２１`` -> ``2021``, ``．`` -> ``.``,
     ``／`` -> ``/``, ``－`` -> ``-``, ``Ａ`` -> ``A``, ``％`` -> ``%``;
     EXCEPT the Chinese punctuation the rest of the project splits on, which stays full-width:
     ``，；：（）！？`` (``、。〔〕《》【】“”`` are not in that block and stay too). We keep them because
     a plan mixes both widths anyway and a half-width ``,`` inside ``1,000`` must not become a clause
     break; downstream regexes accept both widths where it matters;
   - no-break, ideographic and other typographic spaces -> a plain space;
   - traditional -> simplified Chinese, character by character, from zhconv's ``zh-cn`` table (only its
     single-character entries, so the mapping is 1:1 and fast; phrase-level rules are not needed for
     the vocabulary of plans).

``normalize_with_map`` also returns, for each output character, its index in the original text, so a span
found in the normalised text can be shown on the text a person wrote.

Chinese numerals: ``cn_to_int`` reads 三十, 二〇二一, 十二, 两, 廿, 一百 and the financial forms (壹贰叁).
"""

from __future__ import annotations

import re
from functools import cache

__all__ = ["normalize", "normalize_with_map", "cn_to_int", "CN_DIGITS"]

# ---------------------------------------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------------------------------------

# Full-width punctuation kept as is: the characters plans use to separate clauses and unit groups.
KEEP_FULL_WIDTH = frozenset("，；：（）！？")

# Characters that read as a plain space.
SPACE_LIKE = "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"

# Characters removed outright (zero-width joiners, BOM, word joiner).
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"

# Vowels with a tone mark: what tells an inserted pinyin annotation from ordinary latin text.
TONED_VOWELS = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿ"

# Chinese numeral digits (value) and multipliers, including the financial (大写) forms.
CN_DIGITS = {
    "〇": 0, "零": 0, "○": 0, "O": 0,
    "一": 1, "壹": 1, "二": 2, "贰": 2, "两": 2, "三": 3, "叁": 3, "四": 4, "肆": 4,
    "五": 5, "伍": 5, "六": 6, "陆": 6, "七": 7, "柒": 7, "八": 8, "捌": 8, "九": 9, "玖": 9,
}
CN_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000, "万": 10_000}
# Single characters that stand for a whole number (廿 = 20, 卅 = 30, 卌 = 40).
CN_TENS = {"廿": 20, "卅": 30, "卌": 40}

# ---------------------------------------------------------------------------------------------------------
# Compiled patterns (import time)
# ---------------------------------------------------------------------------------------------------------

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_PINYIN = rf"(?<=[{_CJK}?\ufffd])[(（][a-zü]*[{TONED_VOWELS}][a-zü{TONED_VOWELS}]*[)）]"
_BOOKMARK = r"\[bookmark:[^\]\n]{0,200}\]"
_NOISE_RE = re.compile(rf"{_BOOKMARK}|{_PINYIN}|[{ZERO_WIDTH}]+", re.IGNORECASE)
_NOISE_AND_SPACE_RE = re.compile(rf"{_BOOKMARK}|{_PINYIN}|[{ZERO_WIDTH}\s{SPACE_LIKE}]+", re.IGNORECASE)


@cache
def _table() -> dict[int, str]:
    """The one-to-one translate table; built on first use because loading zhconv's dictionary takes ~50 ms."""
    table: dict[int, str] = {}
    try:
        from zhconv.zhconv import getdict  # heavy-ish JSON load, hence lazy

        for trad, simp in getdict("zh-cn").items():
            if len(trad) == 1 and len(simp) == 1 and trad != simp:
                table[ord(trad)] = simp
    except ImportError:  # pragma: no cover - zhconv is a declared dependency; degrade to width-only
        pass
    for code in range(0xFF01, 0xFF5F):
        ch = chr(code)
        if ch not in KEEP_FULL_WIDTH:
            table[code] = chr(code - 0xFEE0)
    for ch in SPACE_LIKE:
        table[ord(ch)] = " "
    return table


def _noise_re(drop_spaces: bool) -> re.Pattern[str]:
    return _NOISE_AND_SPACE_RE if drop_spaces else _NOISE_RE


def normalize(text: str, *, drop_spaces: bool = False) -> str:
    """Return ``text`` in the project's canonical form (see the module docstring).

    ``drop_spaces`` also removes all whitespace; the deadline parser uses it so that text squeezed
    by PDF extraction (``12 月底前``) reads like ``12月底前``.
    """
    # Translate first: it is one to one, and noise written in full-width (［bookmark: …］) then matches.
    return _noise_re(drop_spaces).sub("", text.translate(_table()))


def normalize_with_map(text: str, *, drop_spaces: bool = False) -> tuple[str, list[int]]:
    """Like ``normalize``, plus ``index[i]`` = position in ``text`` of output character ``i``.

    Every step either deletes characters or maps one to one, so the map is exact.
    """
    mapped = text.translate(_table())
    pieces: list[str] = []
    index: list[int] = []
    last = 0
    for m in _noise_re(drop_spaces).finditer(mapped):
        start, end = m.span()
        if start > last:
            pieces.append(mapped[last:start])
            index.extend(range(last, start))
        last = end
    if last == 0:
        return mapped, list(range(len(text)))
    pieces.append(mapped[last:])
    index.extend(range(last, len(text)))
    return "".join(pieces), index


def cn_to_int(numeral: str) -> int:
    """Read a Chinese (or ASCII) numeral: 三十 -> 30, 二〇二一 -> 2021, 十二 -> 12, 两 -> 2, 廿 -> 20.

    Digit strings without multipliers are read positionally (二〇二一, 一九), which is how years are
    written. Raises ``ValueError`` for anything that is not a numeral, so callers can tell.
    """
    s = numeral.strip()
    if not s:
        raise ValueError("empty numeral")
    if s.isascii() and s.isdigit():
        return int(s)
    if all(ch in CN_DIGITS for ch in s):
        return int("".join(str(CN_DIGITS[ch]) for ch in s))
    return _cn_with_units(s, numeral)


def _cn_with_units(s: str, original: str) -> int:
    """Read a numeral with multipliers (一百零五, 两千零二十一, 廿一, 一万二千)."""
    total = 0      # completed groups of ten thousand
    section = 0    # value below 万 built so far
    digit: int | None = None
    for ch in s:
        if ch in CN_DIGITS:
            digit = CN_DIGITS[ch]
        elif ch in CN_TENS:
            section += CN_TENS[ch]
            digit = None
        elif ch in CN_UNITS:
            unit = CN_UNITS[ch]
            if unit == 10_000:
                total = (total + section + (digit or 0)) * unit
                section = 0
            else:
                section += (1 if digit is None else digit) * unit  # 十二: a bare 十 means 一十
            digit = None
        else:
            raise ValueError(f"not a Chinese numeral: {original!r}")
    return total + section + (digit or 0)
