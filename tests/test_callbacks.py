"""Missed-callback retries over the inbound event socket, against a fake FreeSWITCH (port 8021)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import gevent.event
import pytest
import structlog
from structlog.testing import capture_logs

from fsrouter.app import App, Overrides
from fsrouter.flow.callbacks import decide
from fsrouter.replay.fake_inbound import FakeInboundFreeSwitch
from fsrouter.session.inbound import InboundClient
from tests.harness import SETTINGS, write_config

PASSWORD = "s3cret-Pa55"
CLIENT = "+380501234567"
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)
LINE = """\
    number: "+380441234567"
    kind: rented
    timezone: Europe/Kyiv
    routing: {greeting: false, group: sales}
    outbound: {gateway: kyiv-trunk}
    callback: {retry: true, interval: 300, attempts: 3}
"""


class FakeClock:
    """Time moves only when the test says so; waiting greenlets are woken on each move."""

    def __init__(self, start: datetime):
        self.t = start
        self._listeners = []

    def now(self) -> datetime:
        return self.t

    def wait(self, event: gevent.event.Event, timeout_s: float) -> None:
        event.wait()  # woken by advance() (through subscribe) or by the runner itself

    def subscribe(self, callback) -> None:
        self._listeners.append(callback)

    def advance(self, seconds: float) -> None:
        self.t += timedelta(seconds=seconds)
        for callback in self._listeners:
            callback()


@pytest.fixture
def fake_fs():
    fake = FakeInboundFreeSwitch(PASSWORD).start()
    yield fake
    fake.stop()


def _config(tmp_path, fake, attempts: int = 3):
    settings = SETTINGS.replace("esl:\n", f"esl:\n  inbound: 127.0.0.1:{fake.address[1]}\n  password: {PASSWORD}\n")
    line = LINE.replace("attempts: 3", f"attempts: {attempts}")
    return write_config(tmp_path / "config", settings=settings, lines={"kyiv": line})


class Engine:
    """The real App with its callback runner on a fake clock (stop() also stops callbacks)."""

    def __init__(self, config_dir, db_url: str, clock: FakeClock):
        self.app = App(config_dir, Overrides(db=db_url, listen="127.0.0.1:0"), clock=clock)
        self.app.start_callbacks()
        assert self.app.inbound.wait_connected(5)

    def settle(self) -> None:
        assert self.app.callbacks.wait_idle(10), "the callback runner did not settle"

    def stop(self) -> None:
        self.app.stop_callbacks()
        self.app.store.close()


def test_a_client_busy_twice_then_answering_gets_three_originates_300_s_apart(tmp_path, fake_fs):
    fake_fs.clients[CLIENT] = ["busy", "busy", "answer"]
    clock = FakeClock(T0)
    engine = Engine(_config(tmp_path, fake_fs), f"sqlite:///{tmp_path / 'x.db'}", clock)
    try:
        record = engine.app.request_callback("kyiv", CLIENT)
        engine.settle()
        for _ in range(2):
            clock.advance(300)
            engine.settle()
        stored = engine.app.store.callbacks.get(record.id)
    finally:
        engine.stop()
    assert [(o.agent, o.client) for o in fake_fs.originates] == [("user/101", f"sofia/gateway/kyiv-trunk/{CLIENT}")] * 3
    assert [h["at"] for h in stored.history] == [(T0 + timedelta(seconds=s)).isoformat() for s in (0, 300, 600)]
    assert [(h["outcome"], h["cause"]) for h in stored.history] == [
        ("client_failed", "USER_BUSY"), ("client_failed", "USER_BUSY"), ("answered", None)]
    assert (stored.status, stored.attempts_made, stored.next_at) == ("answered", 3, None)


def test_the_agent_leg_comes_first_with_the_line_number_as_caller_id(tmp_path, fake_fs):
    clock = FakeClock(T0)
    engine = Engine(_config(tmp_path, fake_fs), f"sqlite:///{tmp_path / 'x.db'}", clock)
    try:
        engine.app.request_callback("kyiv", "0501234567")  # national form, read with settings.country
        engine.settle()
    finally:
        engine.stop()
    (call,) = fake_fs.originates
    assert call.agent == "user/101" and call.client_number == CLIENT
    assert call.agent_vars["origination_caller_id_number"] == "+380441234567"
    assert call.client_vars["origination_caller_id_number"] == "+380441234567"
    assert call.agent_vars["originate_timeout"] == "20"


def test_a_client_never_reached_fails_after_the_configured_attempts(tmp_path, fake_fs):
    fake_fs.clients[CLIENT] = ["no_answer"] * 5
    clock = FakeClock(T0)
    engine = Engine(_config(tmp_path, fake_fs, attempts=2), f"sqlite:///{tmp_path / 'x.db'}", clock)
    try:
        record = engine.app.request_callback("kyiv", CLIENT)
        engine.settle()
        for _ in range(3):
            clock.advance(300)
            engine.settle()
        stored = engine.app.store.callbacks.get(record.id)
    finally:
        engine.stop()
    assert len(fake_fs.originates) == 2
    assert (stored.status, stored.attempts_made) == ("failed", 2)


def test_a_restart_between_attempts_1_and_2_still_makes_attempt_2_exactly_once(tmp_path, fake_fs):
    fake_fs.clients[CLIENT] = ["busy", "answer"]
    clock, db = FakeClock(T0), f"sqlite:///{tmp_path / 'x.db'}"
    config = _config(tmp_path, fake_fs)
    first = Engine(config, db, clock)
    try:
        record = first.app.request_callback("kyiv", CLIENT)
        first.settle()
    finally:
        first.stop()
    assert len(fake_fs.originates) == 1
    second = Engine(config, db, clock)
    try:
        second.settle()
        assert len(fake_fs.originates) == 1, "nothing is due before the interval"
        clock.advance(300)
        second.settle()
        clock.advance(3600)
        second.settle()
        stored = second.app.store.callbacks.get(record.id)
    finally:
        second.stop()
    assert len(fake_fs.originates) == 2
    assert [h["attempt"] for h in stored.history] == [1, 2]
    assert stored.status == "answered"


def test_two_engines_on_one_store_make_a_due_attempt_once(tmp_path, fake_fs):
    clock, db = FakeClock(T0), f"sqlite:///{tmp_path / 'x.db'}"
    config = _config(tmp_path, fake_fs)
    engines = [Engine(config, db, clock), Engine(config, db, clock)]
    try:
        engines[0].app.request_callback("kyiv", CLIENT)
        clock.advance(0)  # wakes both runners at once
        for engine in engines:
            engine.settle()
    finally:
        for engine in engines:
            engine.stop()
    assert len(fake_fs.originates) == 1


def test_the_inbound_socket_reconnects_with_backoff_after_freeswitch_restarts(fake_fs):
    delays: list[float] = []

    def sleep(seconds: float) -> None:
        delays.append(seconds)
        if len(delays) == 3:
            fake_fs.start()  # FreeSWITCH is back after the third try
        gevent.sleep(0)

    client = InboundClient(fake_fs.address, PASSWORD, log=structlog.get_logger(), sleep=sleep,
                           backoff_s=(0.5, 1.0, 2.0, 5.0))
    client.start()
    try:
        assert client.wait_connected(5)
        fake_fs.stop()  # FreeSWITCH goes down: refused until it is started again
        assert fake_fs.wait_for(lambda f: client.connections == 2, timeout_s=10)
        assert client.wait_connected(5)
        result = client.originate("{origination_uuid=L1}user/101", f"sofia/gateway/gw/{CLIENT}",
                                  leg_uuid="L1", timeout_s=5)
    finally:
        client.stop()
    assert delays == [0.5, 1.0, 2.0]  # after the drop, then after each refused try, growing
    assert result.answered and fake_fs.connections == 2


def test_the_password_is_sent_in_auth_and_never_logged(tmp_path, fake_fs):
    fake_fs.password = "another-one"  # refuse first, so the refusal is logged too
    with capture_logs() as logs:
        client = InboundClient(fake_fs.address, PASSWORD, log=structlog.get_logger(),
                               sleep=lambda s: gevent.sleep(0), backoff_s=(0.01,))
        client.start()
        assert fake_fs.wait_for(lambda f: len(f.auth_passwords) >= 2, timeout_s=5)
        fake_fs.password = PASSWORD
        assert client.wait_connected(5)
        client.stop()
    assert fake_fs.auth_passwords[-1] == PASSWORD
    assert any(e["event"] == "esl_inbound_auth_refused" for e in logs)
    assert any(e["event"] == "esl_inbound_connected" for e in logs)
    assert PASSWORD not in repr(logs) and PASSWORD not in repr(client)


def test_the_password_from_the_environment_wins_over_settings(tmp_path, fake_fs, monkeypatch):
    monkeypatch.setenv("FSROUTER_ESL_PASSWORD", PASSWORD)
    config = _config(tmp_path, fake_fs)
    settings = (config / "settings.yaml").read_text().replace(PASSWORD, "wrong-in-yaml")
    (config / "settings.yaml").write_text(settings)
    engine = Engine(config, f"sqlite:///{tmp_path / 'x.db'}", FakeClock(T0))
    engine.stop()
    assert fake_fs.auth_passwords == [PASSWORD]


@pytest.mark.parametrize("outcome, made, status, next_s", [
    ("answered", 1, "answered", None), ("client_failed", 1, "pending", 300),
    ("client_failed", 3, "failed", None), ("agent_failed", 2, "pending", 300),
    ("no_agent", 3, "pending", 300), ("unknown", 3, "failed", None)])
def test_decide_retries_after_the_interval_until_the_attempts_are_used_up(outcome, made, status, next_s):
    decision = decide(attempts_made=made, max_attempts=3, interval_s=300, outcome=outcome, now=T0)
    assert decision.status == status
    assert decision.next_at == (None if next_s is None else T0 + timedelta(seconds=next_s))


def test_a_callback_for_an_unknown_line_or_a_non_number_is_refused(tmp_path, fake_fs):
    engine = Engine(_config(tmp_path, fake_fs), f"sqlite:///{tmp_path / 'x.db'}", FakeClock(T0))
    try:
        with pytest.raises(ValueError, match="no line 'nope'"):
            engine.app.request_callback("nope", CLIENT)
        with pytest.raises(ValueError, match="not a phone number"):
            engine.app.request_callback("kyiv", "abc")
    finally:
        engine.stop()
