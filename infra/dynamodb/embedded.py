"""The embedded DynamoDB of the local stack: moto's server, in memory, on loopback.

It is an emulator: no TTL expiry, no ClientRequestToken idempotency, and
nothing survives a restart unless snapshot.py writes it to disk.
"""

from __future__ import annotations

import logging

from moto.server import ThreadedMotoServer


class EmbeddedDynamoDB:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
        self.endpoint = ""

    def start(self) -> str:
        # moto serves through werkzeug, which logs every request; keep warnings only.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        return self.endpoint

    def stop(self) -> None:
        self._server.stop()
