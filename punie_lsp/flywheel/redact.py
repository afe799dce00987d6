"""Redaction at capture: secrets never reach a trace file.

Every string a trace holds (prompts, messages, code, printed output, tool arguments and results, diffs,
signals) goes through `Redactor.redact` before it is written. Two kinds of rule apply:

- **literal values** read from the project's `.env` files (`.env`, `.env.local`, `.env.production`, …):
  every occurrence of such a value is replaced, wherever it appears;
- **patterns** (`PATTERNS`): provider key formats (OpenAI, Anthropic, GitHub, AWS, Slack, Google, Stripe,
  Hugging Face, GitLab, npm, PyPI), JWTs, bearer and basic credentials, private key blocks, passwords in
  URLs, environment-style assignments (`DB_PASSWORD=…`) and generic `password=`/`secret=`/`token=`/
  `api_key=` assignments.

A secret becomes `[REDACTED:<kind>]`, so a reader can still tell what stood there. The generic assignment
rule leaves code alone where it can tell (`password=form.password.data`, `token = get_token()`,
`max_tokens=2048`, `password: str`): the training data is code, and over-redacting it teaches the model
to write `[REDACTED]`. The pattern set is tested against a planted-secrets corpus (zero leaks).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ("PATTERNS", "Redactor", "SecretPattern", "env_file_values", "redact")

_KEYWORD = (
    r"(?:password|passwd|passphrase|pwd|secret|token|api[_\-]?key|apikey|access[_\-]?key|private[_\-]?key|"
    r"client[_\-]?secret|credentials?)"
)
"""Names of settings that hold secrets (in any case)."""


@dataclass(frozen=True)
class SecretPattern:
    """One redaction rule: a regex whose `group` is the secret."""

    kind: str
    """What it finds (`openai_key`, `private_key`, …); shown in the replacement."""
    regex: re.Pattern[str]
    """The pattern."""
    group: int = 0
    """The group holding the secret (0: the whole match)."""


def _p(kind: str, pattern: str, group: int = 0, flags: int = 0) -> SecretPattern:
    return SecretPattern(kind, re.compile(pattern, flags), group)


PATTERNS: tuple[SecretPattern, ...] = (
    _p(
        "private_key",
        r"-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----.*?"
        r"(?:-----END[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----|\Z)",
        flags=re.DOTALL,
    ),
    _p("anthropic_key", r"sk-ant-[A-Za-z0-9_\-]{20,}"),
    _p("openai_key", r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}"),
    _p("github_token", r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})"),
    _p("gitlab_token", r"\bglpat-[A-Za-z0-9_\-]{20,}"),
    _p("aws_access_key", r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b"),
    _p(
        "aws_secret_key",
        r"(?i)(aws[\w\-]{0,30}(?:secret|key)[\w\-]{0,30}[\"']?[ \t]{0,16}[:=][ \t]{0,16}[\"']?)"
        r"([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])",
        group=2,
    ),
    _p("slack_token", r"\bxox[abposre]-[A-Za-z0-9\-]{10,}"),
    _p("slack_webhook", r"https://hooks\.slack\.com/services/[A-Za-z0-9/_\-]+"),
    _p("google_api_key", r"\bAIza[0-9A-Za-z_\-]{35}"),
    _p("google_oauth_token", r"\bya29\.[0-9A-Za-z_\-]{20,}"),
    _p("google_client_secret", r"\bGOCSPX-[A-Za-z0-9_\-]{20,}"),
    _p("stripe_key", r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}"),
    _p("huggingface_token", r"\bhf_[A-Za-z0-9]{30,}"),
    _p("npm_token", r"\bnpm_[A-Za-z0-9]{36}"),
    _p("pypi_token", r"\bpypi-AgE[A-Za-z0-9_\-]{20,}"),
    _p("jwt", r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"),
    _p(
        "url_password",
        r"(?i)\b([a-z][a-z0-9+.\-]{0,30}://[^\s/:@'\"]{0,256}:)([^\s/@'\"]{1,256})(?=@)",
        group=2,
    ),
    _p(
        "authorization",
        r"(?i)(authorization[\"']?[ \t]{0,16}[:=][ \t]{0,16}[\"']?(?:basic|bearer|token|digest)?[ \t]{0,16})"
        r"([A-Za-z0-9._~+/\-]{8,}=*)",
        group=2,
    ),
    _p("bearer_token", r"(?i)\b(bearer[ \t]{1,16})([A-Za-z0-9._~+/\-]{12,}=*)", group=2),
    _p(
        "env_secret",
        r"(?m)^([ \t]{0,32}(?:export[ \t]+)?[A-Z0-9_]{0,64}?(?:PASSWORD|PASSWD|PASSPHRASE|PWD|SECRET|TOKEN|"
        r"API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIALS?|AUTH)[A-Z0-9_]{0,64}[ \t]{0,16}=[ \t]{0,16})"
        r"([^\s#][^\n]*?)[ \t]*$",
        group=2,
    ),
    _p(
        "assignment",
        r"(?i)((?<![\w.\-])[\"']?[\w.\-]{0,64}?"
        + _KEYWORD
        + r"(?:[_\-.][\w.\-]{0,64})?[\"']?[ \t]{0,16}(?::=|=|:)(?!=)[ \t]{0,16})([\"'])([^\"'\n]+)\2",
        group=3,
    ),
)
"""The pattern rules, applied in order (block and provider formats before the generic assignments).

Every quantifier that can meet a long run of the same characters is bounded, so redaction stays linear in
the text's length (a 20,000-character token costs milliseconds, not minutes)."""

_UNQUOTED = re.compile(
    r"(?im)(^[ \t\-]{0,32}[\"']?|[\s,;({\[]|^)((?<![\w.\-])[\w.\-]{0,64}?"
    + _KEYWORD
    + r"(?:[_\-.][\w.\-]{0,64})?)([\"']?[ \t]{0,16})(=|:)(?!=)([ \t]{0,16})([^\s\"'`,;()\[\]{}<>]+)"
    + r"([ \t]{0,16}[(\[.]?)"
)
"""Unquoted `key=value` / `key: value` assignments; `_unquoted` decides which values are secrets."""

_CODE_VALUES = frozenset(
    {
        "none",
        "null",
        "true",
        "false",
        "str",
        "bytes",
        "int",
        "float",
        "bool",
        "any",
        "optional",
        "secretstr",
        "secretbytes",
        "list",
        "dict",
        "tuple",
        "set",
        "self",
        "cls",
        "lambda",
        "not",
        "await",
    }
)
"""Unquoted values that are code (types, constants, keywords), never secrets."""

_KEYWORD_RE = re.compile(_KEYWORD, re.IGNORECASE)
_TRIGGER = re.compile(
    r"(?i:password|passwd|passphrase|pwd|secret|token|api[_\-]?key|apikey|access[_\-]?key|private[_\-]?key|"
    r"credential|authorization|bearer|aws)|sk-|gh[pousr]_|github_pat_|glpat-|"
    r"A(?:KIA|SIA|BIA|CCA|GPA|IDA|ROA|NPA|NVA|IPA)|xox[abposre]-|hooks\.slack|AIza|ya29\.|GOCSPX-|_live_|_test_|"
    r"hf_|npm_|pypi-|eyJ|://|PRIVATE KEY"
)
"""Something at least one pattern needs; a text without any of these is returned after one scan."""
_IDENTIFIER_CHAIN = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")
_NUMBER = re.compile(r"[+\-]?\d+(?:\.\d+)?")
_CAMEL = re.compile(r"[A-Z][a-z]+(?:[A-Z][a-z]*)*")


def _marker(kind: str) -> str:
    return f"[REDACTED:{kind}]"


def _unquoted(match: re.Match[str]) -> str:
    lead, key, close, sep, space, value, follow = match.groups()
    keep = (
        value.startswith("[REDACTED")
        or follow.strip() != ""  # a call, subscript or attribute: `token = get_token()`
        or value.lower() in _CODE_VALUES
        or value.lower() == key.lower()  # `password=password` forwards a variable
        or _NUMBER.fullmatch(value) is not None  # `max_tokens=2048`
        or _IDENTIFIER_CHAIN.fullmatch(value) is not None  # `password=form.password.data`
        or (sep == ":" and _CAMEL.fullmatch(value) is not None)  # `api_key: SecretStr`
    )
    if keep:
        return match.group(0)
    return f"{lead}{key}{close}{sep}{space}{_marker('assignment')}{follow}"


def env_file_values(root: Path) -> list[str]:
    """Values of the `.env` files at the project root worth redacting.

    Values under 6 characters and plain words under 16 characters (`production`, `true`) are left out
    unless their key names a secret; everything else (hosts, URLs, keys, ids) is redacted.
    """
    values: list[str] = []
    try:
        files = sorted(p for p in root.glob(".env*") if p.is_file())
    except OSError:
        return values
    for path in files:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            key, _, value = line.removeprefix("export ").partition("=")
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            elif " #" in value:
                value = value.split(" #", 1)[0].rstrip()
            sensitive = re.search(_KEYWORD, key, re.IGNORECASE) is not None
            if len(value) < 4 or (len(value) < 6 and not sensitive):
                continue
            if not sensitive and value.isalpha() and len(value) < 16:
                continue
            values.append(value)
    return values


class Redactor:
    """Replaces secrets in strings and in JSON-like values.

    Args:
        literals: exact values to redact wherever they occur (the project's `.env` values).
        patterns: the pattern rules (default `PATTERNS`).
    """

    def __init__(self, literals: Iterable[str] = (), *, patterns: Iterable[SecretPattern] = PATTERNS) -> None:
        self.patterns = tuple(patterns)
        variants: set[str] = set()
        for value in literals:
            if value:
                variants.add(value)
                escaped = json.dumps(value)[1:-1]
                if escaped != value:
                    variants.add(escaped)
        ordered = sorted(variants, key=len, reverse=True)
        self._literals = re.compile("|".join(re.escape(v) for v in ordered)) if ordered else None

    @classmethod
    def for_project(cls, root: Path | None) -> Redactor:
        """A redactor for a project: the patterns plus the values of its `.env` files."""
        return cls(env_file_values(root) if root is not None else ())

    def redact(self, text: str) -> str:
        """Return `text` with every secret replaced by `[REDACTED:<kind>]`."""
        if not text:
            return text
        if self._literals is not None:
            text = self._literals.sub(_marker("env_value"), text)
        if _TRIGGER.search(text) is None:
            return text
        for pattern in self.patterns:
            text = _substitute(pattern, text)
        if _KEYWORD_RE.search(text) is None:
            return text
        return _UNQUOTED.sub(_unquoted, text)

    def redact_value(self, value: object) -> object:
        """Redact every string inside a JSON-like value (dicts, lists, tuples, strings; keys included)."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, Mapping):
            return {_key(self, k): self.redact_value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.redact_value(v) for v in value]
        return value


def _key(redactor: Redactor, key: object) -> object:
    # Field names (`part_kind`, `input_tokens`) are not secrets; only an odd or long key is worth a scan.
    if isinstance(key, str) and not (len(key) < 20 and key.isidentifier()):
        return redactor.redact(key)
    return key


def _substitute(pattern: SecretPattern, text: str) -> str:
    marker = _marker(pattern.kind)
    if pattern.group == 0:
        return pattern.regex.sub(marker, text)

    def replace(match: re.Match[str]) -> str:
        start, end = match.span(pattern.group)
        whole_start = match.start()
        chunk = match.group(0)
        return chunk[: start - whole_start] + marker + chunk[end - whole_start :]

    return pattern.regex.sub(replace, text)


_DEFAULT = Redactor()


def redact(text: str) -> str:
    """Redact `text` with the pattern rules only (no `.env` values)."""
    return _DEFAULT.redact(text)
