#!/usr/bin/env python3
"""Writes tests/data/text/cleanup_golden.jsonl: what CLIP's own text steps give for edge cases.

For each string: `unescaped` = html.unescape(text) (once), `cleaned` = CLIP's
whitespace_clean(basic_clean(text)).lower() with ftfy stubbed out (as the shared
tokenizer goldens were made), and `pieces` = re.findall of CLIP's pattern on it,
with the `regex` module CLIP uses. These are the steps dinoclip reimplements by hand
(html.unescape, Python's whitespace, str.lower, the regex); BPE ids are covered by
the shared fixtures. Besides hand-picked cases, one line per named entity in
lib/text/html_entities.inc checks that table against Python's html5 dict.

Needs the `regex` module (the default `python3` here has it; /usr/bin/python3 has not).
Run from the repository root: python3 tests/data/gen/gen_text_cleanup.py
"""
import html
import json
import re as stdlib_re
import sys

import regex

PATTERN = regex.compile(
    r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
    regex.IGNORECASE)


def clip_clean(text):  # simple_tokenizer.basic_clean + whitespace_clean + lower, ftfy stubbed
    text = html.unescape(html.unescape(text)).strip()
    text = regex.sub(r'\s+', ' ', text).strip()
    return text.lower()


CASES = [
    # HTML references: numeric, Windows-1252 repairs, dropped and replaced code points
    ('numeric refs', 'A&#66;&#x43;&#X44;&#69 &#x46'),
    ('numeric refs', '&#128;&#130;&#141;&#150;&#151;&#153;&#159;'),
    ('numeric refs', '[&#0;][&#13;][&#1;][&#11;][&#x110000;][&#xD800;][&#xFFFE;][&#x1FFFF;][&#xFDD0;]'),
    ('numeric refs', '&#99999999999999999999; &#0000065; &#x0000000041;'),
    ('numeric refs', '&#; &#x; &#xZ; &# x &#-1;'),
    ('named refs', 'fish &amp; chips &lt;b&gt; &quot;q&quot; &apos;s &nbsp;x'),
    ('named refs, no semicolon', '&amp &ampx; &ampfoo &copy2024 &eacutex &notin; &notit; &noti'),
    ('named refs, unknown', '&foo; &amp;foo; &zz &a; &;'),
    ('named refs, 32-char limit', '&' + 'a' * 40 + '; &ampaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'),
    ('named refs, case', '&AMP; &Amp; &COPY &Eacute; &eacute; &EACUTE;'),
    ('double unescape', '&amp;lt; &amp;amp;amp; &amp;#65; &#38;amp;'),
    ('refs and whitespace', '&#9;tab&#10;nl&#160;nbsp&#12288;ideo'),
    # whitespace: Python's isspace (strip) vs the regex module's \s (collapse)
    ('whitespace', '\u00a0 a\u2003b\u3000c\u2028d\u0085e\u000bf\u000cg\r\nh '),
    ('whitespace, 0x1c-0x1f', '\u001c a\u001db\u001e \u001f c \u001f'),
    ('whitespace, not', 'a\u200bb\u180ec\u2060d\ufeffe'),
    # str.lower(): full mapping and final sigma
    ('lower', 'İSTANBUL İi ẞ Ǆ ǅ ΩK Å'),
    ('lower, final sigma', 'ΟΔΟΣ ΑΣ.Σ Σ ΑΣΑ ΑΣ\u0301 Α\u0301Σ ΣΑ ΑΣ\'Σ ΑΣ:Σ Σ.'),
    # the regex
    ('regex, contractions', "it's IT'S we'RE they've i'M you'LL he'D don't rock'n'roll 'tis"),
    ('regex, punctuation runs', "!'s ?'t ...'re x.'s !!<|endoftext|> a<|endoftext|>b"),
    ('regex, ignorecase', "it'ſ <|ſtartoftext|> <|ENDOFTEXT|> <|endOfText|>"),
    ('regex, numbers', '²½ x² ١٢٣ Ⅻ ⅻ 10⁵ ①'),
    ('regex, marks', 'e\u0301 a\u0308b \u0301x n\u0303'),
    ('regex, scripts', 'مرحبا שלום สวัสดี नमस्ते 你好 こんにちは'),
    ('regex, emoji', '👨‍👩‍👧 🇫🇷 ❤️ a😀b'),
    ('regex, symbols', '€100 ±5 ©™ ¶§ «»„“ ‹›'),
]


def entity_names():
    names = stdlib_re.findall(r'^\{"([A-Za-z0-9]+)"', open('lib/text/html_entities.inc').read(), stdlib_re.M)
    assert len(names) > 250, len(names)
    return names


def main():
    lines = []
    cases = CASES + [('entity table', f'[&{n};|&{n}|&{n}x;|&{n}]') for n in entity_names()]
    for category, text in cases:
        cleaned = clip_clean(text)
        lines.append(json.dumps({'category': category, 'text': text, 'unescaped': html.unescape(text),
                                 'cleaned': cleaned, 'pieces': PATTERN.findall(cleaned)}, ensure_ascii=False))
    open('tests/data/text/cleanup_golden.jsonl', 'w', encoding='utf-8').write('\n'.join(lines) + '\n')
    print(len(lines), 'lines; Python', sys.version.split()[0], 'regex', regex.__version__)


main()
