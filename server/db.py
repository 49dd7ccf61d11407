"""Database: the pool, the embedded PostgreSQL, migrations and the one transaction helper."""

from __future__ import annotations

import asyncio
import atexit
import fcntl
import hashlib
import importlib.util
import logging
import subprocess
import threading
import warnings
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg
import msgspec
from asyncpg.pool import PoolConnectionProxy

from server.config import ConfigError, Settings
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


# --- the embedded PostgreSQL (dev without DATABASE_URL) ----------------------------------------
# pgserver's own clean-up (cleanup_mode="stop") never stopped it: it runs at interpreter exit,
# which a SIGTERM'd `serve` never reaches (uvicorn re-raises the signal once it has shut down),
# and it stops the server only when its list of users (pgdata/.handle_pids.json) is exactly this
# process, while every process that died without its clean-up stays on that list for good.
# Instead, every process using the embedded server holds a shared lock on a file beside it; the
# kernel drops the lock of a process however it ends, and the one that can take the lock
# exclusively when it lets go is the last user, and stops the server.

EMBEDDED_MISSING = (
    "DATABASE_URL is not set and the embedded PostgreSQL (the pgserver package) is not "
    "installed. Set DATABASE_URL=postgresql://USER@HOST/DBNAME to use a PostgreSQL server, or "
    "install the embedded one for development: pip install -e '.[embedded]' (make run does)."
)


class _AtDebug(logging.Filter):
    """pgserver logs every step at INFO, initdb's and pg_ctl's whole output too: that is the
    embedded database's business, so it is shown at DEBUG (AFTERGLOW_LOG_LEVEL=DEBUG); its
    warnings and errors stay as they are."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


logging.getLogger("pgserver").addFilter(_AtDebug())


class _Hold(msgspec.Struct):
    lock: Any  # the open lock file
    server: Any  # pgserver.PostgresServer
    users: int = 0


_holds: dict[Path, _Hold] = {}
_holds_guard = threading.Lock()


def require_database(settings: Settings) -> None:
    """Refuse to start, saying what to do, with neither DATABASE_URL nor pgserver."""
    if not settings.database_url and importlib.util.find_spec("pgserver") is None:
        raise ConfigError(EMBEDDED_MISSING)


def start_embedded(data_dir: Path) -> str:
    """Start (or reuse) the embedded PostgreSQL in ``data_dir/pgdata`` and return its URL. It
    runs until the last process using it lets go (``release_embedded``, or at exit)."""
    try:
        with warnings.catch_warnings():  # platformdirs's, when XDG_RUNTIME_DIR is unset
            warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
            import pgserver  # imported late: only dev without DATABASE_URL needs it
    except ImportError:
        raise ConfigError(EMBEDDED_MISSING) from None
    data_dir = data_dir.resolve()
    with _holds_guard:
        hold = _holds.get(data_dir)
        if hold is None:
            data_dir.mkdir(parents=True, exist_ok=True)
            lock = (data_dir / "pgdata.lock").open("a+b")
            fcntl.flock(lock, fcntl.LOCK_SH)  # waits while a last user is stopping it
            pgdata = str(data_dir / "pgdata")
            try:
                server = pgserver.get_server(pgdata, cleanup_mode=None)  # type: ignore[attr-defined]
            except BaseException:
                lock.close()
                raise
            if not _holds:
                atexit.register(_release_all)
            hold = _holds[data_dir] = _Hold(lock=lock, server=server)
        hold.users += 1
        return str(hold.server.get_uri())


def release_embedded(data_dir: Path) -> None:
    """The other end of ``start_embedded``: the last user of the server stops it."""
    with _holds_guard:
        hold = _holds.get(data_dir.resolve())
        if hold is None:
            return
        hold.users -= 1
        if hold.users > 0:
            return
        del _holds[data_dir.resolve()]
    _let_go(hold)


def _release_all() -> None:
    with _holds_guard:
        holds = list(_holds.values())
        _holds.clear()
    for hold in holds:
        _let_go(hold)


def _let_go(hold: _Hold) -> None:
    import pgserver

    server = hold.server
    server.cleanup()  # pgserver's bookkeeping only (cleanup_mode=None stops nothing) ...
    type(server)._instances.pop(server.pgdata, None)  # ... and its cache of servers
    try:
        try:
            fcntl.flock(hold.lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return  # another Afterglow process still uses it
        log.info("stopping the embedded PostgreSQL: no other process uses it")
        stop = ["-w", "-m", "fast", "stop"]
        pgserver.pg_ctl(stop, pgdata=server.pgdata, user=server.system_user)  # type: ignore[attr-defined]
    except subprocess.CalledProcessError:
        log.warning("the embedded PostgreSQL was not running")
    finally:
        hold.lock.close()


async def database_url(settings: Settings) -> str:
    if settings.database_url:
        return settings.database_url
    return await asyncio.to_thread(start_embedded, settings.data_dir)


async def release_database(settings: Settings) -> None:
    """The other end of ``database_url``: let go of the embedded PostgreSQL if it started one."""
    if not settings.database_url:
        await asyncio.to_thread(release_embedded, settings.data_dir)


APP_ROLE = "afterglow_app"


def app_database_url(settings: Settings, owner_url: str) -> str:
    """The URL app requests log in with: ``AFTERGLOW_APP_DATABASE_URL``, or outside production
    the owner's URL with the user swapped for ``afterglow_app`` (no password: local connections
    to a developer's PostgreSQL and to the embedded one are trusted)."""
    if settings.app_database_url:
        return settings.app_database_url
    if settings.env == "production":
        raise ConfigError("AFTERGLOW_APP_DATABASE_URL must be set when AFTERGLOW_ENV=production")
    return with_user(owner_url, APP_ROLE)


def with_user(url: str, user: str) -> str:
    """``url`` logging in as ``user`` (without the original password)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{quote(user, safe='')}@{host}"))


async def create_pool(url: str, settings: Settings, **kwargs: Any) -> Pool:
    """A pool of connections logged in as ``url`` says: ``afterglow_app`` for requests (bound by
    row-level security, migrations/0009), the owner for the worker and operator commands."""

    async def init(conn: Connection) -> None:
        await conn.set_type_codec(
            "jsonb", encoder=_json_encode, decoder=msgspec.json.decode, schema="pg_catalog"
        )
        # Behind PgBouncer (session mode) a new connection may get a server process another
        # client used: it starts with no grant either. Before the migrations, nothing to clear.
        with suppress(asyncpg.UndefinedFunctionError):
            await conn.execute(_CLOSE_REQUEST)

    async def reset(conn: Connection) -> None:
        # The next request on this connection starts afresh: no grant, and no session state a
        # statement may have left (row_security, search_path, ...). asyncpg has already rolled
        # back any open transaction. One round trip.
        await conn.execute(_RESET)

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

# Which patients a request may see is decided in the database, not by anything a statement can
# set: the session lookup (store/sessions.py) and sign-in write this backend's row of
# request_grants through SECURITY DEFINER functions, and giving the connection back clears it,
# after what asyncpg's own reset does.
_CLOSE_REQUEST = "SELECT afterglow_close_request()"
_RESET = f"SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL; {_CLOSE_REQUEST}"


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


# --- the session opened by a request's first statement -------------------------------------
# A signed-in request whose work is one statement costs one round trip: the session lookup with
# the grant (afterglow_open_request) and the work go to PostgreSQL together, and the patient's
# identity comes from that grant, never from anything the request said. A write calls a
# function of the connection's own after opening the session in the same statement
# (store/entry_writes.py). A read is one prepared statement executed twice in one pipelined batch
# (one Sync): the first execution, given the token's hash in $1, opens the request; the second,
# given NULL in $1 and the same arguments from $2, reads. The batch is one implicit transaction
# and each execution takes a fresh snapshot, so the read runs under the grant the first made,
# row-level security included. Nothing about a session is kept in the process: it is read from
# PostgreSQL on every request, so an ended session or a revoked share holds on the very next
# one, in any process.

OPEN_REQUEST = "SELECT to_jsonb(o) AS session FROM afterglow_open_request($1::bytea) o"
# Which execution this is, as conditions the planner cannot fold into a constant: folded, the
# opening execution's plan would be all but empty and far cheaper than the working one's, and
# PostgreSQL would then plan the statement afresh at every execution (custom plans, ~1 ms each)
# instead of keeping one generic plan.
OPENING = "(SELECT $1::bytea IS NOT NULL)"
WORKING = "(SELECT $1::bytea IS NULL)"


class SessionKey:
    """A request's session cookie (its SHA-256), not looked up yet: the request's first
    statement opens it (``fetch_in_session``). Guards add their checks, which run on the opened
    session before anything the statement did is used."""

    __slots__ = ("checks", "token_hash")

    def __init__(self, token_hash: bytes) -> None:
        self.token_hash = token_hash
        self.checks: list[Callable[[Any], Any]] = []

    def settle(self, state: Any) -> None:
        """Run every guard's check on the session as PostgreSQL found it (None: none live)."""
        for check in self.checks:
            check(state)


def in_session(statement: str) -> str:
    """``statement`` (one read-only query, its own parameters numbered from $2) in the form
    ``fetch_in_session`` runs: one row with the session, then the statement's rows, each with
    ``afterglow_found`` true."""
    return f"""SELECT s.session, w.*
  FROM (VALUES (1)) AS one (x)
  LEFT JOIN ({OPEN_REQUEST} WHERE {OPENING} LIMIT 1) s ON true
  LEFT JOIN (SELECT true AS afterglow_found, row_number() OVER () AS afterglow_at, w0.*
               FROM ({statement}) w0 WHERE {WORKING}) w ON true
 ORDER BY w.afterglow_at"""


async def fetch_in_session(
    conn: Connection, key: SessionKey, statement: str, args: Sequence[Any]
) -> tuple[Any, list[asyncpg.Record]]:
    """Open ``key``'s session and run ``statement`` (made by ``in_session``, or written alike:
    $1 the token's hash, its own parameters from $2) in one round trip: (the session as
    afterglow_open_request returned it, as a dict, or None; the statement's rows)."""
    # The arguments go with both executions: with NULLs, the opening one's plan would be folded
    # away (see OPENING).
    rows = await conn.fetchmany(statement, [(key.token_hash, *args), (None, *args)])
    return rows[0]["session"], [row for row in rows[1:] if row.get("afterglow_found", True)]


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
