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

from detect_secrets.plugins.aws import AWSKeyDetector
from detect_secrets.plugins.azure_storage_key import AzureStorageKeyDetector
from detect_secrets.plugins.base import RegexBasedDetector
from detect_secrets.plugins.discord import DiscordBotTokenDetector
from detect_secrets.plugins.github_token import GitHubTokenDetector
from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
from detect_secrets.plugins.high_entropy_strings import Base64HighEntropyString, HexHighEntropyString
from detect_secrets.plugins.jwt import JwtTokenDetector
from detect_secrets.plugins.keyword import KeywordDetector
from detect_secrets.plugins.mailchimp import MailchimpDetector
from detect_secrets.plugins.npm import NpmDetector
from detect_secrets.plugins.openai import OpenAIDetector
from detect_secrets.plugins.private_key import PrivateKeyDetector
from detect_secrets.plugins.pypi_token import PypiTokenDetector
from detect_secrets.plugins.sendgrid import SendGridDetector
from detect_secrets.plugins.slack import SlackDetector
from detect_secrets.plugins.square_oauth import SquareOAuthDetector
from detect_secrets.plugins.stripe import StripeDetector
from detect_secrets.plugins.telegram_token import TelegramBotTokenDetector
from detect_secrets.plugins.twilio import TwilioKeyDetector

from bot.secrets import patterns as p


@dataclass(frozen=True)
class Finding:
    kind: str
    start: int
    end: int


# Left out on purpose: Artifactory (matches SKUs like "APB12345678"), public IPs (not secrets),
# keyword-only IBM/SoftLayer/Cloudant detectors (our keyword rule covers them).
_FORMAT_PLUGINS: tuple[tuple[RegexBasedDetector, str], ...] = (
    (AWSKeyDetector(), p.ACCESS_KEY),
    (AzureStorageKeyDetector(), p.ACCESS_KEY),
    (SlackDetector(), p.API_KEY),
    (StripeDetector(), p.API_KEY),
    (GitHubTokenDetector(), p.API_KEY),
    (GitLabTokenDetector(), p.API_KEY),
    (DiscordBotTokenDetector(), p.API_KEY),
    (OpenAIDetector(), p.API_KEY),
    (SendGridDetector(), p.API_KEY),
    (NpmDetector(), p.API_KEY),
    (PypiTokenDetector(), p.API_KEY),
    (TelegramBotTokenDetector(), p.API_KEY),
    (TwilioKeyDetector(), p.API_KEY),
    (MailchimpDetector(), p.API_KEY),
    (SquareOAuthDetector(), p.API_KEY),
)
_JWT = JwtTokenDetector()
_PRIVATE_KEY = PrivateKeyDetector()
_KEYWORD = KeywordDetector()
_BASE64 = Base64HighEntropyString(limit=4.3)
_HEX = HexHighEntropyString(limit=3.0)
# Unquoted tokens must be longer than quoted ones to count as random.
_QUOTED_MIN, _UNQUOTED_MIN = 20, 32
_UNQUOTED_TOKEN = re.compile(r"(?<![\w+/=.\-])[A-Za-z0-9+/_\-]{32,}={0,2}(?![\w+/=.\-])")
# URLs and data: URIs are judged by their own rules (credentials, query keys), never by entropy:
# signed CDN links and inline base64 images are not secrets.
# Public SSH keys are public, not secrets.
_URL_OR_DATA = re.compile(
    r"\b[a-z][a-z0-9+.\-]*://\S+|\bdata:[\w/+.\-]+;base64,\S+"
    r"|\b(?:ssh-(?:rsa|ed25519|dss)|ecdsa-sha2-nistp\d+|sk-ssh-ed25519@openssh\.com)\s+\S+",
    re.IGNORECASE,
)
_TOKEN_TAIL = re.compile(r"[A-Za-z0-9_\-]*")
_JWT_TAIL = re.compile(r"[A-Za-z0-9_\-.+/=]*")
_MARKER = re.compile(r"\[redacted: [^\]\n]{1,40}\]")
# The keyword detect-secrets matched, so its value is looked for after it, not in the key name.
_SECRET_WORD = re.compile(r"(?i:pass|pwd|contrase|secret|key)")
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
    yield from _private_keys(text)
    yield from _format_plugins(text)
    yield from _high_entropy(text)
    yield from _keyword_plugin(text)
    yield from _urls(text)
    yield from _access_and_crypt_keys(text)
    yield from _keyword_assignments(text)
    yield from _env_lines(text)
    for kind, patterns in (
        (p.DATABASE_URL, (p.PDO_DSN, p.ADO_DSN)),
        (p.PASSWORD, (p.MYSQL_CLI, p.CURL_USER, p.BASIC_HEADER)),
        (p.API_KEY, (p.AUTH_HEADER, p.BEARER_TOKEN, *p.VENDOR_TOKENS)),
    ):
        for pattern in patterns:
            yield from _named(pattern, text, kind)
    for m in p.PASSWORD_IN_PROSE.finditer(text):
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
    for m in p.LOGIN_PAIR.finditer(text):
        if p.looks_like_password(m.group("v")) and not m.group("v").endswith(":"):
            yield Finding(p.PASSWORD, m.start("v"), m.end("v"))


def _named(pattern: re.Pattern[str], text: str, kind: str) -> Iterator[Finding]:
    """One finding per named value group (`v`, `v1`, `v2`) of each match."""
    for m in pattern.finditer(text):
        for name in ("v", "v1", "v2"):
            if name in pattern.groupindex and m.group(name):
                yield Finding(kind, m.start(name), m.end(name))


def _private_keys(text: str) -> Iterator[Finding]:
    yield from _named(p.PRIVATE_KEY_BLOCK, text, p.PRIVATE_KEY)
    yield from _named(p.PUTTY_KEY_BLOCK, text, p.PRIVATE_KEY)
    # A header detect-secrets knows but pasted without the dashes: take the base64 lines under it.
    for regex in _PRIVATE_KEY.denylist:
        for m in regex.finditer(text):
            end = m.end()
            while body := _KEY_BODY_LINE.match(text, end):
                end = body.end()
            if end > m.end():
                yield Finding(p.PRIVATE_KEY, m.start(), end)


def _format_plugins(text: str) -> Iterator[Finding]:
    for plugin, kind in _FORMAT_PLUGINS:
        if isinstance(plugin, NpmDetector) and "_authToken" not in text:
            continue  # its `//.+/` regex is quadratic on long runs of slashes
        for regex in plugin.denylist:
            for m in regex.finditer(text):
                start, end = _value_span(m)
                # Fixed-length patterns (Stripe's 24 chars) must not leave a longer token's tail.
                yield Finding(kind, start, _tail_end(_TOKEN_TAIL, text, end))
    for regex in _JWT.denylist:
        for m in regex.finditer(text):
            # Its pattern ends lazily and stops before the signature: take the whole token.
            if _JWT.is_formally_valid(m.group()):
                yield Finding(p.API_KEY, m.start(), _tail_end(_JWT_TAIL, text, m.end()))


def _tail_end(tail: re.Pattern[str], text: str, end: int) -> int:
    match = tail.match(text, end)
    return match.end() if match else end


def _value_span(m: re.Match[str]) -> tuple[int, int]:
    """The last group that matched (the secret inside its context), else the whole match."""
    for index in range(len(m.groups()), 0, -1):
        if m.group(index):
            return m.span(index)
    return m.span()


def _high_entropy(text: str) -> Iterator[Finding]:
    outside_urls = _outside(text, _URL_OR_DATA)
    for m in _BASE64.regex.finditer(text):
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
    return has_all_classes and _BASE64.calculate_shannon_entropy(token) > _BASE64.entropy_limit


def _outside(text: str, pattern: re.Pattern[str]) -> Any:
    spans = [m.span() for m in pattern.finditer(text)]
    return lambda position: not any(start <= position < end for start, end in spans)


def _keyword_plugin(text: str) -> Iterator[Finding]:
    """detect-secrets' keyword rules (quoted values: `"password": "…"`, `$pwd = '…'`), per line."""
    offset = 0
    for line in text.split("\n"):
        for value in _KEYWORD.analyze_string(line):
            keyword = _SECRET_WORD.search(line)
            kind = p.PASSWORD if keyword and keyword.group().lower() in _PASSWORD_STEMS else p.API_KEY
            at = line.find(value, keyword.end() if keyword else 0)
            if at >= 0 and p.plausible_value(value, kind):
                yield Finding(kind, offset + at, offset + at + len(value))
        offset += len(line) + 1


def _urls(text: str) -> Iterator[Finding]:
    for m in p.URL_WITH_PASSWORD.finditer(text):
        kind = p.DATABASE_URL if p.DB_SCHEME.match(m.group("scheme")) else p.URL_CREDENTIALS
        yield Finding(kind, m.start("v"), m.end("v"))
    for m in p.QUERY_SECRET.finditer(text):
        key = m.group("key").lower()
        kind = p.PASSWORD if key.startswith(("pass", "pwd")) else p.API_KEY
        if p.plausible_value(m.group("v"), kind):
            yield Finding(kind, m.start("v"), m.end("v"))


def _access_and_crypt_keys(text: str) -> Iterator[Finding]:
    for block in p.AUTH_JSON_BLOCK.finditer(text):
        for m in p.AUTH_JSON_FIELD.finditer(block.group("body")):
            start = block.start("body") + m.start("v")
            yield Finding(p.ACCESS_KEY, start, start + len(m.group("v")))
    yield from _named(p.COMPOSER_HTTP_BASIC, text, p.ACCESS_KEY)
    yield from _named(p.MARKETPLACE_KEY, text, p.ACCESS_KEY)
    yield from _named(p.ENV_PHP_CRYPT, text, p.CRYPT_KEY)
    for m in p.HEX32_KEY_VALUE.finditer(text):
        near_crypt = "crypt" in text[max(0, m.start() - 200) : m.start()].lower()
        hex_part = m.group("v").removeprefix("base64")[:32]
        if near_crypt and _HEX.calculate_shannon_entropy(hex_part) > _HEX.entropy_limit:
            yield Finding(p.CRYPT_KEY, m.start("v"), m.end("v"))


def _keyword_assignments(text: str) -> Iterator[Finding]:
    for kind, pattern in p.KEYWORD_ASSIGNMENTS:
        for m in pattern.finditer(text):
            group = "qv" if m.group("qv") is not None else "v"
            start, end = m.span(group)
            value = m.group(group)
            if group == "v" and m.group("op") == "=":
                # key=value;other=… (DSN, query string): the value stops at the separator.
                value = re.split(r"[;&,]", value)[0]
                end = start + len(value)
            if p.plausible_value(value, kind) and not (group == "v" and p.starts_prose(value, text, end)):
                yield Finding(kind, start, end)


def _env_lines(text: str) -> Iterator[Finding]:
    for m in (*p.ENV_LINE.finditer(text), *p.DEFINE_CONSTANT.finditer(text)):
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
