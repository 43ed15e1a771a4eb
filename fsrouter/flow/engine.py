"""The flow engine: find the call's line, run its flow, and always write the call record.

``CallHungUp`` is caught in exactly one place (``Engine.handle_call``); whatever happens in
a flow, the call is torn down and its record written (spooled if the store is down).
"""

from __future__ import annotations

from typing import Callable

import gevent

from fsrouter.errors import CallHungUp, EslCommandRefused, EslTimeout
from fsrouter.esl import names as N
from fsrouter.flow.catalog import Catalog
from fsrouter.flow.context import CallContext, Services
from fsrouter.flow.graph import END
from fsrouter.flow.outbound import placed_call
from fsrouter.flow.phone import normalize
from fsrouter.flow.postcall import after_flow, settle
from fsrouter.store import CallRecord


class Engine:
    """Runs calls. catalog: () -> the current Catalog (read once per call, at its start);
    services: shared Services; hangup_timeout_s: seconds to wait for teardown events.
    """

    def __init__(self, catalog: Callable[[], Catalog], services: Services, *, hangup_timeout_s: float = 10.0):
        self.catalog = catalog
        self.services = services
        self.hangup_timeout_s = hangup_timeout_s

    def number_of(self, call) -> str:
        """The line's number: channel variable ``fsrouter_number`` if set, else the destination."""
        return call.variable(N.Var.FSROUTER_NUMBER) or call.destination

    def handle_call(self, call, log) -> None:
        """Drive one call to its end; never raises (except a shutdown's GreenletExit).

        A call an employee places (``fsrouter_direction=outbound``, flow.outbound) runs the
        chosen line's outbound flow instead of the line lookup and incoming flow.
        """
        catalog = self.catalog()
        try:  # (Placed, call view) when an employee places the call
            outgoing = placed_call(call, catalog.config)
        except Exception as exc:  # a bug here must not cost the call its record: route it as incoming
            log.exception("outbound_detection_failed", error=repr(exc))
            outgoing = None
        placed = outgoing[0] if outgoing is not None else None
        if placed is None:
            number = self.number_of(call)
            line = catalog.line_for(number)
        else:  # the view: destination = the E.164 number dialed, caller = the employee's extension
            call, line = outgoing[1], placed.line
        ctx = CallContext(call=call, line=line, config=catalog.config, services=self.services,
                          log=log.bind(line=line.id if line else None),
                          direction="inbound" if placed is None else "outbound")
        cause = N.HangupCause.NORMAL_CLEARING
        try:
            if placed is not None:
                self.run_outbound(catalog, placed, ctx)
            elif line is None:
                ctx.step("lookup", number=number, result="unknown_number")
                log.warning("number_unknown", number=number)
                cause = N.HangupCause.UNALLOCATED_NUMBER
            else:
                self.run_flow(catalog.flows[line.id], ctx)
                after_flow(ctx)  # recording stop, rating: the caller is still on the line
        except CallHungUp as exc:
            if call.connection_lost:  # FreeSWITCH's socket went without a hangup: say so
                ctx.step("connection_lost", reason=call.connection_lost)
                ctx.log.warning("connection_lost", reason=call.connection_lost)
            elif not call.hangup_requested:  # not the hangup the flow itself asked for
                ctx.step("caller_hung_up", hangup_cause=exc.hangup_cause or call.hangup_cause)
        except EslTimeout as exc:
            ctx.log.warning("flow_timed_out", waiting_for=exc.what, timeout_s=exc.timeout_s)
            cause = N.HangupCause.RECOVERY_ON_TIMER_EXPIRE
        except EslCommandRefused as exc:
            ctx.log.warning("command_refused", command=exc.command, reply=exc.reply)
            ctx.step("command_refused", command=exc.command, reply=exc.reply)
            cause = N.HangupCause.NORMAL_TEMPORARY_FAILURE
        except gevent.GreenletExit:
            ctx.step("cut_by_shutdown")
            cause = N.HangupCause.MANAGER_REQUEST
            raise
        except Exception as exc:  # a bug in one flow must end this call cleanly, not the server
            ctx.log.exception("flow_failed", error=repr(exc))
            ctx.step("flow_failed", error=type(exc).__name__)
            cause = N.HangupCause.NORMAL_TEMPORARY_FAILURE
        finally:
            self.finish(ctx, catalog, cause)

    def run_outbound(self, catalog: Catalog, placed, ctx: CallContext) -> None:
        """A call an employee places (flow.outbound): its line's outbound flow, or the refusal.
        No after_flow: nobody is asked for a rating, and the recording runs to the hangup."""
        ctx.log = ctx.log.bind(direction="outbound")
        ctx.extra["outbound"] = placed.as_extra()
        self.run_flow(catalog.outbound.flow_for(placed.line), ctx)

    def run_flow(self, flow, ctx: CallContext) -> None:
        node_id = flow.start
        while node_id != END:
            outcome = flow.nodes[node_id].run(ctx)
            node_id = flow.next(node_id, outcome)

    def finish(self, ctx: CallContext, catalog: Catalog, cause: str) -> None:
        """Tear the call down and write its record (never lost: the store spools on outage)."""
        call = ctx.call
        complete = None
        try:
            complete = call.end(cause, timeout_s=self.hangup_timeout_s)
        except Exception as exc:
            ctx.log.warning("call_teardown_failed", error=repr(exc))
        hangup_cause = (complete.get(N.Header.HANGUP_CAUSE) if complete is not None else None) or call.hangup_cause
        settle(ctx, complete)  # recording row, CRM lead: noted in ctx.extra before the record
        record = CallRecord(
            call_uuid=call.uuid, line=ctx.line.id if ctx.line else None, direction=ctx.direction,
            caller=call.caller, destination=recorded_destination(ctx), started_at=call.created_at,
            answered_at=ctx.answered_at, ended_at=self.services.clock(), hangup_cause=hangup_cause,
            route=tuple(ctx.route), answered_by=ctx.answered_by, config_version=catalog.version,
            extra=ctx.extra,
        )
        store = self.services.store
        if ctx.claims:  # most calls never ring anyone from the store's point of view: no write
            try:
                store.employees.release_call(call.uuid)
            except Exception as exc:
                ctx.log.warning("employee_release_failed", error=repr(exc))
        try:
            store.calls.save(record)
        except Exception as exc:
            ctx.log.error("call_record_lost", error=repr(exc), record=repr(record))
        ctx.log.info("call_ended", hangup_cause=hangup_cause, answered_by=ctx.answered_by,
                     steps=len(ctx.route))


def recorded_destination(ctx) -> str:
    """The destination a call record keeps: for an incoming call on a DID line, the
    line's E.164 number when the dialed one is that number written another way
    (``0441234567``) or empty (the line found by ``fsrouter_number``); otherwise
    ``Caller-Destination-Number`` as FreeSWITCH sent it."""
    raw = ctx.call.destination
    line = ctx.line
    if ctx.direction == "inbound" and line is not None and line.number.startswith("+"):
        if not raw or raw == line.number or normalize(raw, ctx.config.settings.country) == line.number:
            return line.number
    return raw
