"""SQL text of the store's hot queries, built by peewee once per query shape and reused.

peewee turns a query into SQL text anew every time it runs; for the small queries a live
call makes (claim an employee, release them, who is busy) that rebuild costs several times
the database's own work (benchmarks/HISTORY.md). :class:`CompiledQueries` keeps the text
per *shape* (a key the caller names, e.g. ``("busy", 3)`` for an ``IN`` of three names)
and runs it with parameters the caller computes.

Safety: on a shape's first run the caller's parameters are compared with peewee's own for
the same query; only when they are equal is the text kept. Otherwise that shape is never
cached and every run executes peewee's freshly built SQL with peewee's parameters, as if
there were no cache. Either way the statement that runs is peewee's.
"""

from __future__ import annotations

from typing import Any, Callable, Hashable, Sequence

import peewee

from .db import when_unlocked

_UNCACHEABLE = object()


class CompiledQueries:
    """Shape key -> SQL text, for one database (keys must fix everything but parameters)."""

    def __init__(self) -> None:
        self._sql: dict[Hashable, object] = {}

    def execute(self, database: peewee.Database, key: Hashable, build: Callable[[], peewee.Query],
                params: Sequence[Any]):
        """Run the query of shape ``key`` with ``params``; returns the DB-API cursor.

        build: makes the peewee query (called on the shape's first run, and on every run of
        a shape whose parameters did not match peewee's). params: the values peewee would
        bind, in its order, already converted with each field's ``db_value``. Database
        errors are peewee's (wrapped by the caller's unit of work into StoreError).
        """
        sql = self._sql.get(key)
        if sql is None or sql is _UNCACHEABLE:
            sql, theirs = build().sql()
            theirs = list(theirs)
            if key not in self._sql:
                self._sql[key] = sql if theirs == list(params) else _UNCACHEABLE
            return database.execute_sql(sql, theirs)
        return database.execute_sql(sql, params)

    def execute_many(self, database: peewee.Database, key: Hashable, rows: Sequence[Sequence[Any]]) -> None:
        """Run the kept text of shape ``key`` once per parameter row in ``rows``, in one
        ``executemany``. Only for a shape that ``cached`` says is kept (ValueError
        otherwise: run its rows with ``execute``); database errors as ``execute``."""
        sql = self._sql.get(key)
        if sql is None or sql is _UNCACHEABLE:
            raise ValueError(f"no kept SQL text for shape {key!r}")
        def run() -> None:
            with peewee.__exception_wrapper__:  # the driver's errors as peewee's, as execute_sql gives them
                database.cursor().executemany(sql, rows)
        when_unlocked(run)  # SQLite: the lock held by another process is waited for cooperatively

    def cached(self, key: Hashable) -> bool:
        """True when shape ``key`` runs from kept SQL text (tests read it)."""
        sql = self._sql.get(key)
        return sql is not None and sql is not _UNCACHEABLE
