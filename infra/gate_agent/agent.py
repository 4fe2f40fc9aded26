"""A gate agent: listens to its lot's feed over MQTT, verifies, applies by version, fills gaps by delta sync.

It decides allow/deny from its own whitelist (`check`), so it keeps working with
no network; when it comes back it catches up from the version it has. Now and
then it reports the version it has applied, so the office sees which gates lag.

It heals itself: a message or sync page of another feed epoch (the lot's feed
started again), or a feed behind its own version, makes it take a fresh
snapshot; a sync refused for the gate's clock corrects its offset by the
server's time and signs again; a gate that cannot sync for longer than
`stale_after_s` says so at ERROR and in `health()`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import paho.mqtt.client as mqtt
import requests
from paho.mqtt.enums import CallbackAPIVersion

from domain.gate import VISIT, Applied, Decision, Grant, decide_offline
from domain.gate_auth import applied_topic, gate_signature, report_signature
from infra.gate_agent.store import WhitelistInUse, WhitelistStore
from infra.gate_messages import BadMessage, verified_grant, verified_grants

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
    timezone: str = "Asia/Shanghai"
    """The lot's zone: the day a card or an exemption is valid, decided offline."""


REPORT_EVERY_S = 30.0
"""At most one applied-version report per this many seconds: a burst of renewals is one report, not hundreds."""
STALE_AFTER_S = 600.0
"""A gate that has not been current (synced, or live on MQTT) for longer than this says so at ERROR."""
TICK_S = 5.0
"""How often the agent retries a failed sync, reports, and checks it is current."""
RESYNC_EVERY_S = 3600.0
"""A delta sync even while live, this often: the safety net under the stream and the broker (an event whose
publish was given up, a message the broker lost) costs one signed request an hour when nothing was missed."""

__all__ = ["GateAgent", "GateConfig", "GateMisconfigured", "WhitelistInUse"]


class GateMisconfigured(Exception):
    """The cloud refuses this gate (unknown id, wrong secret) or it serves another lot: running on helps nobody."""


class GateRefused(requests.HTTPError):
    """A signed request answered 401 for something other than the clock."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class GateAgent:
    def __init__(
        self,
        config: GateConfig,
        now: Callable[[], float] = time.time,
        report_every_s: float = REPORT_EVERY_S,
        stale_after_s: float = STALE_AFTER_S,
        tick_s: float = TICK_S,
        resync_every_s: float = RESYNC_EVERY_S,
        on_open: Callable[[str], None] | None = None,
    ) -> None:
        self.config = config
        self._on_open = on_open
        """Opens the barrier for a plate waiting at the exit whose visit was just paid."""
        self._waiting: dict[str, dict[str, Any]] = {}
        """Plates refused at the exit until paid: the cloud's answer for each."""
        self._to_open: list[str] = []
        self.opened_at: dict[str, float] = {}
        """Monotonic time the exit opened for each paid plate (for delay measurements)."""
        self._now = now
        self._offset = 0.0
        """Seconds to add to `now` to get the cloud's time: learnt from a refusal for the clock."""
        self._report_every_s = report_every_s
        self._stale_after_s = stale_after_s
        self._tick_s = tick_s
        self._resync_every_s = resync_every_s
        self._sync_done = time.monotonic()
        """When the last sync completed (monotonic), for the hourly one."""
        self._reported = -1
        self._reported_at = 0.0
        self._store = WhitelistStore(config.db_path, config.lot_id)  # WhitelistInUse: another agent runs on the file
        self._whitelist = self._store.load()
        self._lock = threading.RLock()
        self._stopped = threading.Event()
        self.applied_at: dict[int, float] = {}
        """Monotonic time each version was applied (for delay measurements)."""
        self.dropped: list[str] = []
        self._unreported: list[tuple[int, dict[str, Any]]] = self._store.unreported()
        """Passages to report, oldest first, each with its row in the file: kept there until the cloud has it."""
        self._started_at = self.cloud_now()
        self._synced_at: float | None = None
        """Cloud time of the last sync that completed."""
        self._sync_failing = False
        self._stale_said = False
        self.refused: str | None = None
        """Why the cloud refused this gate (misconfigured), if it did."""
        self._connected = False
        self._live = False
        """Connected and caught up since the connect: current until the connection drops."""
        self.disconnects = 0
        parts = urlsplit(config.mqtt_url)
        self._broker = (parts.hostname or "127.0.0.1", parts.port or 1883)
        # A persistent session (clean_session=False) under an id of this gate *and this whitelist file*: the broker
        # keeps QoS 1 messages while the gate is briefly away (delta sync covers longer absences), and two agents
        # of one gate (a second file, `parkpass demo`) each have their own session instead of taking one over.
        self.client_id = f"gate-{config.gate_id}-{self._store.installation}"
        self._mqtt = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=self.client_id, clean_session=False, protocol=mqtt.MQTTv311
        )
        self._mqtt.on_connect = self._on_connect
        self._mqtt.on_disconnect = self._on_disconnect
        self._mqtt.on_message = self._on_message
        self._mqtt.reconnect_delay_set(min_delay=1, max_delay=10)

    @property
    def version(self) -> int:
        with self._lock:
            return self._whitelist.version

    @property
    def epoch(self) -> str:
        with self._lock:
            return self._whitelist.epoch

    def cloud_now(self) -> float:
        """Our best idea of the cloud's clock (Unix seconds)."""
        return self._now() + self._offset

    def start(self) -> None:
        """Sync, then listen. GateMisconfigured when the cloud refuses this gate; a cloud out of reach is no
        error (the gate decides from its file and catches up later)."""
        self.sync()
        if self.refused is not None:
            self.stop()
            raise GateMisconfigured(self.refused)
        log.info("gate %s of lot %s: MQTT client id %s", self.config.gate_id, self.config.lot_id, self.client_id)
        self._mqtt.connect_async(*self._broker, keepalive=30)
        self._mqtt.loop_start()
        threading.Thread(target=self._now_and_then, name="gate-watch", daemon=True).start()

    def health(self) -> dict[str, Any]:
        """What `GET /health` answers: ok, or stale (not current for longer than the threshold), or refused."""
        with self._lock:
            version, epoch = self._whitelist.version, self._whitelist.epoch
        behind = self.seconds_behind()
        stale = behind is None or behind > self._stale_after_s
        synced = self._synced_at
        return {
            "status": "refused" if self.refused else "stale" if stale else "ok",
            "lot_id": self.config.lot_id,
            "gate_id": self.config.gate_id,
            "epoch": epoch,
            "version": version,
            "last_sync": datetime.fromtimestamp(synced, UTC).isoformat() if synced is not None else None,
            "seconds_behind": None if behind is None else round(behind),
            "mqtt_connected": self._connected,
            "mqtt_client_id": self.client_id,
            "clock_offset_s": round(self._offset),
            "problem": self.refused,
        }

    def seconds_behind(self) -> float | None:
        """0 while live (connected and caught up); else seconds since the gate was last known current (None:
        never, and not for `stale_after_s` since it started)."""
        if self._live:
            return 0.0
        last = self._synced_at if self._synced_at is not None else self._started_at
        behind = max(0.0, self.cloud_now() - last)
        return None if self._synced_at is None and behind > self._stale_after_s else behind

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
        """Handle one message (an event, or a batch of one lot's) as if it came from the broker; the outcome of
        its last event, None when it is dropped."""
        try:
            grants = verified_grants(payload, self.config.public_key, self.config.lot_id)
        except BadMessage as e:
            log.warning("dropped a message: %s", e)
            self.dropped.append(str(e))
            return None
        outcome = None
        for grant in grants:
            outcome = self._receive(grant)
            if outcome is None:
                break
        self._open_paid()
        return outcome

    def _receive(self, grant: Grant) -> Applied | None:
        with self._lock:
            if self._stopped.is_set():
                return None
            outcome = self._apply(grant)
            held, epoch = self._whitelist.version, self._whitelist.epoch
        if outcome is Applied.NEW_FEED:
            log.warning(
                "lot %s: a message of feed epoch %r, ours is %r (version %d): the feed started again, "
                "taking a fresh snapshot",
                self.config.lot_id, grant.epoch, epoch, held,
            )  # fmt: skip
            self.sync(fresh=True)
        elif outcome is Applied.GAP:
            self.sync()
        else:
            return outcome
        with self._lock:
            return None if self._stopped.is_set() else self._apply(grant)

    def sync(self, fresh: bool = False) -> None:
        """Fetch what was missed since our version (or a snapshot), page by page; keep what we have on failure.

        `fresh`: ask for a snapshot whatever we hold. A page of another epoch, or a feed behind our version,
        means the feed started again: we take its snapshot (and say so)."""
        # The whitelist's lock is held while reading and applying only, never across the request: a check at
        # the barrier does not wait for the network.
        while not self._stopped.is_set():
            with self._lock:
                held, epoch = self._whitelist.version, self._whitelist.epoch
            try:
                page = self._fetch(0 if fresh else held, epoch)
            except GateRefused as e:
                self._refused(f"the cloud refuses gate {self.config.gate_id} ({e.code}): check --gate and --secret")
                return
            except requests.RequestException as e:
                self._failed(type(e).__name__)
                return
            if page.get("lot_id") != self.config.lot_id:
                gate, lot = self.config.gate_id, self.config.lot_id
                self._refused(f"gate {gate} belongs to lot {page.get('lot_id')!r}, not {lot!r}: check --lot")
                return
            their_epoch, their_version = str(page.get("epoch") or ""), int(page["version"])
            other_feed = held > 0 and (their_epoch != epoch or their_version < held)
            if other_feed and not page["snapshot"]:  # a server that did not notice: ask for the snapshot
                fresh = True
                continue
            grants = []
            for event in page["events"]:
                try:
                    grants.append(verified_grant(event, self.config.public_key, self.config.lot_id))
                except BadMessage as e:
                    log.warning("dropped a synced event: %s", e)
                    self._failed("a badly signed event")
                    return
            with self._lock:
                if self._stopped.is_set():
                    return
                if (self._whitelist.version, self._whitelist.epoch) != (held, epoch):
                    continue  # a message moved us meanwhile: ask again from there
                if page["snapshot"]:
                    if other_feed:
                        log.warning(
                            "lot %s: the feed started again (epoch %r version %d, ours was %r version %d): "
                            "took a fresh snapshot of %d plates",
                            self.config.lot_id, their_epoch, their_version, epoch, held, len(grants),
                        )  # fmt: skip
                    self._whitelist.replace_all(grants, their_version, their_epoch)
                    self._store.replace_all(self._whitelist)
                    break
                for grant in grants:
                    self._apply(grant)
            if not page["more"]:
                break
        else:
            return
        self._synced()
        self._open_paid()
        self._report()  # back online: passages that could not be reported go now

    def _synced(self) -> None:
        self._synced_at = self.cloud_now()
        self._sync_done = time.monotonic()
        self._live = self._connected
        if self._sync_failing or self._stale_said:
            log.warning("delta sync works again: version %d", self._whitelist.version)
        self._sync_failing = self._stale_said = False
        self.refused = None

    def _failed(self, why: str) -> None:
        if not self._sync_failing:
            log.warning("delta sync failed, will retry every %g s: %s", self._tick_s, why)
        self._sync_failing = True

    def _refused(self, why: str) -> None:
        if self.refused != why:
            log.error("%s", why)
        self.refused = why

    def _apply(self, grant: Grant) -> Applied:
        outcome = self._whitelist.apply(grant)
        if outcome is Applied.APPLIED:
            self._store.save(grant)
            self.applied_at[grant.version] = time.monotonic()
            if grant.kind == VISIT and grant.plate in self._waiting:
                self._waiting.pop(grant.plate)
                self._to_open.append(grant.plate)
        return outcome

    def decide(self, plate: str, entering: bool, at: datetime | None = None) -> dict[str, Any]:
        """A car at the barrier: the cloud decides in one signed request (and records the passage); with no cloud,
        the gate decides from its whitelist and reports the passage, with what it did, when the cloud is back. A
        visitor refused at the exit waits: the barrier opens by itself when its payment reaches this gate."""
        at = at or datetime.fromtimestamp(self.cloud_now(), UTC)
        report: dict[str, Any] = {"plate": plate, "direction": "in" if entering else "out", "at": at.isoformat(),
                                  "event_id": uuid.uuid4().hex}  # fmt: skip
        try:
            answer = self._signed("POST", "/api/v1/gates/passages", json.dumps(report).encode())
        except requests.RequestException:
            with self._lock:
                today = at.astimezone(ZoneInfo(self.config.timezone)).date()
                found = decide_offline(self._whitelist, plate, entering, today, at)
                if found.allow:
                    self._note(plate, entering)
                # A new event: the cloud may have recorded the one asked (its answer lost on the way), and that record
                # says what it decided, not what this gate did.
                self._keep({**report, "event_id": uuid.uuid4().hex, "opened": found.allow})
            return {"allow": found.allow, "kind": found.kind, "display": found.display, "offline": True}
        with self._lock:
            if answer.get("allow"):
                self._note(plate, entering)
                self._waiting.pop(plate, None)
            elif not entering and answer.get("fee_fen"):
                self._waiting[plate] = answer
        return answer

    def spaces(self) -> dict[str, Any]:
        """The cloud's count for the entrance's display (余位 N / 满位); RequestException when out of reach."""
        return self._signed("GET", "/api/v1/gates/spaces")

    def _keep(self, report: dict[str, Any]) -> None:
        """Queue a passage for the cloud (the lock held), in the file too."""
        self._unreported.append((self._store.keep_report(report), report))

    def _note(self, plate: str, entering: bool) -> None:
        changed = self._whitelist.note_passage(plate, entering)
        if changed:
            self._store.save_entries(changed)

    def _open_paid(self) -> None:
        """Open the exit for each waiting plate whose payment just arrived, and report that it left."""
        with self._lock:
            plates, self._to_open = self._to_open, []
            for plate in plates:
                self.opened_at[plate] = time.monotonic()
                at = datetime.fromtimestamp(self.cloud_now(), UTC).isoformat()
                self._keep({"plate": plate, "direction": "out", "at": at, "event_id": uuid.uuid4().hex, "opened": True})
        for plate in plates:
            log.info("exit opened: a waiting visit was paid")
            if self._on_open is not None:
                self._on_open(plate)
        if plates:
            threading.Thread(target=self._report, name="gate-report", daemon=True).start()

    def passage(self, plate: str, entering: bool, at: datetime) -> None:
        """The barrier let `plate` in or out: applied here at once, then reported so every gate learns it.

        A report that fails waits for the next one or the next sync; reports carry
        their time, so a late one never undoes a newer passage.
        """
        with self._lock:
            self._note(plate, entering)
            self._keep({"plate": plate, "direction": "in" if entering else "out", "at": at.isoformat(),
                        "event_id": uuid.uuid4().hex, "opened": True})  # fmt: skip
        self._report()

    def _report(self) -> None:
        while True:
            with self._lock:
                if not self._unreported or self._stopped.is_set():
                    return
                row, report = self._unreported[0]
            try:
                self._signed("POST", "/api/v1/gates/passages", json.dumps(report).encode())
            except requests.HTTPError as e:
                status = e.response.status_code if e.response is not None else None
                if isinstance(e, GateRefused) or status is None or status >= 500:
                    log.warning("passage not reported yet, will retry: %s", type(e).__name__)
                    return
                log.error("passage report refused (HTTP %s): dropped, it would stop every report after it", status)
            except requests.RequestException as e:
                log.warning("passage not reported yet, will retry: %s", type(e).__name__)
                return
            with self._lock:
                if self._unreported and self._unreported[0][0] == row and not self._stopped.is_set():
                    self._unreported.pop(0)
                    self._store.reported(row)

    def _signed(self, method: str, path: str, body: bytes = b"") -> dict[str, Any]:
        """One signed call; refused for the clock, the offset is corrected by the server's time and it is
        signed once more (as AWS SDKs do on RequestTimeTooSkewed)."""
        for attempt in (1, 2):
            stamp = str(int(self.cloud_now()))
            headers = {
                "X-Gate-Id": self.config.gate_id,
                "X-Gate-Timestamp": stamp,
                "X-Gate-Signature": gate_signature(self.config.secret, method, path, stamp, body),
                "Content-Type": "application/json",
            }
            url = self.config.api_url.rstrip("/") + path
            r = requests.request(method, url, data=body or None, headers=headers, timeout=10)
            if r.status_code != 401:
                r.raise_for_status()
                return r.json()  # type: ignore[no-any-return]
            code, server_time = _refusal(r)
            if code != "gate_clock_skew" or server_time is None or attempt == 2:
                raise GateRefused(code)
            offset = server_time - self._now()
            log.warning("gate clock is %+.0f s off the cloud's: corrected, signing again", offset - self._offset)
            self._offset = offset
        raise AssertionError("unreachable")

    def _fetch(self, since: int, epoch: str) -> dict[str, Any]:
        return self._signed("GET", f"/api/v1/gates/entitlements?since={since}&limit=200&epoch={epoch}")

    def report_applied(self) -> bool:
        """Publish the version applied here if it moved since the last report; False when there was none to send."""
        with self._lock:
            version = self._whitelist.version
        if version <= self._reported or not self._mqtt.is_connected():
            return False
        stamp = str(int(self.cloud_now()))
        lot, gate = self.config.lot_id, self.config.gate_id
        signed = report_signature(self.config.secret, lot, gate, version, stamp)
        report = {"version": version, "timestamp": stamp, "signature": signed}
        self._mqtt.publish(applied_topic(lot, gate), json.dumps(report), qos=1)
        self._reported = version
        self._reported_at = time.monotonic()
        return True

    def _now_and_then(self) -> None:
        """Report the applied version (at most every `report_every_s`), retry a failed sync, say when stale."""
        while not self._stopped.wait(self._tick_s):
            if time.monotonic() - self._reported_at >= self._report_every_s:
                self.report_applied()
            overdue = time.monotonic() - self._sync_done >= self._resync_every_s
            if (self._sync_failing or overdue) and not self._stopped.is_set():
                self.sync()
            self.check_current()

    def check_current(self) -> bool:
        """False, said once at ERROR, when the gate has not been current for longer than `stale_after_s`."""
        behind = self.seconds_behind()
        if behind is not None and behind <= self._stale_after_s:
            return True
        if not self._stale_said:
            log.error(
                "gate %s of lot %s cannot sync: not current for %s (threshold %g s); deciding from version %d",
                self.config.gate_id, self.config.lot_id,
                "ever" if behind is None else f"{behind:.0f} s", self._stale_after_s, self.version,
            )  # fmt: skip
            self._stale_said = True
        return False

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        self._connected = True
        client.subscribe(f"parkpass/lots/{self.config.lot_id}/entitlements", qos=1)
        threading.Thread(target=self.sync, name="gate-catch-up", daemon=True).start()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if self._live:
            self._synced_at = self.cloud_now()  # current until now
        self._connected = self._live = False
        if not self._stopped.is_set():
            self.disconnects += 1
            log.warning("MQTT connection lost (%s); reconnecting", reason)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self.receive(message.payload)


def _refusal(r: requests.Response) -> tuple[str, float | None]:
    """The error code of a 401 and the server's time it gives (`error.details.server_time`, else `Date`)."""
    from email.utils import parsedate_to_datetime

    try:
        error = r.json().get("error", {})
        code = str(error.get("code", "gate_auth"))
        server_time = (error.get("details") or {}).get("server_time")
    except ValueError:
        code, server_time = "gate_auth", None
    if server_time is None and r.headers.get("Date"):
        try:
            server_time = parsedate_to_datetime(r.headers["Date"]).timestamp()
        except (TypeError, ValueError):
            server_time = None
    return code, float(server_time) if server_time is not None else None
