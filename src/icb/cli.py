"""`icb`: the product's command line. `run`, `serve`, `worker` and `sandbox-hub` are ours;
everything else is a Django management command (`icb migrate`, `icb bootstrap`, …).

Configuration comes from Django's settings (which read the environment); this module
only sets DJANGO_SETTINGS_MODULE for itself and the processes it starts."""

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

from icb.common.secrets import secret_file

# In the data dir: the sandbox hub's tokens and test-control changes (mode 0600).
SANDBOX_STATE_FILE = "sandbox-hub.json"

# Seconds the web server gives a request before it ends its worker (gunicorn's --timeout);
# a manual sync stays well within it (ICB_MANUAL_SYNC_SECONDS).
WEB_TIMEOUT = 30


def _django_setup():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "icb.settings")
    import django

    django.setup()


def _manage(*args: str) -> None:
    from django.core.management import execute_from_command_line

    execute_from_command_line(["icb", *args])


def _option(argv: list[str], name: str, default: str) -> str:
    if name in argv:
        i = argv.index(name)
        if i + 1 < len(argv):
            return argv[i + 1]
    for arg in argv:
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return default


def _gunicorn_command(port: str) -> list[str]:
    from django.conf import settings

    return [
        sys.executable,
        "-m",
        "gunicorn",
        "icb.wsgi:application",
        "--bind",
        f"{settings.ICB_HOST}:{port}",
        "--workers",
        settings.ICB_WEB_WORKERS,
        "--timeout",
        str(WEB_TIMEOUT),
        "--access-logfile",
        "-",
        # Without the OAuth callback's sign-in code (icb/access_log.py).
        "--logger-class",
        "icb.access_log.AccessLogger",
    ]


def _worker_command() -> list[str]:
    from django.conf import settings

    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "icb",
        "worker",
        "--beat",
        "--schedule",
        settings.CELERY_BEAT_SCHEDULE_FILENAME,
        "--concurrency",
        settings.ICB_WORKER_CONCURRENCY,
        "--loglevel",
        "INFO",
    ]


def _start_sandbox_hub() -> bool:
    """`icb run` starts the sandbox hub unless ICB_SANDBOX_HUB=0 or ICB_HUB_URL points
    at a hub elsewhere."""
    from django.conf import settings

    if not settings.ICB_SANDBOX_HUB:
        return False
    return settings.ICB_HUB_URL.startswith(("http://127.0.0.1:", "http://localhost:"))


def _sandbox_command(port: str) -> list[str]:
    """The sandbox hub `icb run` starts: registered with this product's client id, secret
    and callback address; on the loopback address only, so its test controls (which need
    no sign-in) are reachable from this machine alone; its tokens and test-control
    changes kept in the data dir, so a restart keeps the hub connected."""
    from django.conf import settings

    return [
        sys.executable,
        "-m",
        "sandbox_hub",
        "--host",
        "127.0.0.1",
        "--port",
        settings.ICB_HUB_URL.rsplit(":", 1)[-1].strip("/"),
        "--client-id",
        settings.ICB_HUB_CLIENT_ID,
        "--client-secret",
        settings.ICB_HUB_CLIENT_SECRET,
        "--redirect-uri",
        f"http://{settings.ICB_HOST}:{port}/admin/integrations/hub/callback/",
        "--name",
        settings.ICB_HUB_NAME,
        "--state",
        str(settings.DATA_DIR / SANDBOX_STATE_FILE),
        "--test-controls",
    ]


def _admin_password(data_dir: Path) -> str:
    """ICB_ADMIN_PASSWORD, or one generated once into the data dir so reruns print it."""
    from django.conf import settings

    if settings.ICB_ADMIN_PASSWORD:
        return settings.ICB_ADMIN_PASSWORD
    return secret_file(data_dir / "admin_password", lambda: secrets.token_urlsafe(12))


def run(argv: list[str]) -> int:
    """Everything on one machine: migrate, demo company and data, web, worker with beat."""
    _django_setup()
    from django.conf import settings

    port = _option(argv, "--port", settings.ICB_PORT)
    _manage("migrate", "--noinput", "-v", "0")
    email = settings.ICB_ADMIN_EMAIL
    password = _admin_password(settings.DATA_DIR)
    _manage(
        "bootstrap",
        "--company",
        settings.ICB_DEMO_COMPANY,
        "--timezone",
        settings.ICB_DEMO_TIMEZONE,
        "--email",
        email,
        "--password",
        password,
    )
    _manage("demo_data", "--email", email)

    host = settings.ICB_HOST
    children = []
    hub_note = f"  hub: {settings.ICB_HUB_URL}"
    if _start_sandbox_hub():
        # The sandbox hub stands in for a real one (README, "The sandbox hub").
        children.append(subprocess.Popen(_sandbox_command(port)))
        hub_note = (
            f"  sandbox hub: {settings.ICB_HUB_URL} (sign in there as demo / demo; "
            "test controls under /_sandbox/, see docs/hub-protocol.md)"
        )
    children += [
        subprocess.Popen(_gunicorn_command(port)),
        subprocess.Popen(_worker_command()),
    ]
    print(
        f"\nICB is running at http://{host}:{port}/\n"
        f"  log in as {email} with password {password}\n"
        f"{hub_note}\n"
        f"  data in {settings.DATA_DIR}; stop with Ctrl-C\n",
        flush=True,
    )
    return _supervise(children)


def _supervise(children: list[subprocess.Popen]) -> int:
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    code = 0
    while not stopping:
        for child in children:
            if child.poll() is not None:
                print(f"A process stopped (exit {child.returncode}); stopping ICB.", flush=True)
                stopping, code = True, child.returncode or 1
        time.sleep(0.5)
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
    return code


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv else "help"
    rest = argv[1:]
    if command in ("run", "serve", "worker") and ("-h" in rest or "--help" in rest):
        command = "help"  # never start the product when asked how to
    if command == "run":
        return run(rest)
    if command == "serve":
        _django_setup()
        from django.conf import settings

        port = _option(rest, "--port", settings.ICB_PORT)
        return subprocess.call(_gunicorn_command(port))
    if command == "sandbox-hub":
        from sandbox_hub.__main__ import main as sandbox_main

        return sandbox_main(rest)
    if command == "worker":
        _django_setup()
        return subprocess.call(_worker_command())
    if command in ("help", "-h", "--help"):
        print(__doc__)
        print(
            "Commands: run [--port P], serve [--port P], worker, sandbox-hub [--port P …], "
            "bootstrap, token create, demo_data, and Django's own (migrate, shell, …)."
        )
        return 0
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "icb.settings")
    _manage(*argv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
