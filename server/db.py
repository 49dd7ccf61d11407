"""Database: the pool, the embedded PostgreSQL, migrations and the one transaction helper."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias
from uuid import UUID

import asyncpg
import msgspec
from asyncpg.pool import PoolConnectionProxy

from server.config import Settings
from server.errors import DB_UNAVAILABLE

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# Any constant works; it only has to be the same in every process of this application.
MIGRATION_LOCK_KEY = 7_240_150_001

if TYPE_CHECKING:
    Pool: TypeAlias = asyncpg.Pool[asyncpg.Record]
    # What code holds: a pooled connection's proxy, or a plain one (CLI, migrations).
    Connection: TypeAlias = asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]
else:  # the asyncpg classes are not subscriptable at run time, where Litestar reads hints
    Pool = asyncpg.Pool
    Connection = asyncpg.Connection | PoolConnectionProxy


class MigrationError(RuntimeError):
    """An applied migration file was edited, or a file name is malformed."""


class Migration(msgspec.Struct, frozen=True):
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def start_embedded(data_dir: Path) -> str:
    """Start (or reuse) the embedded PostgreSQL in ``data_dir/pgdata`` and return its URL."""
    import pgserver  # imported late: only dev without DATABASE_URL needs it

    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = str((data_dir / "pgdata").resolve())
    server = pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
    return str(server.get_uri())


async def database_url(settings: Settings) -> str:
    if settings.database_url:
        return settings.database_url
    return await asyncio.to_thread(start_embedded, settings.data_dir)


APP_ROLE = "afterglow_app"
ALL_PATIENTS = "*"


async def create_pool(
    url: str, settings: Settings, *, app_role: bool = True, **kwargs: Any
) -> Pool:
    """The pool of an app process or worker. Its connections work as ``afterglow_app``, a role
    bound by row-level security (migrations/0008): a query sees the rows of the patients its
    request was granted, and nothing else, even if it forgets its own patient filter."""

    async def init(conn: Connection) -> None:
        await conn.set_type_codec(
            "jsonb", encoder=_json_encode, decoder=msgspec.json.decode, schema="pg_catalog"
        )
        if app_role:
            await conn.execute(f"SET ROLE {APP_ROLE}")

    async def reset(conn: Connection) -> None:
        # Instead of asyncpg's RESET ALL (which would also drop the role): forget the patients
        # this connection was granted. asyncpg has already rolled back any open transaction.
        await conn.execute(_CLEAR_GRANTS)

    pool: Pool = await asyncpg.create_pool(
        url,
        min_size=kwargs.pop("min_size", 1),
        max_size=kwargs.pop("max_size", settings.db_pool_size),
        timeout=settings.db_timeout,
        command_timeout=max(settings.db_timeout, 10.0),
        init=init,
        reset=reset,
        **kwargs,
    )
    return pool


def _json_encode(value: Any) -> str:
    return msgspec.json.encode(value).decode()


# Waiting longer than this for a free connection answers 503 instead of hanging the request.
ACQUIRE_TIMEOUT = 5.0

# --- which patients a connection may see -----------------------------------------------------
# The setting afterglow.patients (session level) lists the patients the current request was
# granted; the access check (server/services/access.py) and the session lookup add to it, and
# the pool's reset clears it. Work that is about every patient (the reminder worker, operator
# commands) says so with ``see_all_patients``, inside its own transaction.

_CLEAR_GRANTS = (
    "SELECT set_config('afterglow.patients', '', false), "
    "set_config('afterglow.clinician', '', false)"
)


async def grant(conn: Connection, *patient_ids: UUID) -> None:
    """Let this connection see these patients' rows, for the rest of the request."""
    await conn.execute(
        """SELECT set_config('afterglow.patients',
                  concat_ws(',', nullif(current_setting('afterglow.patients', true), ''),
                            $1::text), false)""",
        ",".join(str(p) for p in patient_ids),
    )


async def see_all_patients(conn: Connection) -> None:
    """Every patient's rows, until the end of the current transaction (worker, operator)."""
    await conn.execute("SELECT set_config('afterglow.patients', $1, true)", ALL_PATIENTS)


class _RequestConnection:
    """The one connection an HTTP request uses, taken on first need, released at its end."""

    __slots__ = ("conn", "pool")

    def __init__(self) -> None:
        self.pool: Pool | None = None
        self.conn: PoolConnectionProxy[asyncpg.Record] | None = None


_request: ContextVar[_RequestConnection | None] = ContextVar("afterglow_request", default=None)


@asynccontextmanager
async def request_scope() -> AsyncIterator[None]:
    """Around one HTTP request: every ``connection``/``transaction`` in it shares one pooled
    connection (one acquire, one reset), released when the response is sent."""
    holder = _RequestConnection()
    token = _request.set(holder)
    try:
        yield
    finally:
        _request.reset(token)
        if holder.conn is not None and holder.pool is not None:
            try:
                await holder.pool.release(holder.conn)
            except DB_UNAVAILABLE:
                log.warning("could not return a connection to the pool")


@asynccontextmanager
async def connection(pool: Pool) -> AsyncIterator[Connection]:
    """A pooled connection for single statements (autocommit), or the base of a transaction."""
    holder = _request.get()
    if holder is None:
        async with pool.acquire(timeout=ACQUIRE_TIMEOUT) as conn:
            try:
                yield conn
            except asyncpg.exceptions._base.InternalClientError:
                conn.terminate()  # never hand a connection in an unknown state to anyone
                raise
        return
    if holder.conn is None:
        holder.pool = pool
        holder.conn = await pool.acquire(timeout=ACQUIRE_TIMEOUT)
    try:
        yield holder.conn
    except asyncpg.exceptions._base.InternalClientError:
        holder.conn.terminate()
        raise


@asynccontextmanager
async def transaction(pool: Pool) -> AsyncIterator[Connection]:
    """One connection in one transaction (a savepoint if the request is already in one)."""
    async with connection(pool) as conn, conn.transaction():
        yield conn


def load_migrations(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    found = []
    for path in sorted(directory.glob("*.sql")):
        prefix = path.name.split("_", 1)[0]
        if not (len(prefix) == 4 and prefix.isdigit()):
            raise MigrationError(f"migration file {path.name} must be named NNNN_name.sql")
        found.append(Migration(name=path.name, sql=path.read_text()))
    return found


async def migrate(conn: Connection, migrations: list[Migration] | None = None) -> list[str]:
    """Apply pending migrations in order, each in its own transaction, under an advisory lock.

    Returns the names applied now. Refuses to start when an applied file was edited since.
    """
    pending = load_migrations() if migrations is None else migrations
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
    try:
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   name text PRIMARY KEY,
                   checksum text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        applied = {
            r["name"]: r["checksum"]
            for r in await conn.fetch("SELECT name, checksum FROM schema_migrations")
        }
        done = []
        for migration in pending:
            known = applied.get(migration.name)
            if known is not None:
                if known != migration.checksum:
                    raise MigrationError(
                        f"migration {migration.name} was edited after it was applied; "
                        "add a new migration instead of changing an applied one"
                    )
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)",
                    migration.name,
                    migration.checksum,
                )
            log.info("applied migration %s", migration.name)
            done.append(migration.name)
        return done
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)


async def migrations_current(conn: Connection) -> bool:
    expected = {m.name: m.checksum for m in load_migrations()}
    try:
        rows = await conn.fetch("SELECT name, checksum FROM schema_migrations")
    except asyncpg.UndefinedTableError:
        return False
    return {r["name"]: r["checksum"] for r in rows} == expected
