"""Secrets generated once into the data dir, so they survive restarts and are never
committed."""

import os
import time
from collections.abc import Callable
from pathlib import Path


def secret_file(path: Path, make: Callable[[], str]) -> str:
    """The secret stored at `path`; the first caller writes `make()` there, readable by
    its owner only (mode 0600).

    Processes that start together (web, worker, beat) race to create it: exactly one
    wins the exclusive create and writes; the others read the winner's secret back,
    waiting the moment it takes to write it."""
    if not path.exists():
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process won: read its secret below
        else:
            with os.fdopen(fd, "w") as f:
                f.write(make())
    for _ in range(50):
        secret = path.read_text().strip()
        if secret:
            return secret
        time.sleep(0.02)  # the winner has created the file but not written it yet
    raise RuntimeError(f"{path} is empty: delete it to generate a new secret.")
