"""Call records of a live engine, written by group commit.

Every call ends with its CDR (the call record) written to the store. One transaction per
call made the commit the largest single cost of a call under load (benchmarks/HISTORY.md).
Here a call hands its record to the one writer greenlet and waits: the writer takes every
record queued by then and saves them in one transaction (``CallRepository.save_many``),
then wakes their calls. Alone, a call waits for its own one-row transaction, as before;
under load, the calls that ended in the same turn of the event loop share a commit.

Nothing is acknowledged before it is stored (or spooled by the store): when ``save``
returns, the record is as durable as a direct ``calls.save``.
"""

from __future__ import annotations

from typing import Any

import gevent
from gevent.event import AsyncResult

from fsrouter.errors import StoreError

#: Records per transaction, at most; the rest wait for the next one.
MAX_BATCH = 256


class GroupCommitCalls:
    """``calls`` for live calls: ``save`` by group commit; every other attribute is the
    repository's own (``get``, ``list``, ``flush_spool`` ...).

    calls: fsrouter.store.CallRepository (needs ``save_many``); max_batch: records per
    transaction. ``save`` raises what ``save_many`` raises for its batch (StoreError when
    a record could be neither saved nor spooled).
    """

    def __init__(self, calls, *, max_batch: int = MAX_BATCH):
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch!r}")
        self._calls = calls
        self._max_batch = max_batch
        self._queued: list[tuple[Any, AsyncResult]] = []
        self._writer: gevent.Greenlet | None = None
        self.batches = 0  # transactions written (tests and benchmarks read it)

    def save(self, record) -> None:
        """Queue ``record`` for the next group commit and wait until it is stored or spooled."""
        done = AsyncResult()
        self._queued.append((record, done))
        if self._writer is None:
            self._writer = gevent.spawn(self._write_queued)
        error = done.get()
        if error is not None:
            raise error

    def _write_queued(self) -> None:
        try:
            while self._queued:
                batch = self._queued[:self._max_batch]
                del self._queued[:self._max_batch]
                self._write(batch)
        finally:
            self._writer = None
            if self._queued:  # killed between batches: the next save starts a writer
                self._writer = gevent.spawn(self._write_queued)

    def _write(self, batch: list[tuple[Any, AsyncResult]]) -> None:
        error: BaseException | None = None
        try:
            self._calls.save_many([record for record, _ in batch])
        except StoreError as exc:  # neither stored nor spooled: the store says so for the batch
            error = exc
        except Exception as exc:  # a bug or a driver refusing one record: each record alone
            if len(batch) > 1:
                self.batches += 1
                for item in batch:
                    self._write([item])
                return
            error = exc
        except BaseException as exc:  # killed mid-write: no waiter may hang
            for _, done in batch:
                done.set(exc if isinstance(exc, Exception) else RuntimeError(f"call record writer stopped: {exc!r}"))
            raise
        self.batches += 1
        for _, done in batch:
            done.set(error)

    def drain(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` seconds until every queued record is stored or spooled
        (at shutdown, before the store closes). True when nothing is left queued."""
        with gevent.Timeout(timeout_s, False):
            while self._writer is not None:
                self._writer.join()
        return self._writer is None and not self._queued

    def __getattr__(self, attr: str):
        return getattr(self._calls, attr)
