"""Credential detection and redaction, measured on a corpus of real-looking support messages."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.secrets.redaction import Finding, find_secrets, redact

DATA = Path(__file__).parent / "data"
# Ordinary messages wrongly flagged; the corpus currently reaches zero, keep it there.
MAX_FALSE_POSITIVES = 0


@dataclass(frozen=True)
class Sample:
    label: str
    text: str
    secrets: tuple[str, ...]


def load_corpus(name: str) -> list[Sample]:
    """Samples start at a "%% label" line; "@secret value" lines right after it are expectations."""
    samples: list[Sample] = []
    chunks = (DATA / name).read_text(encoding="utf-8").split("\n%% ")[1:]
    for chunk in chunks:
        label, _, body = chunk.partition("\n")
        lines = body.split("\n")
        secrets = []
        while lines and lines[0].startswith("@secret "):
            secrets.append(lines.pop(0).removeprefix("@secret "))
        samples.append(Sample(label.strip(), "\n".join(lines).rstrip("\n"), tuple(secrets)))
    return samples


POSITIVE = load_corpus("secrets_positive.txt")
NEGATIVE = load_corpus("secrets_negative.txt")


def test_corpus_is_large_enough_and_every_positive_names_its_secret() -> None:
    assert len(POSITIVE) >= 50
    assert len(NEGATIVE) >= 80
    for sample in POSITIVE:
        assert sample.secrets, sample.label
        for secret in sample.secrets:
            assert secret in sample.text, sample.label


@pytest.mark.parametrize("sample", POSITIVE, ids=lambda s: s.label)
def test_positive_sample_is_found_and_its_secret_is_gone(sample: Sample) -> None:
    assert find_secrets(sample.text), sample.label
    redacted, kinds = redact(sample.text)
    assert kinds
    for secret in sample.secrets:
        assert secret not in redacted
    assert "[redacted: " in redacted


def test_negative_corpus_stays_untouched() -> None:
    flagged = [(s.label, find_secrets(s.text)) for s in NEGATIVE if find_secrets(s.text)]
    true_positive_rate = sum(1 for s in POSITIVE if find_secrets(s.text)) / len(POSITIVE)
    print(f"false positives: {len(flagged)}/{len(NEGATIVE)}; true-positive rate: {true_positive_rate:.0%}")
    assert len(flagged) <= MAX_FALSE_POSITIVES, flagged


@pytest.mark.parametrize("sample", NEGATIVE, ids=lambda s: s.label)
def test_negative_sample_redacts_to_itself(sample: Sample) -> None:
    assert redact(sample.text) == (sample.text, [])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("password: hunter2x", "password: [redacted: password]"),
        ("mot de passe : Azerty123", "mot de passe : [redacted: password]"),
        ("DB_PASSWORD=Xy7pQ2wE9r", "DB_PASSWORD=[redacted: password]"),
        ("mysql://root:pw1@db:3306/shop", "mysql://root:[redacted: database URL]@db:3306/shop"),
        ("https://bob:pw2@example.com/admin", "https://bob:[redacted: URL credentials]@example.com/admin"),
        (
            "'crypt' => ['key' => 'a3c9f1e07b2d4c6e8f0a1b2c3d4e5f60']",
            "'crypt' => ['key' => '[redacted: crypt key]']",
        ),
        ("Authorization: Bearer 9x8y7z6w5v4u3t2s1r0q", "Authorization: Bearer [redacted: API key]"),
        ("key AKIAIOSFODNN7EXAMPLE here", "key [redacted: access key] here"),
    ],
)
def test_only_the_value_is_replaced_and_the_key_name_stays(text: str, expected: str) -> None:
    assert redact(text)[0] == expected


def test_redaction_keeps_the_rest_of_the_message_intact() -> None:
    text = "Hi team,\n\nCheckout fails on 2.4.6-p3.\nLogin: admin\nPassword: Xk9#mPq2\n\nThanks, Anna"
    redacted, kinds = redact(text)
    assert (
        redacted
        == "Hi team,\n\nCheckout fails on 2.4.6-p3.\nLogin: admin\nPassword: [redacted: password]\n\nThanks, Anna"
    )
    assert kinds == ["password"]


def test_several_secrets_in_one_message_are_all_redacted_and_kinds_listed_once_in_order() -> None:
    text = (
        "db: mysql://shop:DbPw123@10.0.0.5/shop\n"
        "admin password: Adm1n!pw\n"
        "ftp password: Ftp!pw99\n"
        "stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc\n"
    )
    redacted, kinds = redact(text)
    for secret in ("DbPw123", "Adm1n!pw", "Ftp!pw99", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"):
        assert secret not in redacted
    assert kinds == ["database URL", "password", "API key"]
    assert redacted.count("[redacted: password]") == 2


def test_a_message_that_is_only_a_private_key_becomes_one_marker() -> None:
    key = (
        "-----BEGIN OPENSSH PRIVATE KEY-----\n"
        "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n"
        "QyNTUxOQAAACDxl3T2gkVt0vwKwB3yQk5Q3b5m6bFJg8P1yq3mW5v4pAAAAJgAAAAAAAAAA\n"
        "-----END OPENSSH PRIVATE KEY-----"
    )
    assert find_secrets(key) == [Finding("private key", 0, len(key))]
    assert redact(key) == ("[redacted: private key]", ["private key"])
    assert redact(key + "\n") == ("[redacted: private key]\n", ["private key"])


def test_findings_are_sorted_and_never_overlap() -> None:
    sample = next(s for s in POSITIVE if s.label == "composer auth.json")
    text = "\n".join(s.text for s in POSITIVE)
    for findings in (find_secrets(sample.text), find_secrets(text)):
        assert findings == sorted(findings, key=lambda f: f.start)
        assert all(a.end <= b.start for a, b in zip(findings, findings[1:], strict=False))


def test_a_text_without_secrets_gives_an_empty_result() -> None:
    assert find_secrets("") == []
    assert redact("") == ("", [])


def test_redacting_twice_changes_nothing_more() -> None:
    for sample in POSITIVE:
        once, _ = redact(sample.text)
        assert redact(once) == (once, []), sample.label


def test_a_secret_glued_to_an_old_marker_is_still_redacted() -> None:
    assert redact("[redacted: password] password: Hunter22!")[0] == (
        "[redacted: password] password: [redacted: password]"
    )
