"""CRM cards POSTed to a webhook, off the call's path.

A call only puts its card on a bounded queue (:meth:`CardPublisher.publish` never blocks
and never fails the call: a full queue drops the card, logged as ``crm_card_dropped``).
A few worker greenlets POST the JSON, each attempt bounded by ``timeout_s``, retried up
to ``retries`` more times with a growing pause, then given up (``crm_card_undelivered``).
A slow or dead webhook therefore never delays a call. The secret header's value comes from
the environment variable named in settings and is never logged.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from urllib.parse import urlsplit

import gevent
import gevent.queue

#: Cards waiting for delivery; beyond it new cards are dropped.
QUEUE_SIZE = 1000
#: Concurrent deliveries (so one hanging request does not hold up every card).
WORKERS = 4


class CardPublisher:
    """POSTs cards (JSON objects) to ``url``.

    secret: value of the ``secret_header`` (None: no header); timeout_s: seconds per
    attempt (connect + response); retries: extra attempts after a failure; backoff_s:
    pause before retry n is n * backoff_s seconds; log: a structlog logger.
    """

    def __init__(self, url: str, *, secret: str | None = None, secret_header: str = "X-Fsrouter-Secret",
                 timeout_s: float = 5.0, retries: int = 3, backoff_s: float = 1.0, log,
                 queue_size: int = QUEUE_SIZE, workers: int = WORKERS):
        self.url = url
        self.target = urlsplit(url).netloc  # what logs show: never the path/query (may carry tokens)
        self._secret = secret
        self.secret_header = secret_header
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff_s = backoff_s
        self.log = log
        self._queue: gevent.queue.Queue = gevent.queue.Queue(maxsize=queue_size)
        self._workers_n = workers
        self._workers: list[gevent.Greenlet] = []

    @classmethod
    def from_settings(cls, webhook, *, log, environ=os.environ) -> "CardPublisher":
        """Build from ``settings.crm_webhook`` (flow.model_base.CrmWebhook); the secret is read
        from the environment variable ``webhook.secret_env`` (missing: logged, no header)."""
        secret = None
        if webhook.secret_env:
            secret = environ.get(webhook.secret_env)
            if secret is None:
                log.warning("crm_webhook_secret_missing", env=webhook.secret_env)
        return cls(webhook.url, secret=secret, secret_header=webhook.secret_header,
                   timeout_s=webhook.timeout, retries=webhook.retries, log=log)

    def __repr__(self) -> str:
        return f"CardPublisher({self.target!r}, secret={'set' if self._secret else 'none'})"

    def start(self) -> None:
        """Spawn the delivery greenlets (idempotent)."""
        if self._workers:
            return
        for _ in range(self._workers_n):
            worker = gevent.spawn(self._work)
            worker.link_exception(self._worker_crashed)
            self._workers.append(worker)

    def stop(self) -> None:
        """Kill the delivery greenlets; cards still queued are dropped."""
        workers, self._workers = self._workers, []
        gevent.killall(workers, block=False)

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def publish(self, card: dict, *, log=None) -> bool:
        """Queue ``card`` for delivery; returns at once. False (logged) when the queue is full."""
        log = log or self.log
        try:
            self._queue.put_nowait((card, log))
        except gevent.queue.Full:
            log.warning("crm_card_dropped", reason="queue_full", webhook=self.target)
            return False
        return True

    def _worker_crashed(self, greenlet) -> None:
        self.log.error("crm_webhook_worker_crashed", error=repr(greenlet.exception))

    def _work(self) -> None:
        while True:
            card, log = self._queue.get()
            try:
                self.deliver(card, log=log)
            except Exception as exc:  # one card's failure must not stop deliveries
                log.error("crm_card_undelivered", webhook=self.target, error=repr(exc))

    def deliver(self, card: dict, *, log) -> bool:
        """POST one card now, with retries; True when the webhook answered 2xx."""
        body = json.dumps(card, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "fsrouter"}
        if self._secret is not None:
            headers[self.secret_header] = self._secret
        attempts = self.retries + 1
        for attempt in range(1, attempts + 1):
            request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                    status = response.status
            except urllib.error.HTTPError as exc:
                status, error = exc.code, f"HTTP {exc.code}"
            except (OSError, ValueError) as exc:  # URLError, timeouts, refused connections
                status, error = None, type(exc).__name__ + (f": {exc.reason}" if hasattr(exc, "reason") else "")
            else:
                error = None
            if status is not None and 200 <= status < 300:
                log.info("crm_card_delivered", webhook=self.target, attempt=attempt, status=status)
                return True
            log.warning("crm_card_post_failed", webhook=self.target, attempt=attempt, status=status, error=error)
            if attempt < attempts:
                gevent.sleep(self.backoff_s * attempt)  # retry pause, not synchronisation
        log.error("crm_card_undelivered", webhook=self.target, attempts=attempts, call_uuid=card.get("call_uuid"))
        return False
