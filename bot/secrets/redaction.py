"""Find credentials in a customer's message and replace them with `[redacted: <kind>]` markers.

The core stores and relays only `redact(text)[0]`. Known key formats and high-entropy strings
come from detect-secrets' plugins (run on the whole text with their own regexes, so each
finding has an exact position); `bot.secrets.patterns` adds what a Magento support desk sees.
Only the secret value is replaced: `password: hunter2` becomes `password: [redacted: password]`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from bot.secrets import detectors as d
from bot.secrets import patterns as p


@dataclass(frozen=True)
class Finding:
    kind: str
    start: int
    end: int


# Unquoted tokens must be longer than quoted ones to count as random.
_QUOTED_MIN, _UNQUOTED_MIN = 20, 32
_SHORTEST_TOKEN = min(_QUOTED_MIN, _UNQUOTED_MIN)  # a text whose words are all shorter holds none
_UNQUOTED_TOKEN = re.compile(r"(?<![\w+/=.\-])[A-Za-z0-9+/_\-]{32,}={0,2}(?![\w+/=.\-])")
_TOKEN_TAIL = re.compile(r"[A-Za-z0-9_\-]*")
_JWT_TAIL = re.compile(r"[A-Za-z0-9_\-.+/=]*")
_MARKER = re.compile(r"\[redacted: [^\]\n]{1,40}\]")
# Which of detect-secrets' keywords name a password (the rest an API key).
_PASSWORD_STEMS = {"pass", "pwd", "contrase"}
_KEY_BODY_LINE = re.compile(r"\n[ \t]*[A-Za-z0-9+/=]{20,}[ \t]*(?=\n|$)")


def find_secrets(text: str) -> list[Finding]:
    """Every secret in `text`, merged so spans never overlap, sorted by position."""
    # Words inside earlier markers ("[redacted: password]") must not act as keywords.
    neutral = _MARKER.sub(lambda m: "\0" * len(m.group()), text)
    return _merge(_outside_markers(text, _all_findings(neutral)))


def redact(text: str) -> tuple[str, list[str]]:
    """`text` with each secret replaced by `[redacted: <kind>]`, and the kinds found in order."""
    parts: list[str] = []
    kinds: list[str] = []
    position = 0
    for finding in find_secrets(text):
        parts.append(text[position : finding.start])
        parts.append(f"[redacted: {finding.kind}]")
        position = finding.end
        if finding.kind not in kinds:
            kinds.append(finding.kind)
    parts.append(text[position:])
    return "".join(parts), kinds


def _all_findings(text: str) -> Iterator[Finding]:
    folded = p.fold(text)  # for the patterns' gates (p.NEEDS)
    yield from _private_keys(text, folded)
    yield from _format_plugins(text, folded)
    yield from _npm_tokens(text, folded)
    yield from _high_entropy(text, folded)
    yield from _keyword_plugin(text, folded)
    yield from _urls(text, folded)
    yield from _access_and_crypt_keys(text, folded)
    yield from _keyword_assignments(text, folded)
    yield from _env_lines(text, folded)
    for kind, patterns in (
        (p.DATABASE_URL, (p.PDO_DSN, p.ADO_DSN)),
        (p.PASSWORD, (p.MYSQL_CLI, p.CURL_USER, p.BASIC_HEADER)),
        (p.API_KEY, (p.AUTH_HEADER, p.BEARER_TOKEN, *p.VENDOR_TOKENS)),
    ):
        for pattern in patterns:
            yield from _named(pattern, text, kind, folded)
    for m in _matches(p.PASSWORD_IN_PROSE, text, folded):
        # Without "is" the value must hold a digit and end the line: "… password Hunter22!".
        no_verb = m.group("verb") is None and not (
            re.search(r"\d", m.group("v")) and not m.group("rest").strip()
        )
        if (
            p.looks_like_password(m.group("v"))
            and p.plausible_value(m.group("v"), p.PASSWORD)
            and not no_verb
        ):
            yield Finding(p.PASSWORD, m.start("v"), m.end("v"))
    for m in _matches(p.LOGIN_PAIR, text, folded):
        if p.looks_like_password(m.group("v")) and not m.group("v").endswith(":"):
            yield Finding(p.PASSWORD, m.start("v"), m.end("v"))


def _matches(pattern: re.Pattern[str], text: str, folded: str) -> Iterator[re.Match[str]]:
    """`pattern.finditer(text)`, not run when its gate says it cannot match (`folded` is the text's fold)."""
    return pattern.finditer(text) if p.may_match(pattern, folded) else iter(())


def _named(pattern: re.Pattern[str], text: str, kind: str, folded: str) -> Iterator[Finding]:
    """One finding per named value group (`v`, `v1`, `v2`) of each match."""
    for m in _matches(pattern, text, folded):
        for name in ("v", "v1", "v2"):
            if name in pattern.groupindex and m.group(name):
                yield Finding(kind, m.start(name), m.end(name))


def _private_keys(text: str, folded: str) -> Iterator[Finding]:
    yield from _named(p.PRIVATE_KEY_BLOCK, text, p.PRIVATE_KEY, folded)
    yield from _named(p.PUTTY_KEY_BLOCK, text, p.PRIVATE_KEY, folded)
    # A header detect-secrets knows but pasted without the dashes: take the base64 lines under it.
    for regex in d.PRIVATE_KEY.denylist if p.holds_any(folded, d.PRIVATE_KEY_NEEDS) else ():
        for m in regex.finditer(text):
            end = m.end()
            while body := _KEY_BODY_LINE.match(text, end):
                end = body.end()
            if end > m.end():
                yield Finding(p.PRIVATE_KEY, m.start(), end)


def _format_plugins(text: str, folded: str) -> Iterator[Finding]:
    for plugin, kind, needs in d.FORMAT_PLUGINS:
        if not p.holds_any(folded, needs):
            continue
        for regex in plugin.denylist:
            for m in regex.finditer(text):
                start, end = _value_span(m)
                # Fixed-length patterns (Stripe's 24 chars) must not leave a longer token's tail.
                yield Finding(kind, start, _tail_end(_TOKEN_TAIL, text, end))
    for regex in d.JWT.denylist if d.JWT_NEEDS in folded else ():
        for m in regex.finditer(text):
            # Its pattern ends lazily and stops before the signature: take the whole token.
            if d.JWT.is_formally_valid(m.group()):
                yield Finding(p.API_KEY, m.start(), _tail_end(_JWT_TAIL, text, m.end()))


def _npm_tokens(text: str, folded: str) -> Iterator[Finding]:
    """`//host/:_authToken=<token>`: the key, with a `//` before it on its line (and a character
    between them), as detect-secrets' `//.+/:_authToken=` but in one pass over the text."""
    first_slashes: dict[int, int] = {}  # a line's start -> where its first `//` is (-1: none)
    for m in _matches(p.NPM_AUTH_TOKEN, text, folded):
        line = text.rfind("\n", 0, m.start()) + 1
        if line not in first_slashes:
            end = text.find("\n", line)
            first_slashes[line] = text.find("//", line, len(text) if end < 0 else end)
        if 0 <= first_slashes[line] <= m.start() - 3:
            yield Finding(p.API_KEY, m.start("v"), _tail_end(_TOKEN_TAIL, text, m.end("v")))


def _tail_end(tail: re.Pattern[str], text: str, end: int) -> int:
    match = tail.match(text, end)
    return match.end() if match else end


def _value_span(m: re.Match[str]) -> tuple[int, int]:
    """The last group that matched (the secret inside its context), else the whole match."""
    for index in range(len(m.groups()), 0, -1):
        if m.group(index):
            return m.span(index)
    return m.span()


def _high_entropy(text: str, folded: str) -> Iterator[Finding]:
    if max(map(len, text.split()), default=0) < _SHORTEST_TOKEN:
        return  # a random token is a run of that many characters, none of them a space
    outside_urls = _outside(_matches(p.URL_OR_DATA, text, folded))
    for m in d.BASE64.regex.finditer(text):
        if (
            _is_random(m.group(2), _QUOTED_MIN)
            and outside_urls(m.start(2))
            and not p.is_identifier(text, m.start())
        ):
            yield Finding(p.API_KEY, m.start(2), m.end(2))
    for m in _UNQUOTED_TOKEN.finditer(text):
        token, start = m.group(), m.start()
        if (
            _is_random(token, _UNQUOTED_MIN)
            and outside_urls(start)
            and not p.is_path(token)
            and not p.is_identifier(text, start)
        ):
            yield Finding(p.API_KEY, m.start(), m.end())


def _is_random(token: str, min_length: int) -> bool:
    """Mixed-case base64 with high entropy. Bare hex (git SHAs, md5 sums, cache keys) never counts."""
    if len(token) < min_length or re.fullmatch(r"[0-9a-fA-F]+", token):
        return False
    has_all_classes = all(re.search(c, token) for c in ("[a-z]", "[A-Z]", "[0-9]"))
    return has_all_classes and d.BASE64.calculate_shannon_entropy(token) > d.BASE64.entropy_limit


def _outside(matches: Iterable[re.Match[str]]) -> Any:
    spans = [m.span() for m in matches]
    return lambda position: not any(start <= position < end for start, end in spans)


def _keyword_plugin(text: str, folded: str) -> Iterator[Finding]:
    """detect-secrets' keyword rules (quoted values: `"password": "…"`, `$pwd = '…'`), per line
    that holds one of their stems."""
    if not _has_stem(folded):
        return
    offset = 0
    # folding keeps every newline and adds none: the folded text's lines are the text's, folded
    for line, folded_line in zip(text.split("\n"), folded.split("\n"), strict=True):
        for value in d.KEYWORD.analyze_string(line) if _has_stem(folded_line) else ():
            keyword = d.SECRET_WORD.search(line)
            kind = p.PASSWORD if keyword and keyword.group().lower() in _PASSWORD_STEMS else p.API_KEY
            at = line.find(value, keyword.end() if keyword else 0)
            if at >= 0 and p.plausible_value(value, kind):
                yield Finding(kind, offset + at, offset + at + len(value))
        offset += len(line) + 1


def _has_stem(folded: str) -> bool:
    return p.holds_any(folded, d.KEYWORD_STEMS)


def _urls(text: str, folded: str) -> Iterator[Finding]:
    for m in _matches(p.URL_WITH_PASSWORD, text, folded):
        kind = p.DATABASE_URL if p.DB_SCHEME.match(m.group("scheme")) else p.URL_CREDENTIALS
        yield Finding(kind, m.start("v"), m.end("v"))
    for m in _matches(p.QUERY_SECRET, text, folded):
        key = m.group("key").lower()
        kind = p.PASSWORD if key.startswith(("pass", "pwd")) else p.API_KEY
        if p.plausible_value(m.group("v"), kind):
            yield Finding(kind, m.start("v"), m.end("v"))


def _access_and_crypt_keys(text: str, folded: str) -> Iterator[Finding]:
    for block in _matches(p.AUTH_JSON_BLOCK, text, folded):
        for m in p.AUTH_JSON_FIELD.finditer(block.group("body")):
            start = block.start("body") + m.start("v")
            yield Finding(p.ACCESS_KEY, start, start + len(m.group("v")))
    yield from _named(p.COMPOSER_HTTP_BASIC, text, p.ACCESS_KEY, folded)
    yield from _named(p.MARKETPLACE_KEY, text, p.ACCESS_KEY, folded)
    yield from _named(p.ENV_PHP_CRYPT, text, p.CRYPT_KEY, folded)
    for m in _matches(p.HEX32_KEY_VALUE, text, folded):
        near_crypt = "crypt" in text[max(0, m.start() - 200) : m.start()].lower()
        hex_part = m.group("v").removeprefix("base64")[:32]
        if near_crypt and d.HEX.calculate_shannon_entropy(hex_part) > d.HEX.entropy_limit:
            yield Finding(p.CRYPT_KEY, m.start("v"), m.end("v"))


def _keyword_assignments(text: str, folded: str) -> Iterator[Finding]:
    for kind, pattern in p.KEYWORD_ASSIGNMENTS:
        for m in _matches(pattern, text, folded):
            group = "qv" if m.group("qv") is not None else "v"
            start, end = m.span(group)
            value = m.group(group)
            if group == "v" and m.group("op") == "=":
                # key=value;other=… (DSN, query string): the value stops at the separator.
                value = re.split(r"[;&,]", value)[0]
                end = start + len(value)
            if p.plausible_value(value, kind) and not (group == "v" and p.starts_prose(value, text, end)):
                yield Finding(kind, start, end)


def _env_lines(text: str, folded: str) -> Iterator[Finding]:
    for m in (*_matches(p.ENV_LINE, text, folded), *_matches(p.DEFINE_CONSTANT, text, folded)):
        segments = m.group("key").split("_")
        if p.ENV_HARMLESS_SEGMENTS.intersection(segments):
            continue
        kinds = [p.ENV_SECRET_SEGMENTS[s] for s in segments if s in p.ENV_SECRET_SEGMENTS]
        if "API" in segments and "KEY" in segments:
            kinds.append(p.API_KEY)
        if kinds and p.plausible_value(m.group("v"), kinds[0]):
            yield Finding(kinds[0], m.start("v"), m.end("v"))


def _outside_markers(text: str, findings: Iterable[Finding]) -> Iterator[Finding]:
    """Markers of an earlier redaction are never redacted again, so `redact` is idempotent."""
    markers = [m.span() for m in _MARKER.finditer(text)]
    for f in findings:
        pieces = [(f.start, f.end)]
        for m_start, m_end in markers:
            pieces = [
                part
                for start, end in pieces
                for part in (
                    ((start, end),) if end <= m_start or start >= m_end else ((start, m_start), (m_end, end))
                )
            ]
        for start, end in pieces:
            if text[start:end].strip(" \t'\""):
                yield Finding(f.kind, start, end)


def _merge(findings: Iterable[Finding]) -> list[Finding]:
    """Overlapping findings become one span; it takes the most specific kind (KIND_PRIORITY)."""
    merged: list[Finding] = []
    for f in sorted(findings, key=lambda f: (f.start, -f.end)):
        if f.end <= f.start:
            continue
        if merged and f.start < merged[-1].end:
            last = merged[-1]
            kind = min(last.kind, f.kind, key=p.KIND_PRIORITY.index)
            merged[-1] = Finding(kind, last.start, max(last.end, f.end))
        else:
            merged.append(f)
    return merged
