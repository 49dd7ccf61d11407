"""Counts of what a worker round did, summed field by field over rounds (the push dispatcher's
and the mailer's)."""

from __future__ import annotations

from typing import Self

import msgspec


class Tally(msgspec.Struct, kw_only=True):
    """A base for a Struct of int counters."""

    def add(self, other: Self) -> None:
        for name in self.__struct_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))
