"""A gate agent: listens to its lot's feed over MQTT, verifies, applies by version, fills gaps by delta sync.

It decides allow/deny from its own whitelist (`check`), so it keeps working with
no network; when it comes back it catches up from the version it has. Now and
then it reports the version it has applied, so the office sees which gates lag.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
import requests
from paho.mqtt.enums import CallbackAPIVersion

from domain.gate import Applied, Decision, Grant
from domain.gate_auth import applied_topic, gate_signature, report_signature
from infra.gate_agent.store import WhitelistStore
from infra.gate_messages import BadMessage, verified_grant

log = logging.getLogger("parkpass.gate")


@dataclass(frozen=True)
class GateConfig:
    lot_id: str
    gate_id: str
    secret: str
    api_url: str
    mqtt_url: str
    public_key: bytes
    db_path: Path


REPORT_EVERY_S = 30.0
"""At most one applied-version report per this many seconds: a burst of renewals is one report, not hundreds."""


class GateAgent:
    def __init__(
        self, config: GateConfig, now: Callable[[], float] = time.time, report_every_s: float = REPORT_EVERY_S
    ) -> None:
        self.config = config
        self._now = now
        self._report_every_s = report_every_s
        self._reported = -1
        self._store = WhitelistStore(config.db_path, config.lot_id)
        self._whitelist = self._store.load()
        self._lock = threading.RLock()
        self._stopped = threading.Event()
        self.applied_at: dict[int, float] = {}
        """Monotonic time each version was applied (for delay measurements)."""
        self.dropped: list[str] = []
        self._unreported: list[dict[str, str]] = []
        parts = urlsplit(config.mqtt_url)
        self._broker = (parts.hostname or "127.0.0.1", parts.port or 1883)
        # A persistent session (clean_session=False, fixed client id): the broker keeps QoS 1
        # messages while the gate is briefly away; delta sync covers longer absences.
        self._mqtt = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"gate-{config.gate_id}", clean_session=False, protocol=mqtt.MQTTv311
        )
        self._mqtt.on_connect = self._on_connect
        self._mqtt.on_message = self._on_message
        self._mqtt.reconnect_delay_set(min_delay=1, max_delay=10)

    @property
    def version(self) -> int:
        with self._lock:
            return self._whitelist.version

    def start(self) -> None:
        self.sync()
        self._mqtt.connect_async(*self._broker, keepalive=30)
        self._mqtt.loop_start()
        threading.Thread(target=self._report_now_and_then, name="gate-report", daemon=True).start()

    def stop(self) -> None:
        self._stopped.set()
        self._mqtt.loop_stop()
        self._mqtt.disconnect()
        with self._lock:  # waits for a catch-up still running; later ones see the agent stopped
            self._store.close()

    def check(self, plate: str, today: date) -> Decision:
        with self._lock:
            return self._whitelist.check(plate, today)

    def entries(self) -> dict[str, Grant]:
        with self._lock:
            return dict(self._whitelist.entries)

    def receive(self, payload: bytes) -> Applied | None:
        """Handle one message as if it came from the broker; None when it is dropped."""
        try:
            grant = verified_grant(payload, self.config.public_key, self.config.lot_id)
        except BadMessage as e:
            log.warning("dropped a message: %s", e)
            self.dropped.append(str(e))
            return None
        with self._lock:
            if self._stopped.is_set():
                return None
            outcome = self._apply(grant)
            if outcome is Applied.GAP:
                self.sync()
                outcome = self._apply(grant)
            return outcome

    def sync(self) -> None:
        """Fetch what was missed since our version (or a snapshot), page by page; keep what we have on failure."""
        with self._lock:
            while not self._stopped.is_set():
                try:
                    page = self._fetch(self._whitelist.version)
                except requests.RequestException as e:
                    log.warning("delta sync failed, will retry on the next gap or restart: %s", type(e).__name__)
                    return
                grants = []
                for event in page["events"]:
                    try:
                        grants.append(verified_grant(event, self.config.public_key, self.config.lot_id))
                    except BadMessage as e:
                        log.warning("dropped a synced event: %s", e)
                        return
                if page["snapshot"]:
                    if page["version"] >= self._whitelist.version:
                        self._whitelist.replace_all(grants, page["version"])
                        self._store.replace_all(self._whitelist)
                    return
                for grant in grants:
                    self._apply(grant)
                if not page["more"]:
                    break
        self._report()  # back online: passages that could not be reported go now

    def _apply(self, grant: Grant) -> Applied:
        outcome = self._whitelist.apply(grant)
        if outcome is Applied.APPLIED:
            self._store.save(grant)
            self.applied_at[grant.version] = time.monotonic()
        return outcome

    def passage(self, plate: str, entering: bool, at: datetime) -> None:
        """The barrier let `plate` in or out: applied here at once, then reported so every gate learns it.

        A report that fails waits for the next one or the next sync; reports carry
        their time, so a late one never undoes a newer passage.
        """
        with self._lock:
            changed = self._whitelist.note_passage(plate, entering)
            if changed:
                self._store.save_entries(changed)
            self._unreported.append({"plate": plate, "direction": "in" if entering else "out", "at": at.isoformat()})
        self._report()

    def _report(self) -> None:
        while True:
            with self._lock:
                if not self._unreported or self._stopped.is_set():
                    return
                report = self._unreported[0]
            try:
                self._signed("POST", "/api/v1/gates/passages", json.dumps(report).encode())
            except requests.RequestException as e:
                log.warning("passage not reported yet, will retry: %s", type(e).__name__)
                return
            with self._lock:
                if self._unreported and self._unreported[0] is report:
                    self._unreported.pop(0)

    def _signed(self, method: str, path: str, body: bytes = b"") -> dict[str, Any]:
        stamp = str(int(self._now()))
        headers = {
            "X-Gate-Id": self.config.gate_id,
            "X-Gate-Timestamp": stamp,
            "X-Gate-Signature": gate_signature(self.config.secret, method, path, stamp, body),
            "Content-Type": "application/json",
        }
        url = self.config.api_url.rstrip("/") + path
        r = requests.request(method, url, data=body or None, headers=headers, timeout=10)
        r.raise_for_status()
        return r.json()  # type: ignore[no-any-return]

    def _fetch(self, since: int) -> dict[str, Any]:
        return self._signed("GET", f"/api/v1/gates/entitlements?since={since}&limit=200")

    def report_applied(self) -> bool:
        """Publish the version applied here if it moved since the last report; False when there was none to send."""
        with self._lock:
            version = self._whitelist.version
        if version <= self._reported or not self._mqtt.is_connected():
            return False
        stamp = str(int(self._now()))
        lot, gate = self.config.lot_id, self.config.gate_id
        signed = report_signature(self.config.secret, lot, gate, version, stamp)
        report = {"version": version, "timestamp": stamp, "signature": signed}
        self._mqtt.publish(applied_topic(lot, gate), json.dumps(report), qos=1)
        self._reported = version
        return True

    def _report_now_and_then(self) -> None:
        while not self._stopped.wait(self._report_every_s):
            self.report_applied()

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        client.subscribe(f"parkpass/lots/{self.config.lot_id}/entitlements", qos=1)
        threading.Thread(target=self.sync, name="gate-catch-up", daemon=True).start()

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self.receive(message.payload)
