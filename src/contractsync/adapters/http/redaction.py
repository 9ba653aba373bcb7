"""Safe excerpts of remote response bodies: short, and with credentials and tokens blanked out."""

from __future__ import annotations

import re

EXCERPT_LIMIT = 300
REDACTED = "[redacted]"

_SENSITIVE = (
    r"[^\"'=&\s]*(?:password|passwd|secret|token|authorization|api[_-]?key|assertion|"
    r"signature|session[_-]?id|cookie|private[_-]?key|credential)[^\"'=&\s]*"
)
# A JSON string value may be cut off by the remote (or be longer than we read): match to the end.
_JSON_PAIR = re.compile(rf'("{_SENSITIVE}"\s*:\s*)"(?:[^"\\]|\\.)*(?:"|$)', re.IGNORECASE)
_JSON_SCALAR = re.compile(rf'("{_SENSITIVE}"\s*:\s*)(?!["\s])[^,}}\]\s]+', re.IGNORECASE)
_FORM_PAIR = re.compile(rf"(?<![\w\"'])({_SENSITIVE}=)[^&\s\"']*", re.IGNORECASE)
_AUTH_SCHEME = re.compile(r"\b(Bearer|Basic|Digest|OAuth)\s+[\w\-.~+/=]+", re.IGNORECASE)
_JWT = re.compile(r"\beyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*")


def redact(text: str) -> str:
    """Blank out credential-looking values in free text, JSON or form encoding.

    Args:
        text: Any text that came from a remote system.

    Returns:
        The text with the values of secret-named keys, auth-scheme tokens and JWTs replaced by
        ``[redacted]``; key names are kept so the reader still sees what was there.
    """
    text = _JSON_PAIR.sub(rf'\1"{REDACTED}"', text)
    text = _JSON_SCALAR.sub(rf'\1"{REDACTED}"', text)
    text = _FORM_PAIR.sub(rf"\1{REDACTED}", text)
    text = _AUTH_SCHEME.sub(rf"\1 {REDACTED}", text)
    return _JWT.sub(REDACTED, text)


def safe_excerpt(body: bytes | str, *, limit: int = EXCERPT_LIMIT) -> str:
    """Return the start of a response body that is safe to store in an error's detail.

    Redaction runs before truncation so that a cut can never leave half a secret unredacted.

    Args:
        body: The raw body (bytes are decoded as UTF-8, undecodable bytes replaced).
        limit: The maximum length of the excerpt in characters.

    Returns:
        The redacted excerpt, whitespace collapsed, ``…`` appended when it was cut.
    """
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    # Redacting a bounded prefix keeps a multi-megabyte body from costing regex time.
    cleaned = " ".join(redact(text[: limit * 16]).split())
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


__all__ = ["EXCERPT_LIMIT", "REDACTED", "redact", "safe_excerpt"]
