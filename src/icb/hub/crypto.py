"""Secrets at rest: Fernet with a key from ICB_ENCRYPTION_KEY or generated once into the
data dir. Plaintext never leaves this module except to the hub client."""

import os
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


@lru_cache(maxsize=1)
def _fernet() -> Fernet:
    key = os.environ.get("ICB_ENCRYPTION_KEY")
    if not key:
        path = settings.DATA_DIR / "encryption_key"
        if not path.exists():
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "w") as f:
                    f.write(Fernet.generate_key().decode())
        key = path.read_text().strip()
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
