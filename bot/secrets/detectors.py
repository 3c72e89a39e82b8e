"""The detect-secrets plugins redaction runs, each with the words its patterns need.

A plugin's patterns run only on a text that holds one of its words (as `patterns.fold` gives
the text), as `patterns.NEEDS` gates our own; tests/test_secret_gates.py proves each from the
patterns' parse, so a new detect-secrets release that changes one fails there, not in silence.
"""

from __future__ import annotations

import re

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

# Left out on purpose: Artifactory (matches SKUs like "APB12345678"), public IPs (not secrets),
# keyword-only IBM/SoftLayer/Cloudant detectors (our keyword rule covers them), npm (its pattern
# is quadratic on a hostile line: patterns.NPM_AUTH_TOKEN finds the same tokens).
# Each with what a text must hold for one of its patterns to match (see p.NEEDS).
FORMAT_PLUGINS: tuple[tuple[RegexBasedDetector, str, tuple[str, ...]], ...] = (
    (AWSKeyDetector(), p.ACCESS_KEY, ("a3t", "abia", "acca", "akia", "asia", "aws")),
    (AzureStorageKeyDetector(), p.ACCESS_KEY, ("accountkey=",)),
    (SlackDetector(), p.API_KEY, ("xox", "hooks.slack.com")),
    (StripeDetector(), p.API_KEY, ("k_live_",)),
    (GitHubTokenDetector(), p.API_KEY, ("ghp_", "gho_", "ghu_", "ghs_", "ghr_")),
    (GitLabTokenDetector(), p.API_KEY, ("glpat-", "gldt-", "glft-", "glsoat-", "glrt-", "gr1348941", "glcbt-",
                                        "glimt-", "glptt-", "glagent-", "gloas-")),
    (DiscordBotTokenDetector(), p.API_KEY, (".",)),
    (OpenAIDetector(), p.API_KEY, ("t3blbkfj",)),
    (SendGridDetector(), p.API_KEY, ("sg.",)),
    (PypiTokenDetector(), p.API_KEY, ("pypi-",)),
    (TelegramBotTokenDetector(), p.API_KEY, (":",)),
    (TwilioKeyDetector(), p.API_KEY, ("ac", "sk")),
    (MailchimpDetector(), p.API_KEY, ("-us",)),
    (SquareOAuthDetector(), p.API_KEY, ("sq0csp-",)),
)
JWT = JwtTokenDetector()
JWT_NEEDS = "eyj"
PRIVATE_KEY = PrivateKeyDetector()
PRIVATE_KEY_NEEDS = ("private key", "putty-user-key-file-")
KEYWORD = KeywordDetector()
BASE64 = Base64HighEntropyString(limit=4.3)
HEX = HexHighEntropyString(limit=3.0)
# Every word of detect-secrets' keyword list holds one of them (tests/test_secret_gates.py proves it):
# a line without any is not searched.
KEYWORD_STEMS = ("pass", "pwd", "contrase", "secret", "key")
# The keyword detect-secrets matched, so its value is looked for after it, not in the key name.
SECRET_WORD = re.compile(f"(?i:{'|'.join(KEYWORD_STEMS)})")
