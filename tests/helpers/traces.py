"""Where a value is stored: every column of every table of the public schema that can hold text,
searched for it (case-insensitive), so a table added later is searched too."""

from __future__ import annotations

from server import db

_TEXTUAL = ("uuid", "text", "jsonb", "ARRAY", "character varying")


async def columns_mentioning(pool: db.Pool, needle: str) -> list[str]:
    """``table.column (n rows)`` for each column with a value containing ``needle``. ``pool``
    must see every row (the tables' owner)."""
    found = []
    async with db.transaction(pool) as conn:
        columns = await conn.fetch(
            """SELECT c.table_name, c.column_name
                 FROM information_schema.columns c
                 JOIN information_schema.tables t
                   ON t.table_name = c.table_name AND t.table_schema = c.table_schema
                WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
                  AND c.data_type = ANY($1::text[])""",
            list(_TEXTUAL),
        )
        for column in columns:
            table, name = column["table_name"], column["column_name"]
            hits = await conn.fetchval(
                f'SELECT count(*) FROM "{table}" WHERE "{name}"::text ILIKE $1', f"%{needle}%"
            )
            if hits:
                found.append(f"{table}.{name} ({hits} rows)")
    return found
