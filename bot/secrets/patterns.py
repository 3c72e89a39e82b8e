"""Our own patterns for credentials customers paste into support chats, and the value checks.

Every pattern names the secret with a group called ``v`` (several groups ``v1``, ``v2`` where a
pattern holds more than one value): only that span is redacted, so the key name and the rest
of the line stay readable (``password: [redacted: password]``).
"""

from __future__ import annotations

import re

PASSWORD = "password"
PRIVATE_KEY = "private key"
DATABASE_URL = "database URL"
URL_CREDENTIALS = "URL credentials"
API_KEY = "API key"
ACCESS_KEY = "access key"
CRYPT_KEY = "crypt key"

# When two findings overlap they are merged; the merged span takes the kind listed first.
KIND_PRIORITY = (PRIVATE_KEY, ACCESS_KEY, CRYPT_KEY, DATABASE_URL, URL_CREDENTIALS, API_KEY, PASSWORD)

# Whole armoured block, or up to the end of the text when the END line was not pasted.
PRIVATE_KEY_BLOCK = re.compile(
    r"(?P<v>-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
    r".*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|\Z))",
    re.DOTALL,
)
PUTTY_KEY_BLOCK = re.compile(r"(?P<v>PuTTY-User-Key-File-\d:.*?(?:Private-MAC: *\S+|\Z))", re.DOTALL)

DB_SCHEMES = (
    r"mysql|mysqli|mariadb|postgres|postgresql|pgsql|mongodb|mongodb\+srv|redis|rediss|"
    r"amqp|amqps|sqlserver|mssql|oracle|memcached|elasticsearch|opensearch"
)
# scheme://user:password@host; the password may itself hold '@' (greedy up to the last one).
URL_WITH_PASSWORD = re.compile(
    r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*)://[^\s:/@'\"<>]+:(?P<v>[^\s/'\"<>]+)@[\w.\-\[]"
)
DB_SCHEME = re.compile(rf"^(?:{DB_SCHEMES})(?:\+[a-z0-9]+)?$", re.IGNORECASE)

# PDO DSN (mysql:host=…;password=…) and ADO strings (Server=…;User Id=…;Password=…;).
PDO_DSN = re.compile(
    r"\b(?:mysql|pgsql|sqlsrv|oci|odbc|dblib):[^\s'\"]*?\b(?i:password|pwd)=(?P<v>[^;\s'\"]+)"
)
ADO_DSN = re.compile(
    # bounded `key=value;` segments keep this linear on hostile input
    r"(?i:\b(?:server|data source|host|hostname|database|initial catalog)\s*=)[^;\n]{0,200}"
    r"(?:;[^;\n]{0,200}){0,12}?;\s*(?i:password|pwd)\s*=\s*(?P<v>[^;\n'\"]+)"
)

# `mysql -u root -pS3cret magento` (the password glued to -p).
MYSQL_CLI = re.compile(r"\bmysql(?:dump|admin)?\b[^\n]{0,200}?\s-p(?P<v>[^\s'\"]+)")
CURL_USER = re.compile(r"(?:\s-u|--user)\s+['\"]?[^\s:'\"]+:(?P<v>[^\s'\"]+)")

AUTH_HEADER = re.compile(
    r"(?i:\bauthorization\s*[:=]\s*['\"]?(?:bearer|token)\s+)(?P<v>[A-Za-z0-9._~+/=\-]{8,})"
)
BASIC_HEADER = re.compile(r"(?i:\bauthorization\s*[:=]\s*['\"]?basic\s+)(?P<v>[A-Za-z0-9+/=]{8,})")
BEARER_TOKEN = re.compile(r"(?i:\bbearer\s+)(?P<v>[A-Za-z0-9._~+/=\-]{20,})")

# Adobe Commerce / Marketplace access keys: composer auth.json, `composer config` and free text.
AUTH_JSON_BLOCK = re.compile(r"repo\.magento\.com[\"']?\s*:\s*\{(?P<body>[^{}]{0,400})\}")
AUTH_JSON_FIELD = re.compile(r"[\"'](?:username|password)[\"']\s*:\s*[\"'](?P<v>[^\"']+)[\"']")
COMPOSER_HTTP_BASIC = re.compile(r"http-basic\.repo\.magento\.com\s+(?P<v1>[^\s'\"]+)\s+(?P<v2>[^\s'\"]+)")
MARKETPLACE_KEY = re.compile(
    r"(?i:\b(?:public|private)[ _-]?key|cl[ée] (?:publique|priv[ée]e))\s*[:=]\s*['\"]?(?P<v>[0-9a-f]{32})\b"
)

# Magento app/etc/env.php: 'crypt' => ['key' => '…'] (Magento 2.4.7+ keys start with "base64").
ENV_PHP_CRYPT = re.compile(
    r"['\"]crypt['\"]\s*=>\s*(?:\[|array\s*\()\s*['\"]key['\"]\s*=>\s*['\"](?P<v>[^'\"]+)['\"]"
)
HEX32_KEY_VALUE = re.compile(r"['\"]key['\"]\s*=>\s*['\"](?P<v>(?:base64)?[0-9a-fA-F]{32}[^'\"]*)['\"]")

# URLs and data: URIs are judged by their own rules (credentials, query keys), never by entropy:
# signed CDN links and inline base64 images are not secrets.
# Public SSH keys are public, not secrets.
URL_OR_DATA = re.compile(
    r"\b[a-z][a-z0-9+.\-]*://\S+|\bdata:[\w/+.\-]+;base64,\S+"
    r"|\b(?:ssh-(?:rsa|ed25519|dss)|ecdsa-sha2-nistp\d+|sk-ssh-ed25519@openssh\.com)\s+\S+",
    re.IGNORECASE,
)

# Query-string credentials. Signatures of signed CDN links (Signature=, X-Amz-Signature=, sig=)
# are deliberately left alone: they grant one file for a short time, not access to a system.
QUERY_SECRET = re.compile(
    r"[?&](?P<key>(?i:password|passwd|pwd|pass|api_?key|apikey|access_?token|auth_?token|token|"
    r"client_?secret|secret))=(?P<v>[^&#\s'\"]+)"
)

# An .npmrc line, `//registry.npmjs.org/:_authToken=npm_…`: detect-secrets' own pattern
# (`//.+/:_authToken=…`) tries every `//` of a line against the rest of it, quadratic on a line
# of slashes; this finds the key and the redaction looks back for the `//` once a line.
# (The value in a lookahead: a line with the key twice is searched from each.)
NPM_AUTH_TOKEN = re.compile(r"/:_authToken=(?=\s*(?P<v>npm_.+|[A-Fa-f0-9-]{36}))")

# Vendor token formats detect-secrets 1.5 does not know.
VENDOR_TOKENS = (
    re.compile(r"\b(?P<v>(?:sk|rk)_(?:test|live)_[0-9a-zA-Z]{16,})"),
    re.compile(r"\b(?P<v>whsec_[0-9a-zA-Z]{24,})"),
    re.compile(r"\b(?P<v>github_pat_[A-Za-z0-9_]{40,})"),
    re.compile(r"\b(?P<v>xapp-\d-[A-Za-z0-9-]{20,})"),
    re.compile(r"\b(?P<v>AIza[0-9A-Za-z_\-]{35})"),
    re.compile(r"discord(?:app)?\.com/api/webhooks/\d+/(?P<v>[\w\-]{30,})"),
)

# PHP constants: define('DB_PASSWORD', '…'); the name is judged like a `.env` key.
DEFINE_CONSTANT = re.compile(
    r"\bdefine\(\s*['\"](?P<key>[A-Z][A-Z0-9_]*)['\"]\s*,\s*['\"](?P<v>[^'\"\n]+)['\"]"
)

# `.env` lines: KEY=value where a segment of KEY names a secret.
ENV_LINE = re.compile(
    r"^[ \t]*(?:export[ \t]+)?(?P<key>[A-Z][A-Z0-9_]*)[ \t]*=[ \t]*(?P<q>['\"]?)(?P<v>[^\s'\"#][^\n'\"]*?)(?P=q)[ \t]*$",
    re.MULTILINE,
)
ENV_SECRET_SEGMENTS = {
    "SECRET": API_KEY,
    "TOKEN": API_KEY,
    "APIKEY": API_KEY,
    "PASSWORD": PASSWORD,
    "PASSWD": PASSWORD,
    "PASS": PASSWORD,
    "PWD": PASSWORD,
    "PRIVATE": PRIVATE_KEY,
    "CRYPT": CRYPT_KEY,
}
# Settings about a secret rather than the secret: TOKEN_LIFETIME=3600, PASSWORD_MIN_LENGTH=8.
ENV_HARMLESS_SEGMENTS = {
    "LIFETIME",
    "TTL",
    "LENGTH",
    "EXPIRY",
    "EXPIRES",
    "TIMEOUT",
    "MIN",
    "MAX",
    "URL",
    "PATH",
    "FILE",
}

# `keyword: value`, `keyword = value`, `'keyword' => 'value'`, `keyword is value` in prose.
# The keyword may carry a prefix (db_password, admin-pass, dbPassword) but no suffix, so
# password_hash, password_reset_token and TOKEN_LIFETIME never match.
_PREFIX = r"(?<![A-Za-z0-9])(?:[A-Za-z0-9]+[_.\-]|[a-z0-9]+(?=[A-Z]))*"
_KEY_END = r"(?![A-Za-z0-9_])['\"\]]?"
_ASSIGN = r"\s*(?P<op>:=|=>|::|:|=)\s*"
_VALUE = r"(?:(?P<quote>['\"`])(?P<qv>[^'\"`\n]+)(?P=quote)|(?P<v>[^\s'\"`][^\s]*))"
PASSWORD_WORDS = r"(?i:password|passwd|passwort|pwd|pass|passphrase|mdp|mot[ \-]de[ \-]passe|contrase[ñn]a)"
API_WORDS = (
    r"(?i:api[ _\-]?key|apikey|api[ _\-]?secret|secret[ _\-]?key|secret|client[ _\-]?secret|"
    r"consumer[ _\-]?(?:key|secret)|access[ _\-]?token(?:[ _\-]?secret)?|auth[ _\-]?token|token|jeton|"
    r"cl[ée] (?:d'api|api|secr[èe]te)|private[ _\-]?token|integration[ _\-]?token)"
)
CRYPT_WORDS = r"(?i:crypt[ _\-]?key|encryption[ _\-]?key|cl[ée] de (?:chiffrement|cryptage))"
KEYWORD_ASSIGNMENTS = tuple(
    (kind, re.compile(_PREFIX + words + _KEY_END + _ASSIGN + _VALUE))
    for kind, words in ((CRYPT_KEY, CRYPT_WORDS), (API_KEY, API_WORDS), (PASSWORD, PASSWORD_WORDS))
)
# "my password is …", "the password for admin is: …", "password Hunter22!" (values checked harder).
PASSWORD_IN_PROSE = re.compile(
    r"(?i:\b(?:password|passwd|pwd|pass|mot de passe|mdp)(?:\s+(?:for|of|de|du|pour)(?:\s+(?:the|le|la|les))?\s+[^\s:]+)?"
    r"(?P<verb>\s+(?:is|was|est)\s*:?|\s*:)?\s+)(?P<v>[^\s'\"]+)(?P<rest>[^\n]*)"
)
# "login: admin / S3cret!", "identifiants : admin / Motdepasse1", "user admin pass …" is the keyword rule.
LOGIN_PAIR = re.compile(
    r"(?i:\b(?:login|user(?:name)?|credentials|creds|identifiants?|utilisateur|access|acc[èe]s|compte)\s*[:=]\s*)"
    r"[^\s/:]+\s*/\s*(?P<v>[^\s/]+)"
)

# Words that follow "password:" in ordinary sentences and placeholders that are not secrets.
NOT_A_VALUE = frozenset(
    """
    null none nil empty n/a na - -- ? yes no true false on off ok required optional hidden redacted
    same identical identique unknown reset changed expired incorrect invalid wrong missing blank
    example sample placeholder test field the a an my your our their is was not le la les mon ma
    votre notre leur est pas vide oublié oublie oubliée perdu inconnu incorrect incorrecte faux
    erroné erronée expiré expire changé modifié requis obligatoire string str int bool
    forgotten forgot lost sent envoyé envoye below above attached ci-dessous ci-joint
    """.split()
)
# Masked values people type instead of the secret: ********, xxxx, ••••.
MASK = re.compile(r"^[*x•.#\-_]+$", re.IGNORECASE)


def starts_prose(value: str, text: str, end: int) -> bool:
    """Prose, not a value: "Password: please see below"; "Password: magento" alone is a value."""
    return value.isalpha() and re.match(r"[ \t]+[a-zà-ÿ]", text[end:]) is not None


def plausible_value(value: str, kind: str) -> bool:
    """Is this value a real secret rather than a placeholder, a variable or a word of prose?"""
    bare = value.strip().rstrip(".,;:)")
    if len(bare) < 3 or bare.lower() in NOT_A_VALUE or MASK.match(bare):
        return False
    if re.fullmatch(r"~?/[\w.\-/]*", bare):  # pwd: /var/www/html is a directory
        return False
    if bare[0] in "$%{<[(@" or "->" in bare or "::" in bare or bare.startswith(("getenv", "env(")):
        return False
    if bare.lower() in {"true", "false", "null"} or bare.isdigit() and kind != PASSWORD:
        return False
    if kind == API_KEY:
        return len(bare) >= 8 and any(c.isdigit() for c in bare)
    return True


def looks_like_password(value: str) -> bool:
    """Stricter test for values met in prose ("my password is …"): letters and a digit or symbol."""
    bare = value.rstrip(".,;:)")
    has_letter = any(c.isalpha() for c in bare)
    has_other = any(c.isdigit() or not c.isalnum() for c in bare)
    return len(bare) >= 6 and has_letter and has_other and bare.lower() not in NOT_A_VALUE


# Quoted random values under these keys are identifiers, not secrets: {"request_id": "…"}.
IDENTIFIER_KEY = re.compile(
    r"['\"](?:\w*[_\-])?(?:id|uuid|guid|sku|hash|etag|checksum|sha\d*|md5|version|nonce|request)['\"]\s*(?::|=>)\s*\Z",
    re.IGNORECASE,
)


def is_identifier(text: str, start: int) -> bool:
    """Is the value at `start` under an identifier key such as "id" or "request_id"?"""
    opening = start - 1 if start and text[start - 1] in "'\"" else start
    return IDENTIFIER_KEY.search(text, max(0, opening - 40), opening) is not None


def is_path(token: str) -> bool:
    segments = token.strip("/").split("/")
    return len(segments) > 1 and all(re.fullmatch(r"[A-Za-z_\-]*\d{0,2}", s) for s in segments)


# What a text must hold for a pattern to match anywhere in it: one of these strings, in the
# text as `fold` gives it. A text without any is not searched. Most patterns open with `\b` or
# a case-insensitive group, so the regex engine tries them at every position of the text; an
# ordinary message mentions none of these words, and substring tests cost next to nothing.
# tests/test_secrets.py proves from each pattern's parse that every match holds one of them.
NEEDS: dict[re.Pattern[str], tuple[str, ...]] = {
    PRIVATE_KEY_BLOCK: ("private key",),
    PUTTY_KEY_BLOCK: ("putty-user-key-file-",),
    URL_WITH_PASSWORD: ("://",),
    URL_OR_DATA: ("://", "data:", "ssh-", "ecdsa-"),
    PDO_DSN: ("pass", "pwd"),
    ADO_DSN: ("pass", "pwd"),
    MYSQL_CLI: ("mysql",),
    CURL_USER: ("-u",),
    AUTH_HEADER: ("authorization",),
    BASIC_HEADER: ("authorization",),
    BEARER_TOKEN: ("bearer",),
    AUTH_JSON_BLOCK: ("repo.magento.com",),
    COMPOSER_HTTP_BASIC: ("http-basic.repo.magento.com",),
    MARKETPLACE_KEY: ("key", "publique", "priv"),
    ENV_PHP_CRYPT: ("crypt",),
    HEX32_KEY_VALUE: ("key",),
    QUERY_SECRET: ("=",),
    NPM_AUTH_TOKEN: ("/:_authtoken=",),
    **dict(zip(VENDOR_TOKENS, [("_test_", "_live_"), ("whsec_",), ("github_pat_",), ("xapp-",), ("aiza",),
                               ("discord",)], strict=True)),
    DEFINE_CONSTANT: ("define(",),
    ENV_LINE: ("=",),
    **dict(zip((pattern for _, pattern in KEYWORD_ASSIGNMENTS),
               [("crypt", "chiffrement"), ("api", "secr", "key", "token", "jeton"), ("pass", "pwd", "mdp", "contrase")],
               strict=True)),
    PASSWORD_IN_PROSE: ("pass", "pwd", "mdp"),
    LOGIN_PAIR: ("/",),
}
# Case-insensitive patterns match these two to "i" as well; casefold() alone keeps them apart.
_DOTTED_I = str.maketrans({"\u0130": "i", "\u0131": "i"})


def fold(text: str) -> str:
    """`text` as the gates above read it: whatever a case-insensitive pattern takes for an ASCII
    letter becomes that letter (tests/test_secrets.py checks every code point)."""
    return text.translate(_DOTTED_I).casefold()


def may_match(pattern: re.Pattern[str], folded: str) -> bool:
    """False only when `pattern` cannot match the text whose `fold` is `folded`."""
    return holds_any(folded, NEEDS.get(pattern, ("",)))


def holds_any(folded: str, words: tuple[str, ...]) -> bool:
    for word in words:  # a loop, not any(): called for every pattern of every message
        if word in folded:
            return True
    return False
