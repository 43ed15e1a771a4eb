"""Missed-callback retries: the decisions (pure) and the Python API to request a callback.

A request (:func:`request_callback`) is stored pending, due now. Each attempt calls the
agent first (the line's group, by its strategy, skipping busy and, with
``routing.skip_absent``, absent employees), then bridges the agent to the client through
the line's ``outbound.gateway`` with the line's number as caller ID (:func:`dial_strings`).
When the client is not reached, the next attempt is due ``callback.interval`` seconds
later, up to ``callback.attempts`` in all (``callback.retry: false``: one attempt only)
(:func:`decide`). The runner that makes the attempts is ``flow.callback_runner``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from fsrouter.esl import names as N
from fsrouter.flow.phone import valid_number

#: Seconds the client's phone may ring on an attempt (the agent rings for the group's ring_time).
CLIENT_RING_TIME_S = 45
#: Extra seconds an attempt may take beyond both ring times before it counts as "unknown".
ATTEMPT_MARGIN_S = 30


@dataclass(frozen=True)
class Policy:
    """How a line retries: attempts 1..5 in all, interval_s seconds apart."""

    attempts: int
    interval_s: int


@dataclass(frozen=True)
class Decision:
    """What to do after an attempt: status "answered" | "failed" | "pending"; next_at:
    when the next attempt is due (pending only)."""

    status: str
    next_at: datetime | None = None


def policy_for(line) -> Policy:
    """The line's ``callback`` section as a Policy (retry off: a single attempt)."""
    cb = line.callback
    return Policy(attempts=cb.attempts if cb.retry else 1, interval_s=cb.interval)


def decide(*, attempts_made: int, max_attempts: int, interval_s: int, outcome: str, now: datetime) -> Decision:
    """After attempt number ``attempts_made`` ended with ``outcome`` at ``now``: answered
    ends the request; otherwise another attempt ``interval_s`` seconds later while fewer
    than ``max_attempts`` were made, else the request has failed. ``no_agent`` (nobody
    could take the callback) is retried like a miss but does not use an attempt up."""
    if outcome == "answered":
        return Decision("answered")
    if outcome != "no_agent" and attempts_made >= max_attempts:
        return Decision("failed")
    return Decision("pending", now + timedelta(seconds=interval_s))


def choose_agent(line, config, employees) -> "object | None":
    """The employee to call first: the line's group members in the group's order
    (``evenly`` and ``all_at_once``: longest idle first, one agent per attempt), skipping
    those on a call and, when ``routing.skip_absent``, those not at work. employees: the
    store's EmployeeStateRepository. None when nobody can take it."""
    group = config.groups.get(line.routing.group) if line.routing.group else None
    if group is None:
        return None
    order = list(group.members)
    if group.strategy != "in_order":
        order = employees.idle_order(order)
    absent = employees.absent(order) if line.routing.skip_absent else set()
    busy = employees.busy([m for m in order if m not in absent])
    for member in order:
        if member not in absent and member not in busy:
            return config.employees[member]
    return None


def dial_strings(line, config, agent, number: str, *, leg_uuid: str, callback_id: int) -> tuple[str, str]:
    """(agent leg, client leg) of ``originate <agent leg> &bridge(<client leg>)``.

    Both show the line's number as caller ID; the agent's leg gets ``origination_uuid``
    = ``leg_uuid`` (its events are followed) and rings for the group's ring_time; the
    client's leg goes through the line's ``outbound.gateway`` (none: FreeSWITCH's
    ``default`` context via loopback) and rings CLIENT_RING_TIME_S seconds.
    """
    group = config.groups[line.routing.group]
    agent_vars = {
        "origination_uuid": leg_uuid,
        "origination_caller_id_number": line.number,
        "origination_caller_id_name": "Callback",
        N.Var.ORIGINATE_TIMEOUT: str(group.ring_time),
        "fsrouter_callback_id": str(callback_id),
        N.Var.FSROUTER_NUMBER: line.number,
    }
    gateway = line.outbound.gateway
    target = f"sofia/gateway/{gateway}/{number}" if gateway else f"loopback/{number}/default"
    client_vars = {"origination_caller_id_number": line.number, N.Var.ORIGINATE_TIMEOUT: str(CLIENT_RING_TIME_S)}
    return _with_vars(agent_vars, agent.endpoint), _with_vars(client_vars, target)


def attempt_timeout_s(line, config) -> float:
    """Seconds one attempt may take: agent ring time + client ring time + margin."""
    return config.groups[line.routing.group].ring_time + CLIENT_RING_TIME_S + ATTEMPT_MARGIN_S


def _with_vars(variables: dict, endpoint: str) -> str:
    for name, value in variables.items():
        if any(c in value for c in ",{} ()'\""):
            raise ValueError(f"{name}: {value!r} cannot go into a dial string")
    return "{" + ",".join(f"{k}={v}" for k, v in variables.items()) + "}" + endpoint


def request_callback(store, config, line_id: str, number: str, *, now: datetime):
    """Ask for ``number`` to be called back on line ``line_id``; the first attempt is due
    at ``now`` (aware UTC). number: E.164 or national (read with settings.country).

    Returns the stored CallbackRecord. ValueError (with the reason) for an unknown line,
    a line without a group, or a number that is not a valid phone number (phonenumbers'
    ``is_valid_number``: ``12345`` is refused, not stored as ``+38012345``).
    """
    line = config.lines.get(line_id)
    if line is None:
        raise ValueError(f"no line {line_id!r} (known: {', '.join(sorted(config.lines))})")
    if not line.routing.group:
        raise ValueError(f"line {line_id!r} has no routing.group: nobody to make the callback")
    e164 = valid_number(number, config.settings.country)
    if e164 is None:
        raise ValueError(f"{number!r} is not a phone number: not a valid E.164 number, nor a valid "
                         f"national one of settings.country {config.settings.country}")
    policy = policy_for(line)
    return store.callbacks.add(line=line_id, number=e164, max_attempts=policy.attempts,
                               interval_s=policy.interval_s, due_at=now)
