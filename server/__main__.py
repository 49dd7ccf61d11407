"""Command line: python -m server serve | migrate | create-clinician | ..."""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket
import sys
from collections.abc import Awaitable, Callable

import asyncpg
import uvicorn

from server import db
from server.config import ConfigError, Settings
from server.errors import AppError
from server.services import accounts, passwords

Command = Callable[[argparse.Namespace, Settings], Awaitable[int] | int]
COMMANDS: dict[str, Command] = {}


def command(name: str) -> Callable[[Command], Command]:
    def register(fn: Command) -> Command:
        COMMANDS[name] = fn
        return fn

    return register


async def connect(settings: Settings) -> db.Connection:
    url = await db.database_url(settings)
    return await asyncpg.connect(url, timeout=10)


@command("serve")
def serve(args: argparse.Namespace, settings: Settings) -> int:
    from server.app import create_app

    host = args.host or settings.host
    port = args.port or settings.port
    app = create_app(settings)
    # X-Forwarded-For is the app's to read (AFTERGLOW_FORWARDED_ALLOW_IPS), not uvicorn's: its
    # own reading trusts 127.0.0.1 and takes any text as the client's address.
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", proxy_headers=False, server_header=False
    )
    server = _SaysWhenReady(config, ready_line(host, port))
    server.run()
    return 0 if server.started else 3


def ready_line(host: str, port: int) -> str:
    """The one line `serve` prints once the app answers: where, and how to begin."""
    url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    return (
        f"Afterglow is ready at {url} (patients start at {url}/signup; "
        "a demo clinic to look around: make demo)"
    )


class _SaysWhenReady(uvicorn.Server):
    """uvicorn's server, printing ``line`` once it answers: after start-up (the database up,
    migrations applied) and with its socket listening, not before."""

    def __init__(self, config: uvicorn.Config, line: str) -> None:
        super().__init__(config)
        self.line = line

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and not self.should_exit:
            print(self.line, flush=True)


@command("migrate")
async def migrate(args: argparse.Namespace, settings: Settings) -> int:
    conn = await connect(settings)
    try:
        applied = await db.migrate(conn)
    finally:
        await conn.close()
    print("applied: " + ", ".join(applied) if applied else "database is up to date")
    return 0


@command("create-clinician")
async def create_clinician(args: argparse.Namespace, settings: Settings) -> int:
    """The password is read from standard input (one line), never from the command line."""
    return await _new_clinician(settings, args.email, args.name, args.timezone)


@command("create-clinic")
async def create_clinic(args: argparse.Namespace, settings: Settings) -> int:
    """A clinic and its first admin (a new clinician account; password read from standard
    input, one line). The admin invites the others from /clinic/members."""
    return await _new_clinician(
        settings, args.admin_email, args.admin_name, args.timezone, clinic=args.name
    )


async def _new_clinician(
    settings: Settings, email: str, name: str, timezone: str, *, clinic: str | None = None
) -> int:
    """A clinician account, with ``clinic`` also that clinic with them as its first admin."""
    from server.services import team

    password = sys.stdin.readline().rstrip("\r\n")
    try:
        account = await accounts.new_account(
            email=email, password=password, display_name=name, timezone=timezone
        )
    except AppError as exc:
        print(f"error: {exc.field}: {exc.detail}", file=sys.stderr)
        return 2
    conn = await connect(settings)
    try:
        await db.migrate(conn)
        async with conn.transaction():
            user = await accounts.create_account(conn, account, "clinician")
            if clinic is not None:
                clinic_id = await team.create_clinic(conn, clinic, user, ["admin"])
    except AppError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 1
    finally:
        await conn.close()
    if clinic is None:
        print(f"created clinician {user.id}")
    else:
        print(f"created clinic {clinic_id} with admin {user.id}")
    return 0


@command("reset-mfa")
async def reset_mfa(args: argparse.Namespace, settings: Settings) -> int:
    """For someone who lost both their phone and their recovery codes: the account's second
    factor removed, every session of it ended, an audit row written. Check who is asking first."""
    from server.services import mfa

    pool = await db.create_pool(await db.database_url(settings), settings, min_size=1, max_size=1)
    try:
        user = await mfa.reset(pool, args.email)
    except AppError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 1
    finally:
        await pool.close()
    print(
        f"second factor removed and every session ended for {user.role} {user.id}; "
        "they sign in with their password and set up a new one"
    )
    return 0


@command("worker")
async def worker(args: argparse.Namespace, settings: Settings) -> int:
    from server.push.worker import run_standalone

    return await run_standalone(settings)


@command("vapid-keys")
def vapid_keys(args: argparse.Namespace, settings: Settings) -> int:
    from server.push.commands import vapid_keys_command

    return vapid_keys_command(settings, print_only=args.print)


@command("reminders")
async def reminders(args: argparse.Namespace, settings: Settings) -> int:
    from server.push.commands import due_command, parse_moment

    try:
        at = parse_moment(args.at)
    except ValueError as exc:
        print(f"error: --at: {exc}", file=sys.stderr)
        return 2
    conn = await connect(settings)
    try:
        return await due_command(conn, at)
    finally:
        await conn.close()


@command("demo-data")
async def demo_data(args: argparse.Namespace, settings: Settings) -> int:
    from server.demo import run

    return await run(settings)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m server", description=__doc__)
    sub = root.add_subparsers(dest="command", required=True)
    serve_cmd = sub.add_parser(
        "serve", help="serve the app (and, if AFTERGLOW_WORKER=1, reminders)"
    )
    serve_cmd.add_argument("--host")
    serve_cmd.add_argument("--port", type=int)
    sub.add_parser("migrate", help="apply pending migrations")
    clinician = sub.add_parser("create-clinician", help="create a clinician; password on stdin")
    clinician.add_argument("--email", required=True)
    clinician.add_argument("--name", required=True)
    clinician.add_argument("--timezone", default="UTC")
    clinic = sub.add_parser(
        "create-clinic", help="create a clinic and its first admin; password on stdin"
    )
    clinic.add_argument("--name", required=True)
    clinic.add_argument("--admin-email", required=True)
    clinic.add_argument("--admin-name", default="Clinic admin")
    clinic.add_argument("--timezone", default="UTC")
    reset = sub.add_parser(
        "reset-mfa", help="remove an account's second factor and end its sessions (audited)"
    )
    reset.add_argument("--email", required=True)
    sub.add_parser("worker", help="run the reminder worker (planner and push dispatcher)")
    sub.add_parser("demo-data", help="make (or remake) a demo clinic and print its logins")
    keys = sub.add_parser("vapid-keys", help="make the VAPID key pair once (never replaced)")
    keys.add_argument("--print", action="store_true", help="print a new pair, write nothing")
    reminder_cmd = sub.add_parser("reminders", help="reminder tools for operators")
    reminder_sub = reminder_cmd.add_subparsers(dest="reminders_command", required=True)
    due = reminder_sub.add_parser("due", help="list what would be sent at a time (no payloads)")
    due.add_argument("--at", required=True, help="ISO time with offset")
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    passwords.configure(settings.env)
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    try:  # e.g. no VAPID key in production: a clear message, not a traceback
        result = COMMANDS[args.command](args, settings)
        if asyncio.iscoroutine(result):
            return int(asyncio.run(result))
        return int(result)  # type: ignore[arg-type]
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
