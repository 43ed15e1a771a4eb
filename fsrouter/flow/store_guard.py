"""The store as a live call uses it: a database outage degrades routing, it never ends a call.

A call must still be routed when the database is down (an engine that is up with a dead
database must not be worse than an engine that is down). Each repository method a flow
calls during a call has an explicit fallback here: nobody is treated as absent or busy,
a claim succeeds, the CRM finds no match, a recording is allowed (UNCOUNTED: no quota
slot taken, none given back), a voicemail row is not
written (its path stays in the call's route). Each fallback is logged as
``store_unavailable`` with the operation. The call record itself is spooled by
``CallRepository.save`` and written when the database is back.
"""

from __future__ import annotations

from typing import Any, Callable

from fsrouter.errors import StoreError

from .record_writer import GroupCommitCalls


def _none(*_args, **_kwargs):
    return None


def _true(*_args, **_kwargs):
    return True


def _empty_set(*_args, **_kwargs):
    return set()


def _same_order(employees, *_args, **_kwargs):
    return list(employees)


class Uncounted:
    """What a recording claim gives while the store is down: the call may be recorded,
    but no quota slot was taken (so none is to be given back)."""

    def __bool__(self) -> bool:
        return True

    def __repr__(self) -> str:
        return "UNCOUNTED"


UNCOUNTED = Uncounted()


def _uncounted(*_args, **_kwargs):
    return UNCOUNTED


#: repository -> method -> fallback(same arguments) when the store raises StoreError
FALLBACKS: dict[str, dict[str, Callable[..., Any]]] = {
    "employees": {
        "absent": _empty_set, "busy": _empty_set, "mark_busy": _true, "mark_free": _none,
        "take_over": _none, "idle_order": _same_order, "release_call": _none, "status": _none,
    },
    "crm": {"match": _none},
    "recordings": {"claim": _uncounted, "give_back": _none, "add": _none},
    "voicemails": {"add": _none},
}


class GuardedRepository:
    """One repository whose listed methods fall back instead of raising StoreError;
    every other attribute is the repository's own."""

    def __init__(self, name: str, repository, fallbacks: dict[str, Callable[..., Any]], log):
        self._name = name
        self._repository = repository
        self._log = log
        for method, fallback in fallbacks.items():
            setattr(self, method, self._guard(method, getattr(repository, method), fallback))

    def _guard(self, method: str, target, fallback):
        def guarded(*args, **kwargs):
            try:
                return target(*args, **kwargs)
            except StoreError as exc:
                self._log.warning("store_unavailable", operation=f"{self._name}.{method}", error=str(exc))
                return fallback(*args, **kwargs)
        guarded.__name__ = method
        guarded.__doc__ = target.__doc__
        return guarded

    def __getattr__(self, attr: str):  # only reached for methods without a fallback
        return getattr(self._repository, attr)


class CallTimeStore:
    """A Store for flows: ``employees``, ``crm``, ``recordings``, ``voicemails`` guarded as in
    FALLBACKS; ``calls`` saves by group commit (flow.record_writer); every other repository
    (``callbacks``...) is the store's own.

    store: fsrouter.store.Store; log: a structlog logger.
    """

    def __init__(self, store, log):
        self._store = store
        self.calls = GroupCommitCalls(store.calls)
        for name, fallbacks in FALLBACKS.items():
            repository = getattr(store, name, None)
            if repository is not None:
                setattr(self, name, GuardedRepository(name, repository, fallbacks, log))

    def __getattr__(self, attr: str):
        return getattr(self._store, attr)
