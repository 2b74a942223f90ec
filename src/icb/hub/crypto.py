"""Secrets at rest: Fernet with a key from settings.ICB_ENCRYPTION_KEY or generated once
into the data dir (on first use). Plaintext never leaves this module except to the hub
client."""

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

from icb.common.secrets import secret_file


@lru_cache(maxsize=1)
def _fernet() -> Fernet:
    key = settings.ICB_ENCRYPTION_KEY
    if not key:
        key = secret_file(
            settings.DATA_DIR / "encryption_key", lambda: Fernet.generate_key().decode()
        )
    return Fernet(key.encode())


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode() if plaintext else ""


def decrypt(ciphertext: str) -> str:
    if not ciphertext:
        return ""
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        # A changed key makes stored tokens unreadable: treat as disconnected, never crash.
        return ""
