"""What the product writes into its data directory is readable by its own user only:
the directory 0700, the SQLite database with its WAL and SHM files, the broker's
database and the secrets 0600, whatever the umask of the shell that started it."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import os, stat, django
django.setup()
from django.conf import settings
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.db import connection
with connection.cursor() as cursor:  # keeps the WAL and SHM files while it is open
    cursor.execute("INSERT INTO django_session VALUES ('k', 'd', '2999-01-01')")
    from kombu import Connection
    with Connection(settings.CELERY_BROKER_URL) as broker:
        queue = broker.SimpleQueue("permissions-test")
        queue.put({"hello": 1})
        queue.close()
    data = settings.DATA_DIR
    print("data", oct(stat.S_IMODE(os.stat(data).st_mode)))
    for name in sorted(os.listdir(data)):
        mode = os.stat(data / name).st_mode
        print(name + ("/" if stat.S_ISDIR(mode) else ""), oct(stat.S_IMODE(mode)))
"""


def test_data_dir_and_its_files_are_private(tmp_path):
    data = tmp_path / "var"  # created by the product
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "ICB_BROKER_URL", "ICB_SECRET_KEY", "ICB_ENCRYPTION_KEY")
    }
    env.update(
        PYTHONPATH=f"{ROOT / 'src'}{os.pathsep}{ROOT}",
        DJANGO_SETTINGS_MODULE="icb.settings",
        ICB_DATA_DIR=str(data),
    )
    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=lambda: os.umask(0o022),  # a usual shell's
    )
    assert out.returncode == 0, out.stderr[-3000:]
    modes = dict(line.split(" ", 1) for line in out.stdout.strip().splitlines())
    assert modes.pop("data") == "0o700"
    for name in ("icb.sqlite3", "icb.sqlite3-wal", "icb.sqlite3-shm", "secret_key"):
        assert name in modes, modes
    assert any(name.startswith("celery-broker") for name in modes), modes
    for name, mode in modes.items():
        assert mode == ("0o700" if name.endswith("/") else "0o600"), (name, mode)
