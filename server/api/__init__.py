"""The JSON API under /api/v1: parse, authorise, call store/domain, respond."""

from __future__ import annotations

import msgspec
from litestar.di import NamedDependency
from litestar.params import JSONBody

from server.config import Settings
from server.db import Pool
from server.domain.accounts import User

# Handler parameters named `pool`, `settings` and `user` are injected by name (see app.py).
DbPool = NamedDependency[Pool]
AppSettings = NamedDependency[Settings]
CurrentUser = NamedDependency[User]
__all__ = ["AppSettings", "CurrentUser", "DbPool", "Input", "JSONBody"]


class Input(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of every request body: unknown fields are rejected, not ignored."""
