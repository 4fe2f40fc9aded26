"""The embedded DynamoDB of the local stack: moto's server, in memory, on loopback.

It is an emulator: no TTL expiry, no ClientRequestToken idempotency, and
nothing survives a restart unless snapshot.py writes it to disk.

The same server is the local stack's SQS (the work queue), with one fix
for a queue of many messages (infra/sqs_emulator.py).

One thing it must not get wrong is isolation. DynamoDB runs each request, and
each TransactWriteItems as a whole, atomically; moto checks a transaction's
conditions and then applies its items without a lock, so two transactions on
different threads can interleave (seen: one payment extending a card twice).
The server here therefore serves one DynamoDB request at a time, and its
transactions check every condition first and back up only the items they
write (emulator_transactions.py: moto copies whole tables per item).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from infra import moto_overhead, sqs_emulator
from infra.dynamodb import emulator_transactions


class _OneAtATime:
    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with self._lock:
            # Read the whole answer inside the lock: the work happens while it is produced.
            return list(self._app(environ, start_response))


class EmbeddedDynamoDB:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host, self._port = host, port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self.endpoint = ""

    def start(self) -> str:
        # moto serves through werkzeug, which logs every request; keep warnings only.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        emulator_transactions.install()
        moto_overhead.install()
        sqs_emulator.install()
        app = _OneAtATime(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(self._host, self._port, app, threaded=True, request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.1,), name="dynamodb", daemon=True)
        self._thread.start()
        self.endpoint = f"http://{self._host}:{self._server.server_port}"
        return self.endpoint

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
