"""The whole system on loopback with no cloud account: what `parkpass dev` and the e2e tests run."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from functions.api import create_app
from functions.bootstrap import Services, bind_dynamodb, dynamodb_services
from handlers.seed_demo import SeedResult, seed_demo
from infra.clock import SimClock
from infra.dynamodb import snapshot, tables
from infra.dynamodb.embedded import EmbeddedDynamoDB
from infra.settings import DEFAULT_REGION, Settings

log = logging.getLogger("parkpass.dev")


class _ApiRequestHandler(WSGIRequestHandler):
    """Logs the API's requests under our name, so the embedded store's own chatter can be muted."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        logging.getLogger("parkpass.http").info('"%s" %s', self.requestline, code)


@dataclass
class DevStackOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    """0 picks a free port."""
    data_dir: Path | None = None
    clock: datetime | None = None
    dynamodb_endpoint: str | None = None
    """None starts the embedded (in-memory) DynamoDB."""
    region: str = DEFAULT_REGION
    table_prefix: str = "parkpass"


@dataclass
class DevStack:
    options: DevStackOptions
    clock: SimClock = field(init=False)
    services: Services = field(init=False)
    api_url: str = ""
    dynamodb_endpoint: str = ""
    seeded: SeedResult | None = None
    loaded_items: int = 0
    _embedded: EmbeddedDynamoDB | None = None
    _server: BaseWSGIServer | None = None
    _thread: threading.Thread | None = None

    def start(self) -> DevStack:
        opts = self.options
        if opts.data_dir is not None and opts.dynamodb_endpoint is not None:
            raise ValueError("--data-dir snapshots the embedded store; an external DynamoDB keeps its own data")
        self.clock = SimClock(opts.clock)
        if opts.dynamodb_endpoint is None:
            self._embedded = EmbeddedDynamoDB(opts.host)
            self.dynamodb_endpoint = self._embedded.start()
        else:
            self.dynamodb_endpoint = opts.dynamodb_endpoint
        bind_dynamodb(Settings(opts.table_prefix, opts.region, self.dynamodb_endpoint, local=True))
        tables.create_tables()
        if opts.data_dir is not None:
            self.loaded_items = snapshot.load(opts.data_dir, *self._store())
        self.services = dynamodb_services(self.clock)
        s = self.services
        self.seeded = seed_demo(s.clock, s.lots, s.packages, s.owners, s.cards)
        app = create_app(self.services, sim_clock=self.clock)
        self._server = make_server(opts.host, opts.port, app, threaded=True, request_handler=_ApiRequestHandler)
        self.api_url = f"http://{opts.host}:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.1,), name="api", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None
        if self.options.data_dir is not None and self._embedded is not None:
            saved = snapshot.save(self.options.data_dir, *self._store())
            log.info("saved %d items to %s", saved, self.options.data_dir)
        if self._embedded is not None:
            self._embedded.stop()
            self._embedded = None

    def _store(self) -> tuple[str, str]:
        return self.dynamodb_endpoint, self.options.region
