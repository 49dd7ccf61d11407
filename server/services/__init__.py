"""Use cases, one module each, shared by the JSON API, the pages, the worker, the CLI and the
demo. A service takes plain values (a pool, a user, a parsed body), checks access, runs its
statements in one transaction, and returns domain Structs or raises ``server.errors``."""

from server.db import Pool, request_scope

# What the HTTP edges need of the database: the pool they pass to services, and the scope that
# gives one request one connection (server/db.py). Nothing else of db or store is theirs to use.
__all__ = ["Pool", "request_scope"]
