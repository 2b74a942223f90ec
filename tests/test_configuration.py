"""Configuration is read in one place (icb/settings.py), and importing it writes nothing:
the data dir and the generated secret key appear at startup."""

import os
import re
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "icb"


def _python(code: str, data_dir: Path, **env) -> str:
    environment = {
        **os.environ,
        "ICB_DATA_DIR": str(data_dir),
        "DJANGO_SETTINGS_MODULE": "icb.settings",
        "PYTHONPATH": os.pathsep.join([str(SRC.parent), os.environ.get("PYTHONPATH", "")]),
        **env,
    }
    environment.pop("ICB_SECRET_KEY", None)
    environment.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_importing_the_settings_writes_nothing(tmp_path):
    data_dir = tmp_path / "fresh"
    _python("import icb.settings as s; print(s.DATA_DIR)", data_dir)
    assert not data_dir.exists()


def test_startup_creates_the_data_dir_and_a_secret_key_that_persists(tmp_path):
    data_dir = tmp_path / "fresh"
    show_key = "import django; django.setup(); from django.conf import settings as s; "
    show_key += "print(s.SECRET_KEY)"
    first = _python(show_key, data_dir)
    key_file = data_dir / "secret_key"
    assert key_file.read_text().strip() == first and len(first) >= 50
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert (data_dir / "static").is_dir()
    assert _python(show_key, data_dir) == first  # the next start reads the same key


def test_the_directory_refresh_runs_as_often_as_configured(tmp_path):
    code = (
        "import django; django.setup(); from icb.celery import app; "
        "print(app.conf.beat_schedule['refresh-hub-directories']['schedule'])"
    )
    assert _python(code, tmp_path, ICB_HUB_DIRECTORY_REFRESH_MINUTES="5") == "300.0"


def _python_files():
    return [p for p in SRC.rglob("*.py") if "migrations" not in p.parts]


def test_only_the_settings_read_the_environment():
    reading = re.compile(r"os\.environ\.get\(|os\.getenv\(|os\.environ\[|environ\.get\(")
    offenders = [
        str(p.relative_to(SRC))
        for p in _python_files()
        if p.name != "settings.py" and reading.search(p.read_text())
    ]
    assert not offenders, f"read configuration through django.conf.settings: {offenders}"


def test_no_unused_loggers():
    unused = []
    for path in _python_files():
        text = path.read_text()
        for name in re.findall(r"^(\w+) = logging\.getLogger", text, flags=re.M):
            if not re.search(
                rf"\b{name}\.(debug|info|warning|error|exception|critical|log)\(", text
            ):
                unused.append(f"{path.relative_to(SRC)}: {name}")
    assert not unused, unused


def test_mail_is_printed_unless_an_smtp_server_is_set(tmp_path):
    code = (
        "import icb.settings as s; "
        "print(s.EMAIL_BACKEND.rsplit('.', 2)[1], s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_USE_TLS)"
    )
    assert _python(code, tmp_path) == "console  587 True"
    smtp = _python(code, tmp_path, ICB_SMTP_HOST="mail.acme.test", ICB_SMTP_PORT="25")
    assert smtp == "smtp mail.acme.test 25 True"


def test_the_notify_tasks_are_on_the_beat_schedule(tmp_path):
    code = (
        "import django; django.setup(); from icb.celery import app; "
        "print(sorted(e['task'] for e in app.conf.beat_schedule.values()))"
    )
    tasks = _python(code, tmp_path)
    assert "'notify.relay'" in tasks and "'notify.send_digests'" in tasks
