"""A durable JSON-lines spool: what could not reach the database waits here, one object a line.

``<dir>/<name>.jsonl`` receives appends (each line fsync'd). Draining first renames that
file to ``<name>.jsonl.<id>.claimed`` under an exclusive ``flock``, so appends that come
later (from this or another process) start a new file and nothing is read twice or lost;
the claimed files are deleted only after the caller has stored their contents, so a
failed drain (database down again) or a crash leaves them for the next drain. Lines that
are not valid JSON objects (a torn write after a crash) go to ``<name>.rejected.jsonl``.

POSIX only (``fcntl.flock``). File I/O here is short and does not yield to gevent.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator


@dataclass
class Batch:
    """What one drain claimed: ``items`` (dicts, in file order) and ``rejected`` (count)."""

    items: list[dict[str, Any]] = field(default_factory=list)
    rejected: int = 0
    _spool: "JsonlSpool | None" = None

    def reject(self, item: dict[str, Any]) -> None:
        """Set ``item`` aside in the rejected file (it could not be turned into a record)."""
        self.rejected += 1
        if self._spool is not None:
            self._spool._write_rejected(json.dumps(item, separators=(",", ":")))


class JsonlSpool:
    """The spool ``<directory>/<name>.jsonl``; the folder is created on first append."""

    def __init__(self, directory: str | Path, name: str):
        self.directory = Path(directory)
        self.path = self.directory / f"{name}.jsonl"
        self.rejected_path = self.directory / f"{name}.rejected.jsonl"
        self._claimed_glob = f"{name}.jsonl.*.claimed"
        self._drain_lock = threading.Lock()
        self._leftovers = bool(self._claimed_files())

    def append(self, item: dict[str, Any]) -> None:
        """Append ``item`` as one JSON line and fsync it. OSError if the disk refuses."""
        text = json.dumps(item, separators=(",", ":"), ensure_ascii=False) + "\n"
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate has no UTF-8 form: escape it as JSON does
            data = (json.dumps(item, separators=(",", ":")) + "\n").encode("ascii")
        self.directory.mkdir(parents=True, exist_ok=True)
        while True:
            created = not self.path.exists()
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                if not _same_file(fd, self.path):
                    continue  # drained (renamed) between open and lock: write to the new file
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    data = b"\n" + data  # a torn line from a crash stays alone on its line
                _write_all(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)  # also releases the flock
            if created:
                _fsync_dir(self.directory)
            return

    def pending(self) -> bool:
        """True when something waits to be drained (a stat, plus a flag for leftovers)."""
        return self._leftovers or self.path.exists()

    @contextmanager
    def drain(self) -> Iterator[Batch]:
        """Claim everything spooled so far and yield it as a :class:`Batch`.

        When the ``with`` block completes, the claimed files are deleted; when it raises,
        they stay for the next drain. A drain already running in this process makes this
        one yield an empty batch (its items are being handled there).
        """
        if not self._drain_lock.acquire(blocking=False):
            yield Batch()
            return
        try:
            self._claim()
            files = self._claimed_files()
            batch = Batch(_spool=self)
            for path in files:
                try:
                    content = path.read_bytes()
                except FileNotFoundError:
                    continue  # another process drained it meanwhile
                for raw in content.split(b"\n"):
                    if not raw.strip():
                        continue
                    try:
                        item = json.loads(raw)
                    except ValueError:
                        item = None
                    if isinstance(item, dict):
                        batch.items.append(item)
                    else:
                        batch.rejected += 1
                        self._write_rejected(raw.decode("utf-8", "replace"))
            self._leftovers = bool(files)
            yield batch
            for path in files:
                path.unlink(missing_ok=True)
            self._leftovers = False
        finally:
            self._drain_lock.release()

    def _claim(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if _same_file(fd, self.path):
                os.rename(self.path, self.directory / f"{self.path.name}.{uuid.uuid4().hex}.claimed")
        finally:
            os.close(fd)

    def _claimed_files(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return sorted(self.directory.glob(self._claimed_glob))

    def _write_rejected(self, line: str) -> None:
        with open(self.rejected_path, "a", encoding="utf-8") as out:
            out.write(line.rstrip("\n") + "\n")
            out.flush()
            os.fsync(out.fileno())


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.fstat(fd).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        return False


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
