"""The CRM card webhook against a real local HTTP server (gevent.pywsgi): delivery, secret
header, retries, and a webhook that hangs without slowing calls down."""

from __future__ import annotations

import json
import time

import gevent
import gevent.event
import gevent.queue
from gevent.pywsgi import WSGIServer
from structlog.testing import capture_logs

from fsrouter.flow.webhook import CardPublisher
from fsrouter.replay.fakefs import Scenario
from tests.harness import SETTINGS, EngineHarness, write_config

SECRET = "s3cr3t-value-never-logged"
LINE = """\
    number: "+380441234567"
    kind: rented
    timezone: Europe/Kyiv
    routing:
      greeting: false
      group: sales
    crm:
      enabled: true
"""


class Webhook:
    """A local HTTP server; ``behaviour`` is "ok", "fail_once" or "hang"."""

    def __init__(self, behaviour: str = "ok"):
        self.behaviour = behaviour
        self.received: gevent.queue.Queue = gevent.queue.Queue()
        self.release = gevent.event.Event()
        self.hits = 0
        self.server = WSGIServer(("127.0.0.1", 0), self.app, log=None, error_log=None)

    def app(self, environ, start_response):
        self.hits += 1
        body = environ["wsgi.input"].read()
        if self.behaviour == "hang":
            self.release.wait(30)
        if self.behaviour == "fail_once" and self.hits == 1:
            start_response("503 Service Unavailable", [("Content-Length", "0")])
            return [b""]
        self.received.put((environ.get("HTTP_X_FSROUTER_SECRET"), json.loads(body)))
        start_response("204 No Content", [])
        return [b""]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/card"

    def __enter__(self):
        self.server.start()
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.server.stop(timeout=1)


def engine_for(tmp_path, webhook: Webhook, monkeypatch, *, timeout_s: float = 2.0):
    monkeypatch.setenv("FSROUTER_TEST_CRM_SECRET", SECRET)
    settings = SETTINGS + (f"crm_webhook:\n  url: {webhook.url}\n  secret_env: FSROUTER_TEST_CRM_SECRET\n"
                           f"  timeout: {timeout_s}\n  retries: 1\n")
    harness = EngineHarness(write_config(tmp_path / "config", lines={"kyiv": LINE}, settings=settings),
                            db_url=f"sqlite:///{tmp_path / 'x.db'}")
    harness.start()
    return harness


def test_a_call_posts_its_card_as_json_with_the_secret_header_which_is_never_logged(tmp_path, monkeypatch):
    with Webhook() as webhook, capture_logs() as logs:
        engine = engine_for(tmp_path, webhook, monkeypatch)
        try:
            fake = engine.call(Scenario(endpoints={"user/101": "answer"}))
            secret, card = webhook.received.get(timeout=10)
        finally:
            engine.stop()
    assert secret == SECRET
    assert (card["event"], card["call_uuid"], card["line"], card["phone"]) == (
        "crm_card", fake.scenario.uuid, "kyiv", "+380501112233")
    assert card["match"] is None
    assert SECRET not in repr(logs)
    assert SECRET not in repr(engine.app.services.cards)


def test_a_webhook_failing_once_gets_the_card_on_the_retry(monkeypatch):
    with Webhook("fail_once") as webhook:
        publisher = CardPublisher(webhook.url, timeout_s=2, retries=2, backoff_s=0.01, log=_NullLog())
        assert publisher.deliver({"call_uuid": "c1"}, log=_NullLog()) is True
    assert webhook.hits == 2
    assert webhook.received.get(timeout=1)[1] == {"call_uuid": "c1"}


def test_a_dead_webhook_is_given_up_after_the_bounded_retries():
    publisher = CardPublisher("http://127.0.0.1:9/card", timeout_s=1, retries=2, backoff_s=0.01, log=_NullLog())
    events = []
    assert publisher.deliver({"call_uuid": "c1"}, log=_Recorder(events)) is False
    assert [e for e in events if e == "crm_card_post_failed"] == ["crm_card_post_failed"] * 3
    assert events[-1] == "crm_card_undelivered"


def test_a_hanging_webhook_does_not_make_calls_take_longer(tmp_path, monkeypatch):
    with Webhook("hang") as webhook:
        engine = engine_for(tmp_path, webhook, monkeypatch, timeout_s=5.0)
        try:
            started = time.monotonic()
            for _ in range(3):
                fake = engine.call(Scenario(endpoints={"user/101": "answer"}))
                assert engine.record(fake.scenario.uuid).extra["crm"]["phone"] == "+380501112233"
            elapsed = time.monotonic() - started
            assert webhook.hits >= 1  # the POST really is in flight, hanging
        finally:
            engine.stop()
    assert elapsed < 2.0  # three calls, each would wait 5 s if the POST were on the call's path


def test_a_full_queue_drops_the_card_instead_of_blocking_the_call():
    publisher = CardPublisher("http://127.0.0.1:9/card", queue_size=1, log=_NullLog())  # not started
    events = []
    assert publisher.publish({"n": 1}, log=_Recorder(events)) is True
    assert publisher.publish({"n": 2}, log=_Recorder(events)) is False
    assert events == ["crm_card_dropped"]


class _NullLog:
    def __getattr__(self, name):
        return lambda *a, **k: None


class _Recorder:
    def __init__(self, events):
        self.events = events

    def __getattr__(self, level):
        return lambda event, **fields: self.events.append(event)
