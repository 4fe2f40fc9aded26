"""The whole system on loopback with no cloud account: what `parkpass dev` and the e2e tests run."""

from __future__ import annotations

import gc
import logging
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from domain.admin import Role
from domain.plan import Claim, Plan
from functions import card_jobs, gate_status, observability, reconcile, reminders, sweep, work
from functions.admin import create_admin_app, with_admin
from functions.api import create_app
from functions.bootstrap import Services, bind_dynamodb, dynamodb_services
from functions.fanout import fan_out as fan_out_batch
from functions.publishing import FAST_PATH_TIMEOUT_S, unique_client_id
from functions.sim_routes import LocalInfo, LocalMounts
from handlers.fan_out import TellGatesAtOnce
from handlers.gate_status import APPLIED_TOPICS, FROM_TOPIC
from handlers.ports import Gate, UnitOfWork, WorkQueue
from handlers.scheduled_work import WorkReport
from handlers.seed_demo import (
    DEMO_ADMIN_EMAIL,
    DEMO_ADMIN_PASSWORD,
    DEMO_TENANT,
    SeedResult,
    opt_in_demo_reminders,
    seed_demo,
)
from handlers.staff import create_staff
from handlers.sweep_orders import SweepReport
from infra.clock import SimClock
from infra.dynamodb import snapshot, tables
from infra.dynamodb.embedded import EmbeddedDynamoDB
from infra.dynamodb.stream_source import LocalStreamSource
from infra.local_secrets import local_secrets, payment_simulators
from infra.mqtt.broker import EmbeddedBroker
from infra.mqtt.publisher import MqttPublisher
from infra.mqtt.topic_rule import TOPIC_RULE_CLIENT, LocalTopicRule
from infra.settings import DEFAULT_REGION, Settings
from infra.simulators.alipay import AlipaySimulator
from infra.simulators.invoices import InvoiceSimulator
from infra.simulators.seal import demo_seal
from infra.simulators.wechat import WechatSimulator
from infra.simulators.wechatpay import WechatPaySimulator
from infra.work_queue import LocalConsumers, create_local_queues, sqs_client

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger("parkpass.dev")
SWEEP_EVERY_S = 20.0
STREAM_IDLE_S = 1.0
"""The stream is read shortly after every commit with gate events, and at least this often (for writers in
other processes)."""
DEMO_GATE_ID = "demo-gate"
WORK_CONSUMERS = 4
WORK_VISIBILITY_S = 30
"""Locally shorter than on AWS (serverless.yml): a message given back for later comes back within a test."""
WORK_MAX_RECEIVES = 10
BACKGROUND_THREADS = frozenset({"fanout", "scheduler", f"paho-mqtt-client-{TOPIC_RULE_CLIENT}"})
"""The local stack's own workers: request counts of an API call leave them out."""


class _ApiRequestHandler(WSGIRequestHandler):
    """Logs requests under our name, without query strings.

    The WeChat simulator is served here too, and WeChat's protocol puts the
    app secret and login codes in the query string.
    """

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        logging.getLogger("parkpass.http").debug("%s %s %s", self.command, self.path.split("?", 1)[0], code)


class _LateApp:
    """A WSGI app filled in after its server has bound a port."""

    app: WSGIApplication | None = None

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if self.app is None:
            start_response("503 Service Unavailable", [("Content-Type", "application/json")])
            return [b'{"error": {"code": "service_unavailable", "message": "the local stack is starting"}}']
        return self.app(environ, start_response)


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
    sweep_every_s: float | None = SWEEP_EVERY_S
    """None: no scheduled sweep (tests run it themselves, so it never races them)."""
    mqtt_url: str | None = None
    """None starts the embedded MQTT broker (amqtt) for the gates."""
    fan_out: bool = True
    """Read the entitlements stream in the background, as Lambda's event source mapping does; False: only when
    a test calls `DevStack.fan_out()`."""
    gates_at_once: bool = True
    """The HTTP functions publish their commits' gate events themselves (the fast path, as on AWS)."""
    sqs_endpoint: str | None = None
    """The work queue's SQS; None: the embedded moto server's (one started for it if DynamoDB is external)."""
    consumers: int = WORK_CONSUMERS
    """How many work consumers at once, as the consumer function's maximum concurrency on AWS."""
    wechat_latency_ms: int = 0
    """How long the WeChat simulator takes to answer each call."""
    wechat_rate_limit: int | None = None
    """Messages a second the WeChat simulator takes before answering 45011 (WeChat's "minute quota reached")."""
    run_chunk_units: int | None = None
    """A bill run of a community of more units goes in chunks through the work queue (None: as deployed, 200)."""


@dataclass
class DevStack:
    options: DevStackOptions
    clock: SimClock = field(init=False)
    services: Services = field(init=False)
    wechat: WechatSimulator = field(init=False)
    wechatpay: WechatPaySimulator = field(init=False)
    alipay: AlipaySimulator = field(init=False)
    invoice_sim: InvoiceSimulator = field(init=False)
    api_url: str = ""
    dynamodb_endpoint: str = ""
    seeded: SeedResult | None = None
    loaded_items: int = 0
    _embedded: EmbeddedDynamoDB | None = None
    _sqs_server: EmbeddedDynamoDB | None = None
    sqs: Any = None
    work_queue_url: str = ""
    _kept: snapshot.KeptDynamoDB | None = None
    """With a data dir: the embedded store, saved there within snapshot.SAVE_WITHIN_S of each change."""
    _server: BaseWSGIServer | None = None
    _thread: threading.Thread | None = None
    _ticker: threading.Thread | None = None
    _stream: LocalStreamSource | None = None
    _broker: EmbeddedBroker | None = None
    _gate_reports: LocalTopicRule | None = None
    _publisher: MqttPublisher | None = None
    _fast_publisher: MqttPublisher | None = None
    mqtt_url: str = ""
    demo_gate: Gate | None = None
    _stopping: threading.Event = field(default_factory=threading.Event)
    _work_sent: threading.Event = field(default_factory=threading.Event)
    """Set when something was put on the work queue: the scheduler's consumers take it at once, as Lambda's."""
    _reminding: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> DevStack:
        opts = self.options
        if opts.data_dir is not None and opts.dynamodb_endpoint is not None:
            raise ValueError("--data-dir snapshots the embedded store; an external DynamoDB keeps its own data")
        self.clock = SimClock(opts.clock)
        if opts.data_dir is not None:
            self._embedded = self._kept = snapshot.KeptDynamoDB(opts.data_dir, opts.region, opts.host)
            self.dynamodb_endpoint = self._embedded.start()
        elif opts.dynamodb_endpoint is None:
            self._embedded = EmbeddedDynamoDB(opts.host)
            self.dynamodb_endpoint = self._embedded.start()
        else:
            self.dynamodb_endpoint = opts.dynamodb_endpoint
        # The server is bound first: WeChat's simulator lives on it, so its URL is the SDK's base URL.
        late = _LateApp()
        self._server = make_server(opts.host, opts.port, late, threaded=True, request_handler=_ApiRequestHandler)
        self.api_url = f"http://{opts.host}:{self._server.server_port}"
        documents = opts.data_dir / "documents" if opts.data_dir else Path(tempfile.mkdtemp(prefix="parkpass-docs-"))
        settings = Settings(
            opts.table_prefix,
            opts.region,
            self.dynamodb_endpoint,
            local=True,
            wechat_api_base=f"{self.api_url}/sim/wechat/",
            invoice_api=f"{self.api_url}/sim/invoices",
            documents_dir=str(documents),
            seal_image=str(demo_seal(documents.parent if opts.data_dir else documents)),
            public_url=self.api_url,  # receipts' QR codes link to this stack
        )
        self.sqs = sqs_client(opts.region, self._sqs_endpoint())
        name = f"{opts.table_prefix}-work"
        self.work_queue_url = create_local_queues(self.sqs, name, WORK_VISIBILITY_S, WORK_MAX_RECEIVES)
        settings = replace(settings, work_queue_url=self.work_queue_url, sqs_endpoint=self._sqs_endpoint())
        bind_dynamodb(settings)
        tables.create_tables()
        if self._kept is not None:
            self.loaded_items = self._kept.load()
        # Lambda's event source mapping: the stream's records from now on to the fan-out, read again on failure.
        self._stream = LocalStreamSource(
            self.dynamodb_endpoint,
            opts.region,
            tables.EntitlementItem.Meta.table_name,
            self._fan_out_batch,
            idle_s=STREAM_IDLE_S,
        )
        self._stream.open()
        made = local_secrets(opts.data_dir)
        secrets = made.secrets(self.api_url)
        self.wechat = WechatSimulator(made.wechat_appid, made.wechat_secret, self.clock, opts.wechat_latency_ms / 1000,
                                      opts.wechat_rate_limit)  # fmt: skip
        self.wechatpay, self.alipay = payment_simulators(made, self.clock)
        self.invoice_sim = InvoiceSimulator(self.clock)
        s = dynamodb_services(settings, secrets, self.clock)
        queue = _WakeAfterSend(s.work_queue, self._work_sent.set) if s.work_queue is not None else None
        self.services = s = replace(s, uow=_WakeAfterCommit(s.uow, self._stream.wake), work_queue=queue,
                                    run_chunk_units=opts.run_chunk_units or s.run_chunk_units)  # fmt: skip
        self.seeded = seed_demo(s.clock, s.lots, s.packages, s.owners, s.uow)
        opt_in_demo_reminders(s.cards, s.lots, s.reminder_prefs, s.reminders)
        if s.staff.get(DEMO_ADMIN_EMAIL) is None:
            create_staff(
                DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD, DEMO_TENANT, Role.TENANT_ADMIN, set(), s.staff, s.passwords
            )
        self.demo_gate = Gate(DEMO_GATE_ID, "demo-lot", made.demo_gate_secret)
        s.gates.add(self.demo_gate)
        if opts.mqtt_url is None:
            self._broker = EmbeddedBroker(opts.host)
            self.mqtt_url = self._broker.start()
        else:
            self.mqtt_url = opts.mqtt_url
        self._publisher = MqttPublisher(self.mqtt_url, unique_client_id("fanout"))
        signer = s.signer
        assert signer is not None  # the local stack always has a gate signing key
        http = s
        if opts.gates_at_once:
            self._fast_publisher = MqttPublisher(self.mqtt_url, unique_client_id("api"), FAST_PATH_TIMEOUT_S)
            http = replace(s, uow=TellGatesAtOnce(s.uow, self._fast_publisher, signer))
        # IoT Core's topic rule for gates' applied-version reports, with the Lambda's own code as its action.
        self._gate_reports = LocalTopicRule(self.mqtt_url, APPLIED_TOPICS, FROM_TOPIC, self._gate_report).start()
        local_info = LocalInfo(
            self.mqtt_url,
            self.demo_gate.id,
            self.demo_gate.secret,
            self.demo_gate.lot_id,
            self.dynamodb_endpoint,
            opts.region,
            opts.table_prefix,
        )
        api = create_app(
            http,
            LocalMounts(
                self.clock,
                local_info,
                self.tick,
                self.wechat,
                self.wechatpay,
                self.alipay,
                self.invoice_sim,
                self.reconcile,
            ),
        )
        late.app = with_admin(api, create_admin_app(http))
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.1,), name="api", daemon=True)
        self._thread.start()
        if opts.fan_out:
            self._stream.start()
        if opts.sweep_every_s is not None:
            self._ticker = threading.Thread(
                target=self._tick, args=(opts.sweep_every_s,), name="scheduler", daemon=True
            )
            self._ticker.start()
        return self

    def keep_for_good(self) -> None:
        """For a process that runs this one stack until it ends (`parkpass dev`, `make bench`): what is loaded
        now (modules, the emulator's and SDKs' models) lives as long as the process, so the collector's full
        passes leave it alone; they were what a payment's slowest gate delays waited for. Not for a process that
        starts many stacks (tests): their leftovers would be kept for good too."""
        gc.collect()
        gc.freeze()

    def sweep(self) -> SweepReport:
        """What the scheduled sweep Lambda does, once."""
        report = sweep.run(self.services)
        sweep.counted(report, self.services.metrics)
        return report

    def reconcile(self, day: date | None = None) -> dict[str, dict[str, int]]:
        """What the daily reconciliation Lambda does, once (for `day`, default yesterday in Beijing)."""
        observability.begin()  # as one Lambda invocation
        return reconcile.run(self.services, day)

    def _sqs_endpoint(self) -> str:
        if self.options.sqs_endpoint is not None:
            return self.options.sqs_endpoint
        if self._embedded is not None:
            return self.dynamodb_endpoint
        if self._sqs_server is None:
            self._sqs_server = EmbeddedDynamoDB(self.options.host)  # moto's server: SQS as well
            self._sqs_server.start()
        return self._sqs_server.endpoint

    def tick(self) -> WorkReport:
        """What the scheduled Lambdas do when time moves on: the card jobs and the reminder tick find what is due
        (cards to expire or lapse, reminders), and the work consumers do it."""
        with self._reminding:
            card_jobs.run(self.services)
        return self.remind()

    def remind(self) -> WorkReport:
        """What the reminder Lambda does, once, at the stack's clock, and then the work consumers until the queue
        is empty; answers what they did."""
        with self._reminding:  # the timer and a clock move may both ask; one tick at a time is enough
            reminders.run(self.services)
            return self.work()

    def work(self, consumers: int | None = None) -> WorkReport:
        """What Lambda's SQS event source and the work consumer do with what is on the queue now."""
        report = WorkReport()
        self.consumers(lambda event: work.consume(self.services, event, None, report), consumers).drain()
        reminders.counted(report, self.services.metrics)
        return report

    def consumers(self, handler: Callable[[dict[str, Any]], dict[str, Any]], size: int | None = None) -> LocalConsumers:
        return LocalConsumers(self.sqs, self.work_queue_url, handler, size or self.options.consumers)

    def _gate_report(self, event: dict[str, Any]) -> bool:
        observability.begin()  # as one Lambda invocation
        return gate_status.run(self.services, event)

    def _fan_out_batch(self, event: dict[str, Any]) -> dict[str, Any]:
        assert self._publisher is not None and self.services.signer is not None
        observability.begin()  # as one Lambda invocation
        return fan_out_batch(
            event["Records"], self._publisher, self.services.signer, self.services.metrics, self.clock.now()
        )

    def fan_out(self) -> bool:
        """What Lambda's event source mapping and the fan-out function do, once, in this thread: hand what the
        stream holds now to the fan-out; False when a publish failed (the records are read again next time)."""
        assert self._stream is not None
        return self._stream.drain()

    def _tick(self, every_s: float) -> None:
        # Stands in for the EventBridge schedules, on real time, and for the work queue's event source: what an
        # office request puts on the queue (a big bill run's chunks) is taken at once.
        due = time.monotonic() + every_s
        while True:
            sent = self._work_sent.wait(max(0.0, due - time.monotonic()))
            if self._stopping.is_set():
                return
            try:
                if sent:
                    self._work_sent.clear()
                    self.work()
                if time.monotonic() >= due:
                    due = time.monotonic() + every_s
                    self.sweep()
                    self.tick()
            except Exception:
                log.exception("scheduled sweep, card jobs, reminders or work failed")

    def stop(self) -> None:
        self._stopping.set()
        self._work_sent.set()  # the scheduler wakes to stop
        if self._stream is not None:
            self._stream.stop()
        for publisher in (self._publisher, self._fast_publisher):
            if publisher is not None:
                publisher.close()
        if self._gate_reports is not None:
            self._gate_reports.stop()
            self._gate_reports = None
        if self._broker is not None:
            self._broker.stop()
            self._broker = None
        if self._server is not None:
            self._server.shutdown()
            self._server = None
        if self._embedded is not None:
            self._embedded.stop()  # a kept store saves once more first
            self._embedded = self._kept = None
        if self._sqs_server is not None:
            self._sqs_server.stop()
            self._sqs_server = None


class _WakeAfterSend:
    """The local stack's work queue: after a send the scheduler's consumers look at once (on AWS the event source
    mapping polls the queue by itself)."""

    def __init__(self, queue: WorkQueue, wake: Callable[[], None]) -> None:
        self._queue, self._wake = queue, wake

    def send(self, messages: list[dict[str, Any]]) -> None:
        self._queue.send(messages)
        self._wake()


class _WakeAfterCommit:
    """The local stack's unit of work: after a commit with gate events the stream reader looks at once (on AWS
    the stream wakes the fan-out by itself)."""

    def __init__(self, uow: UnitOfWork, wake: Callable[[], None]) -> None:
        self._uow, self._wake = uow, wake

    def commit(self, plan: Plan) -> None:
        self._uow.commit(plan)
        if plan.events:  # only gate events are in the stream
            self._wake()

    def claimed(self, key: str) -> Claim | None:
        return self._uow.claimed(key)
