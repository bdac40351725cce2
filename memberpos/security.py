"""Secrets: staff passwords and PINs (argon2id), terminal API keys and bearer tokens.

Passwords and PINs are low-entropy, so they get a memory-hard KDF (argon2id, OWASP's
m=19 MiB, t=2). API keys and tokens are 256-bit random values; a SHA-256 of them is as
safe as a KDF and lets a request be authenticated with one indexed lookup.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# OWASP's argon2id minimum by default; a deployment may raise it. Each stored hash carries
# its own parameters, so changing them never invalidates an existing password.
_hasher = PasswordHasher(
    time_cost=int(os.environ.get("MEMBERPOS_ARGON2_TIME_COST", "2")),
    memory_cost=int(os.environ.get("MEMBERPOS_ARGON2_MEMORY_KIB", "19456")),
    parallelism=1,
)


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def verify_secret(stored_hash: str | None, secret: str) -> bool:
    if not stored_hash:
        return False
    try:
        return _hasher.verify(stored_hash, secret)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def new_terminal_key() -> tuple[str, str, str]:
    """``(key_id, full_key, digest)``: the key is ``mpt_<key_id>_<secret>``; only the
    digest is stored, the id finds the row."""
    key_id = secrets.token_hex(8)
    full_key = f"mpt_{key_id}_{secrets.token_urlsafe(32)}"
    return key_id, full_key, token_digest(full_key)


def split_terminal_key(full_key: str) -> str | None:
    """The key id of a well-formed terminal key, else None."""
    parts = full_key.split("_", 2)
    if len(parts) != 3 or parts[0] != "mpt" or len(parts[1]) != 16:
        return None
    return parts[1]


def digests_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
