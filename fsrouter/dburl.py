"""The database URL forms the store takes, checked without I/O and without the store.

``sqlite:///relative.db``, ``sqlite:////absolute.db``, ``sqlite:///:memory:``;
``postgresql://user:password@host:port/dbname?libpq_option=value`` (or ``postgres://``).
The config check uses these rules for settings.yaml's ``db``, the store (fsrouter.store.db)
to open one; ValueError names what is wrong.
"""

from __future__ import annotations

from urllib.parse import SplitResult, unquote, urlsplit


def url_kind(url: str) -> str:
    """"sqlite" or "postgresql" for a URL the store takes; ValueError otherwise."""
    if not isinstance(url, str) or "://" not in url:
        raise ValueError(f"database URL {url!r} has no scheme; expected sqlite:/// or postgresql://")
    scheme = url.split("://", 1)[0].lower()
    if scheme == "sqlite":
        sqlite_path(url)
        return "sqlite"
    if scheme in ("postgresql", "postgres"):
        postgresql_parts(url)
        return "postgresql"
    raise ValueError(f"unsupported database URL scheme {scheme!r}; expected sqlite, postgresql or postgres")


def sqlite_path(url: str) -> str:
    """The file path of an ``sqlite:///`` URL (``:memory:`` for the in-memory database)."""
    rest = url.split("://", 1)[1]
    if not rest.startswith("/") or "?" in rest:
        raise ValueError(
            "an SQLite URL is sqlite:/// then the path, without options "
            "(sqlite:///relative.db, sqlite:////absolute.db, sqlite:///:memory:)"
        )
    path = unquote(rest[1:])
    if not path:
        raise ValueError("SQLite URL names no file: sqlite:///path/to/file.db")
    return path


def postgresql_parts(url: str) -> tuple[SplitResult, int | None, str]:
    """(split URL, port or None, database name) of a PostgreSQL URL."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"bad port in PostgreSQL URL: {exc}") from None
    dbname = unquote(parts.path.lstrip("/"))
    if not dbname:
        raise ValueError("PostgreSQL URL names no database: postgresql://user@host:port/dbname")
    return parts, port, dbname
