"""Run the sandbox hub: ``python -m sandbox_hub`` or ``icb sandbox-hub``."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date

from werkzeug.serving import make_server

from .app import create_app
from .config import DEFAULT_REDIRECT_URI, HubConfig

TRUE = {"1", "true", "yes", "on"}


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _not_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError("must be a date, YYYY-MM-DD") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sandbox-hub",
        description=(
            "A sandbox integration hub (protocol v1) with generated data, for trying and "
            "testing ICB. Every option can also be set by the environment variable named "
            "in its help."
        ),
    )
    add = parser.add_argument
    add("--host", default=_env("SANDBOX_HOST", "127.0.0.1"), help="SANDBOX_HOST (127.0.0.1)")
    add("--port", type=int, default=_env("SANDBOX_PORT", "8100"), help="SANDBOX_PORT (8100)")
    add("--seed", type=int, default=_env("SANDBOX_SEED", "42"), help="SANDBOX_SEED (42)")
    add(
        "--organizations",
        type=_positive,
        default=_env("SANDBOX_ORGANIZATIONS", "40"),
        help="organizations per module, sites included: SANDBOX_ORGANIZATIONS (40)",
    )
    add("--client-id", default=_env("SANDBOX_CLIENT_ID", "icb"), help="SANDBOX_CLIENT_ID (icb)")
    add(
        "--client-secret",
        default=_env("SANDBOX_CLIENT_SECRET", "icb-sandbox-secret"),
        help="SANDBOX_CLIENT_SECRET",
    )
    add(
        "--client-name",
        default=_env("SANDBOX_CLIENT_NAME", "ICB"),
        help="the client's name on the consent page: SANDBOX_CLIENT_NAME (ICB)",
    )
    add(
        "--redirect-uri",
        default=_env("SANDBOX_REDIRECT_URI", DEFAULT_REDIRECT_URI),
        help="allowed redirect URIs, comma-separated: SANDBOX_REDIRECT_URI",
    )
    add("--user", default=_env("SANDBOX_USER", "demo"), help="sign-in name: SANDBOX_USER (demo)")
    add("--password", default=_env("SANDBOX_PASSWORD", "demo"), help="SANDBOX_PASSWORD (demo)")
    add(
        "--name",
        default=_env("SANDBOX_NAME", "Integration Hub"),
        help="the hub's name: SANDBOX_NAME (Integration Hub)",
    )
    add(
        "--token-ttl",
        type=_positive,
        default=_env("SANDBOX_TOKEN_TTL", "3600"),
        help="access token lifetime in seconds: SANDBOX_TOKEN_TTL (3600)",
    )
    add(
        "--refresh-grace",
        type=_not_negative,
        default=_env("SANDBOX_REFRESH_GRACE", "60"),
        help="seconds a rotated refresh token is still accepted (0: not at all): "
        "SANDBOX_REFRESH_GRACE (60)",
    )
    add(
        "--test-controls",
        action="store_true",
        default=_env("SANDBOX_TEST_CONTROLS", "").strip().lower() in TRUE,
        help="enable the /_sandbox/ test controls: SANDBOX_TEST_CONTROLS=1",
    )
    add(
        "--today",
        type=_day,
        default=os.environ.get("SANDBOX_TODAY") or None,
        help="pin the hub's day, YYYY-MM-DD (the data drifts from day to day); "
        "by default the clock's day in UTC: SANDBOX_TODAY",
    )
    add(
        "--state",
        metavar="FILE",
        default=os.environ.get("SANDBOX_STATE") or None,
        help="keep tokens and test-control changes in FILE across restarts "
        "(by default they live in memory only): SANDBOX_STATE",
    )
    return parser


def config_from_args(args: argparse.Namespace) -> HubConfig:
    redirect_uris = tuple(u.strip() for u in args.redirect_uri.split(",") if u.strip())
    return HubConfig(
        host=args.host,
        port=args.port,
        seed=args.seed,
        organizations=args.organizations,
        client_id=args.client_id,
        client_secret=args.client_secret,
        client_name=args.client_name,
        redirect_uris=redirect_uris,
        user=args.user,
        password=args.password,
        name=args.name,
        token_ttl=args.token_ttl,
        refresh_grace=args.refresh_grace,
        test_controls=args.test_controls,
        today=args.today,
        state_file=args.state,
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    config = config_from_args(args)
    if not config.redirect_uris:
        print("sandbox-hub: --redirect-uri needs at least one URI", file=sys.stderr)
        return 2
    app = create_app(config)
    try:
        server = make_server(config.host, config.port, app, threaded=True)
    except (OSError, SystemExit) as error:  # werkzeug exits when the port is taken
        reason = error.strerror if isinstance(error, OSError) else "address not available"
        where = f"{config.host}:{config.port}"
        print(f"sandbox-hub: cannot listen on {where}: {reason}", file=sys.stderr)
        return 1
    kept = f", state in {config.state_file}" if config.state_file else ""
    print(
        f"Sandbox hub listening on http://{config.host}:{server.port} "
        f"(seed {config.seed}, {config.organizations} organizations per module{kept})",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
