"""The gates in front of the credential patterns (bot.secrets.patterns.NEEDS): a text is not
searched with a pattern unless it holds one of the words the pattern needs. A wrong gate would
let a secret through, so each gate is proved from the pattern's own parse, not from samples."""

from __future__ import annotations

import random
import re
import sys
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

import pytest
from detect_secrets.plugins.keyword import QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP
from detect_secrets.plugins.npm import NpmDetector

from bot.secrets import detectors, redaction
from bot.secrets import patterns as p
from bot.secrets.redaction import find_secrets
from tests.test_secrets import NEGATIVE, POSITIVE

_REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT)
_BREAK: tuple[Any, list[Any]] = (sre.IN, [])  # anything that is not a literal ends a run


def always_holds(parsed: Any, needs: tuple[str, ...], run: str = "") -> bool:
    """Whether every string the parsed pattern matches holds one of `needs` (in `p.fold`): on
    each path through it (a branch taken, a group entered) a run of literals it must go through
    holds one. Sufficient, not necessary: a gate this cannot prove fails the test."""
    items = list(parsed)
    for at, (op, arg) in enumerate(items):
        rest = items[at + 1:]
        if op is sre.LITERAL:
            run += chr(arg)
            if any(word in p.fold(run) for word in needs):
                return True
        elif op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
            continue  # zero width: the run of literals goes on
        elif op is sre.SUBPATTERN:
            return always_holds([*arg[3], *rest], needs, run)
        elif op is sre.BRANCH:
            return all(always_holds([*branch, *rest], needs, run) for branch in arg[1])
        elif op is sre.IN and arg and all(kind is sre.LITERAL for kind, _ in arg):  # [abc]: a branch each
            return all(always_holds([(sre.LITERAL, char), *rest], needs, run) for _, char in arg)
        elif op in _REPEATS and arg[0] >= 1:  # once at least: its first time, then a break in the run
            return always_holds([*arg[2], _BREAK, *rest], needs, run)
        else:
            run = ""
    return False


def _parse(pattern: re.Pattern[str]) -> Any:
    return sre_parse.parse(pattern.pattern, pattern.flags)


@pytest.mark.parametrize("pattern", list(p.NEEDS), ids=lambda pattern: pattern.pattern[:40])
def test_every_match_of_a_gated_pattern_holds_a_word_its_gate_needs(pattern: re.Pattern[str]) -> None:
    assert always_holds(_parse(pattern), p.NEEDS[pattern])


def test_every_keyword_rule_of_detect_secrets_needs_one_of_the_stems_a_line_is_gated_on() -> None:
    for regex in QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP:
        assert always_holds(_parse(regex), detectors.KEYWORD_STEMS), regex.pattern


def test_every_format_plugins_pattern_needs_a_word_its_gate_names() -> None:
    for plugin, _, needs in detectors.FORMAT_PLUGINS:
        for regex in plugin.denylist:
            assert always_holds(_parse(regex), needs), regex.pattern
    for regex in detectors.JWT.denylist:
        assert always_holds(_parse(regex), (detectors.JWT_NEEDS,)), regex.pattern
    for regex in detectors.PRIVATE_KEY.denylist:
        assert always_holds(_parse(regex), detectors.PRIVATE_KEY_NEEDS), regex.pattern


def test_no_random_token_holds_a_space_so_a_text_of_short_words_has_none() -> None:
    half = "a1B2" * 4  # two halves make a token long enough; a space between them breaks it
    for space in (" ", "\t", "\n", "\r", "\v", "\f", "\u00a0", "\u2003", "\u3000"):
        assert space.isspace()
        for joint, found in ((space, False), ("x", True)):
            assert bool(detectors.BASE64.regex.search(f"'{half}{joint}{half}'")) is found
            assert bool(redaction._UNQUOTED_TOKEN.search(f"{half}{joint}{half}")) is found


def test_the_proof_itself_fails_a_gate_that_misses_a_branch() -> None:
    assert always_holds(_parse(re.compile(r"(?i:\bpass(?:word)?|pwd)=")), ("pass", "pwd"))
    assert not always_holds(_parse(re.compile(r"(?i:\bpass(?:word)?|pwd)=")), ("pass",))
    assert not always_holds(_parse(re.compile(r"api[ _]?key")), ("apikey",))
    assert not always_holds(_parse(re.compile(r"(?:key)?x")), ("key",))
    assert always_holds(_parse(re.compile(r"(?:ghp|ghs)_")), ("ghp_", "ghs_"))
    assert not always_holds(_parse(re.compile(r"(?:ghp|ghs)_")), ("ghp_",))


def test_fold_turns_whatever_a_case_insensitive_pattern_takes_for_an_ascii_letter_into_that_letter() -> None:
    letter = re.compile(r"(?i)[a-z]")
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        if letter.fullmatch(char):
            assert re.fullmatch(f"(?i){re.escape(p.fold(char))}", char), hex(code)
            assert len(p.fold(char)) == 1 and p.fold(char).isascii(), hex(code)


def test_fold_keeps_the_lines_of_a_text() -> None:
    """The keyword rules read the folded text line by line beside the text's own lines."""
    assert p.fold("\n") == "\n"
    assert not [hex(code) for code in range(sys.maxunicode + 1) if code != 10 and "\n" in p.fold(chr(code))]


@pytest.mark.parametrize("variant", [str, str.upper, lambda text: text.replace("i", "\u0131").replace("s", "\u017f")])
def test_the_gates_change_no_finding_on_the_corpora(variant: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [variant(sample.text) for sample in (*POSITIVE, *NEGATIVE)]
    gated = [find_secrets(text) for text in texts]
    monkeypatch.setattr(p, "NEEDS", {})
    monkeypatch.setattr(detectors, "KEYWORD_STEMS", ("",))
    monkeypatch.setattr(detectors, "JWT_NEEDS", "")
    monkeypatch.setattr(detectors, "PRIVATE_KEY_NEEDS", ("",))
    monkeypatch.setattr(redaction, "_SHORTEST_TOKEN", 0)
    monkeypatch.setattr(detectors, "FORMAT_PLUGINS", [(*plugin[:2], ("",)) for plugin in detectors.FORMAT_PLUGINS])
    assert gated == [find_secrets(text) for text in texts]


def test_an_ordinary_message_is_searched_by_few_patterns() -> None:
    message = ("Hi, after upgrading to 2.4.7 the checkout shows a blank shipping step and the console says "
               "Uncaught TypeError: cannot read properties of undefined. Any idea?")
    assert not [pattern for pattern in p.NEEDS if p.may_match(pattern, p.fold(message))]


def test_npm_tokens_are_found_wherever_detect_secrets_finds_them() -> None:
    """Our linear `/:_authToken=` search against detect-secrets' quadratic `//.+/:_authToken=`,
    on random lines made of the pieces that matter: every token it finds, ours covers."""
    theirs_pattern = NpmDetector().denylist[0]
    pieces = ["/", "//", "a", ":", "/:_authToken=", "npm_x1", "\n", " ", "=", "_authToken",
              "01234567-89ab-cdef-0123-456789abcdef"]
    chance = random.Random(13)
    found = 0
    for _ in range(20000):
        text = "".join(chance.choice(pieces) for _ in range(chance.randint(1, 12)))
        ours = [(f.start, f.end) for f in redaction._npm_tokens(text, p.fold(text))]
        for match in theirs_pattern.finditer(text):
            start, end = redaction._value_span(match)
            assert any(s <= start and end <= e for s, e in ours), text
            found += 1
    assert found > 200  # the pieces do make tokens
