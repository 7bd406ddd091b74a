"""One redaction for every error path: passwords, tokens and known secrets never reach a message."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shipyard.redact import redact

# Secrets as people write them: printable, with the characters that break naive parsers (spaces, '@', '=').
secrets = st.text(st.sampled_from("abcXYZ0129-_.~+/=@ !$%^*"), min_size=6, max_size=24).filter(
    lambda s: s.strip() == s and " " not in s[:1]
)
plain = st.text(st.sampled_from("abcdefgh0123"), min_size=6, max_size=24)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("postgresql://app:s3cret@db:5432/app", "postgresql://app:***@db:5432/app"),
        ("postgresql://db/app?sslmode=require&password=s3cret", "postgresql://db/app?sslmode=require&password=***"),
        ("host=db password='a b c' dbname=app", "host=db password='***' dbname=app"),
        ('host=db password="with \\" quote" user=x', 'host=db password="***" user=x'),
        ("PGPASSWORD=hunter22 psql", "PGPASSWORD=*** psql"),
        ('{"token": "ghp_abc def"}', '{"token": "***"}'),
        ("Authorization: Bearer ghp_0123456789abcdef", "Authorization: Bearer ***"),
        ("https://x-access-token:ghs_123@github.com/a/b.git", "https://x-access-token:***@github.com/a/b.git"),
        ("https://ghp_tokenasuser@github.com/a/b.git", "https://***@github.com/a/b.git"),
        ("https://u:p@ss@host/db", "https://u:***@host/db"),
        ("//registry/:_authToken=npm_abc", "//registry/:_authToken=***"),
    ],
)
def test_the_reviews_shapes_are_hidden(text: str, shown: str) -> None:
    assert redact(text) == shown


@pytest.mark.parametrize(
    "text",
    [
        "https://harbor:8443/v2/services/api/manifests/sha256:abc@sha256:def",
        "docker://host:5000/repo@sha256:0123",
        "ssh://git@github.com/acme/monorepo.git",
        "git@github.com:acme/monorepo.git",
        "secretRef=production-db token_file=/run/token",
        "the token lacks a permission",
    ],
)
def test_what_is_not_a_secret_is_left_alone(text: str) -> None:
    assert redact(text) == text


@settings(max_examples=200, deadline=None)
@given(secret=secrets, user=plain, host=plain)
def test_a_password_never_survives_in_any_url_or_conninfo_shape(secret: str, user: str, host: str) -> None:
    from urllib.parse import quote

    shapes = [
        f"postgresql://{user}:{quote(secret, safe='')}@{host}:5432/app",
        f"postgresql://{user}:{secret.replace('/', '')}@{host}/app",
        f"postgresql://{host}/app?password={quote(secret, safe='')}&sslmode=disable",
        f"host={host} password='{secret.replace(chr(39), '')}' dbname=app",
        f"https://{user}:{quote(secret, safe='')}@{host}/repo.git",
        f"failed: Authorization: Bearer {quote(secret, safe='')}x",
    ]
    for shape in shapes:
        shown = redact(f"error: cannot connect to {shape}: timeout")
        hidden = [quote(secret, safe=""), secret.replace("/", ""), secret.replace("'", "")]
        assert not any(h in shown for h in hidden if len(h) >= 6 and h not in shape.replace(h, "", 1)), shown


@settings(max_examples=100, deadline=None)
@given(secret=secrets, before=st.text(max_size=20), after=st.text(max_size=20))
def test_a_known_secret_is_hidden_wherever_it_appears(secret: str, before: str, after: str) -> None:
    assert secret not in redact(before + secret + after, [secret])


def test_there_is_one_redactor() -> None:
    """Every module hides secrets through ``shipyard.redact``: no other module masks with its own pattern."""
    from pathlib import Path

    import shipyard

    root = Path(shipyard.__file__).parent
    own = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if path.name != "redact.py" and ("def redact" in (text := path.read_text()) or '\\1***"' in text)
    ]
    assert own == []


def test_an_escaped_space_in_a_libpq_value_does_not_end_the_secret() -> None:
    assert redact("host=db password=a\\ b,c dbname=app") == "host=db password=*** dbname=app"
