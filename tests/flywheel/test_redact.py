"""Redaction at capture: a planted-secrets corpus leaves no trace, and ordinary code survives."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from punie_lsp.flywheel.redact import Redactor, env_file_values

# Each entry: (text with a planted secret, the secret). Secrets are fake but have the real shapes.
PLANTED: list[tuple[str, str]] = [
    (
        "OPENAI_API_KEY=sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAB7CDE0F",
        "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAB7CDE0F",
    ),
    (
        "client = OpenAI(api_key='sk-4f8Gh2Jk9Lm3Np7Qr1St5Uv0Wx6Yz2Ab8Cd4Ef9Gh1Jk3Lm')",
        "sk-4f8Gh2Jk9Lm3Np7Qr1St5Uv0Wx6Yz2Ab8Cd4Ef9Gh1Jk3Lm",
    ),
    (
        "anthropic: sk-ant-api03-Zq8Xw7Ve6Ud5Tc4Sb3Ra2Qp1On0Mm9Ll8Kk7Jj6Ii5Hh-AAAA",
        "sk-ant-api03-Zq8Xw7Ve6Ud5Tc4Sb3Ra2Qp1On0Mm9Ll8Kk7Jj6Ii5Hh-AAAA",
    ),
    (
        "git clone https://ghp_1a2B3c4D5e6F7g8H9i0J1k2L3m4N5o6P7q8R@github.com/x/y",
        "ghp_1a2B3c4D5e6F7g8H9i0J1k2L3m4N5o6P7q8R",
    ),
    (
        "token: github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEF",
        "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEF",
    ),
    ("gho_16C7e42F292c6912E7710c838347Ae178B4a in the log", "gho_16C7e42F292c6912E7710c838347Ae178B4a"),
    ("[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n", "AKIAIOSFODNN7EXAMPLE"),
    (
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    ),
    (
        '{"AWS_SECRET_ACCESS_KEY": "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"}',
        "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
    ),
    (
        "SLACK_BOT_TOKEN=xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
        "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    ),
    (
        "post to https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX now",
        "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
    ),
    ("maps_key = AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY", "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY"),
    (
        "Authorization: Bearer ya29.a0AfH6SMBx7qE3_kq1LmN0pQrStUvWxYz",
        "ya29.a0AfH6SMBx7qE3_kq1LmN0pQrStUvWxYz",
    ),
    ("GOOGLE_CLIENT_SECRET is 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", "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"),
    ("stripe.api_key = sk_live_51H8kLmN0pQrStUvWxYz0123", "sk_live_51H8kLmN0pQrStUvWxYz0123"),
    ("HF_TOKEN=hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234567", "hf_AbCdEfGhIjKlMnOpQrStUvWxYz01234567"),
    ("glpat-xYz123AbC456dEf789GhI0 for gitlab", "glpat-xYz123AbC456dEf789GhI0"),
    (
        "//registry.npmjs.org/:_authToken=npm_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
        "npm_a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
    ),
    (
        "password = pypi-AgEIcHlwaS5vcmcCJGE0ZTk3ZmE1LTgyNjktNGJiOC1hN2Q0",
        "pypi-AgEIcHlwaS5vcmcCJGE0ZTk3ZmE1LTgyNjktNGJiOC1hN2Q0",
    ),
    (
        "curl -H 'Authorization: Bearer "
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N'",
        "dozjgNryP4J3jVmNHl0w5N",
    ),
    ("headers = {'Authorization': 'Basic dXNlcjpzM2NyZXRQYXNz'}", "dXNlcjpzM2NyZXRQYXNz"),
    (
        "requests.get(url, headers={'authorization': 'token 9f8e7d6c5b4a39281706f5e4d3c2b1a0'})",
        "9f8e7d6c5b4a39281706f5e4d3c2b1a0",
    ),
    ("bearer q9W8e7R6t5Y4u3I2o1P0asdfghjk", "q9W8e7R6t5Y4u3I2o1P0asdfghjk"),
    (
        "key = '''-----BEGIN RSA PRIVATE KEY-----\n"
        "MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM2K1Zy\nq8yV+kLmN0pQ==\n"
        "-----END RSA PRIVATE KEY-----'''",
        "MIIEpAIBAAKCAQEA3Tz2mr7SZiAMfQyuvBjM2K1Zy",
    ),
    (
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n(truncated",
        "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ",
    ),
    (
        "-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQOYBF0Kq3cBCAC9mN2pQ\n-----END PGP PRIVATE KEY BLOCK-----",
        "lQOYBF0Kq3cBCAC9mN2pQ",
    ),
    ("DATABASE_URL=postgres://app:Tr0ub4dor&3@db.internal:5432/app", "Tr0ub4dor&3"),
    ("engine = create_engine('mysql+pymysql://root:hunter2hunter2@localhost/db')", "hunter2hunter2"),
    ("redis://:s3cr3tRedisPass@cache:6379/0", "s3cr3tRedisPass"),
    ("password=changeme123", "changeme123"),
    ("db_password = 'correct horse battery staple'", "correct horse battery staple"),
    ('settings = {"secret": "kL9#mN2$pQ5&"}', "kL9#mN2$pQ5&"),
    ("SECRET_KEY = 'django-insecure-8x!k2@m#n$p%q^r&s*t(u)v'", "django-insecure-8x!k2@m#n$p%q^r&s*t(u)v"),
    ("export DB_PASSWORD=Pa55w0rd!", "Pa55w0rd!"),
    ("MY_APP_TOKEN=plainwordsecret", "plainwordsecret"),
    ("smtp:\n  user: mailer\n  password: Wint3rIsC0ming\n", "Wint3rIsC0ming"),
    ("[pypi]\nusername = __token__\npassword = swordfish", "swordfish"),
    ("client_secret=zaq1xsw2cde3vfr4", "zaq1xsw2cde3vfr4"),
    ("api-key: 5up3r-s3cr3t-v4lu3", "5up3r-s3cr3t-v4lu3"),
    ("login(user='ada', passwd=\"Babbage1842\")", "Babbage1842"),
]

ENV_FILE = """\
# local settings
APP_ENV=production
DEBUG=true
PORT=8000
DB_HOST=db-7.internal.example.com
SESSION_SIGNING_VALUE="qU7wE9rT2yU4iO6pA8sD"
SENTRY_DSN=https://f00dfeedbeef@o12345.ingest.sentry.io/67890
SECRET_KEY=abcdef
"""
ENV_SECRETS = [
    "db-7.internal.example.com",
    "qU7wE9rT2yU4iO6pA8sD",
    "https://f00dfeedbeef@o12345.ingest.sentry.io/67890",
    "abcdef",
]

UNCHANGED = [
    "max_tokens=2048",
    "password: str",
    "api_key: SecretStr | None = None",
    "token = request.headers['Authorization']",
    "password=form.password.data",
    "secret = os.environ.get('SECRET_KEY')",
    "tokenizer = AutoTokenizer.from_pretrained(path)",
    "def check_password(password=password):",
    "if password == expected:",
    "r = typecheck('src')\nr.error_count",
    "The token count was 12 and output_tokens=340.",
]


@pytest.mark.parametrize(("text", "secret"), PLANTED, ids=[s[:14] for _, s in PLANTED])
def test_planted_secret_is_redacted(text: str, secret: str) -> None:
    """Each planted secret is gone from the redacted text and a marker stands in its place."""
    redactor = Redactor()
    out = redactor.redact(text)
    assert secret not in out
    assert "[REDACTED:" in out


def test_corpus_has_zero_leaks_as_one_document() -> None:
    """The whole corpus at once, also nested in JSON-like values, leaks nothing."""
    redactor = Redactor()
    document = "\n".join(text for text, _ in PLANTED)
    value = redactor.redact_value({"stdout": document, "args": [document], "nested": {"x": (document,)}})
    flat = repr(value) + redactor.redact(document)
    leaks = [secret for _, secret in PLANTED if secret in flat]
    assert leaks == []


def test_env_file_values_are_redacted_everywhere(tmp_path: Path) -> None:
    """Values of the project's `.env` files are redacted wherever they appear; plain words are kept."""
    (tmp_path / ".env").write_text(ENV_FILE)
    (tmp_path / ".env.local").write_text("LOCAL_ONLY=zx81spectrum48k\n")
    values = env_file_values(tmp_path)
    assert "production" not in values and "true" not in values and "8000" not in values
    redactor = Redactor.for_project(tmp_path)
    text = (
        "Connecting to db-7.internal.example.com with qU7wE9rT2yU4iO6pA8sD; sentry "
        "https://f00dfeedbeef@o12345.ingest.sentry.io/67890 signing abcdef zx81spectrum48k in production"
    )
    out = redactor.redact(text)
    for secret in [*ENV_SECRETS, "zx81spectrum48k"]:
        assert secret not in out
    assert "production" in out


def test_ordinary_code_is_left_alone() -> None:
    """Code that merely mentions passwords or tokens is not mangled (it is the training data)."""
    redactor = Redactor()
    for text in UNCHANGED:
        assert redactor.redact(text) == text


def test_redaction_is_idempotent() -> None:
    """Redacting twice gives the same text (markers are not redacted again)."""
    redactor = Redactor()
    once = redactor.redact("\n".join(text for text, _ in PLANTED))
    assert redactor.redact(once) == once


@pytest.mark.parametrize(
    "text",
    [
        "x" * 20_000,
        "a.b" * 7_000,
        "-" * 20_000,
        "aws_" * 5_000,
        "password = " * 2_000,
        ("- " * 20 + "token\n") * 400,
    ],
    ids=["word", "dotted", "dashes", "aws", "assignments", "yaml"],
)
def test_redaction_stays_linear_on_adversarial_text(text: str) -> None:
    """Long runs that made the generic patterns backtrack quadratically now redact in milliseconds."""
    started = time.perf_counter()
    Redactor().redact(text)
    assert time.perf_counter() - started < 0.5
