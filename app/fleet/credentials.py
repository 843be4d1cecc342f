"""How the OCPI credentials tokens are kept.

- Token B (the platform calls us with it): only its SHA-256 is stored. It is 256 random bits
  we made, so a fast hash is enough (no dictionary to try), and we only ever compare.
- Token C (we call the platform with it): we must send it, so a hash won't do. It is stored
  encrypted (Fernet: AES-128-CBC and HMAC-SHA256) under a key derived (HKDF-SHA256) from
  PHAROS_SECRET_KEY, which lives in the environment, not in the database: a leaked database or
  backup does not leak the token. Without the setting, Pharos refuses to store one (the
  handshake fails with a clear message); a Token C configured in the probes file is used as it
  is and never stored.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "fernet:"
MAX_TOKEN = 100  # OCPI's CiString(64), with room; the ciphertext must fit the 255-char column


class CredentialsError(Exception):
    """A token can't be stored or read back."""


def token_hash(token: str) -> str:
    """How a token the platform calls us with is kept (SHA-256, hex)."""
    return hashlib.sha256(token.encode()).hexdigest()


def _fernet(secret: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"pharos ocpi token c").derive(
        secret.encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def seal(token: str, secret: str | None) -> str:
    """Token C as stored."""
    if not secret:
        raise CredentialsError(
            "set PHAROS_SECRET_KEY (a long random string): it encrypts the OCPI token "
            "Pharos must send back, so it is never stored in plain text"
        )
    if not token or len(token) > MAX_TOKEN:
        raise CredentialsError(f"the platform's token must be 1 to {MAX_TOKEN} characters")
    return PREFIX + _fernet(secret).encrypt(token.encode()).decode()


def unseal(stored: str, secret: str | None) -> str:
    """Token C from what is stored (a value stored in plain text before encryption is read
    as it is, and sealed at the next handshake)."""
    if not stored.startswith(PREFIX):
        return stored
    if not secret:
        raise CredentialsError("the stored OCPI token is encrypted: set PHAROS_SECRET_KEY")
    try:
        return _fernet(secret).decrypt(stored[len(PREFIX) :].encode()).decode()
    except InvalidToken as exc:
        raise CredentialsError(
            "the stored OCPI token does not decrypt with PHAROS_SECRET_KEY (was it changed?)"
        ) from exc
