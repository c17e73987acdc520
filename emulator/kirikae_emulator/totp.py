"""RFC 6238 TOTP (HMAC-SHA1, 30-second steps, 6 digits), as AWS virtual MFA devices use, with
the standard library only. Used by the STS extension to check codes and by
`python -m kirikae_emulator totp SECRETFILE` to produce them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import time

STEP_SECONDS = 30
DIGITS = 6


def decode_secret(secret: str) -> bytes:
    """A base32 seed as AWS's Base32StringSeed (case and spaces tolerated, padding optional)."""
    cleaned = "".join(secret.split()).upper().rstrip("=")
    if not cleaned:
        raise ValueError("the TOTP secret is empty")
    cleaned += "=" * (-len(cleaned) % 8)
    try:
        return base64.b32decode(cleaned)
    except (ValueError, base64.binascii.Error) as exc:
        raise ValueError(f"the TOTP secret is not base32: {exc}") from None


def hotp(key: bytes, counter: int, digits: int = DIGITS) -> str:
    """RFC 4226 HOTP."""
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    code = (struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF) % (10**digits)
    return str(code).zfill(digits)


def totp(secret: str, at: float | None = None, step: int = STEP_SECONDS, digits: int = DIGITS) -> str:
    """The code for the base32 `secret` at unix time `at` (now by default)."""
    now = time.time() if at is None else at
    return hotp(decode_secret(secret), int(now // step), digits)


def verify(secret: str, code: str, at: float | None = None, window: int = 1) -> bool:
    """True when `code` is the TOTP of `secret` for the current step or +-`window` steps."""
    if not (isinstance(code, str) and code.isdigit() and len(code) == DIGITS):
        return False
    now = time.time() if at is None else at
    key = decode_secret(secret)
    counter = int(now // STEP_SECONDS)
    return any(hmac.compare_digest(hotp(key, counter + d), code) for d in range(-window, window + 1))
