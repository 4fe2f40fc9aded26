"""A local WeChat server: the endpoints ParkPass calls, with WeChat's error codes.

- login code `sim:<openid>` (optionally `sim:<openid>:<anything>` to make a
  fresh one) logs in that openid; like a real code it works once (40163 after).
- phone code `sim-phone:<number>` (optionally `:<anything>`) gives that number.
- a bad code is 40029, a bad or expired access token 40001, a wrong appid
  40013, a wrong secret 40125.
- `latency_s`: each message takes this long to answer (WeChat's own is tens
  to hundreds of milliseconds); `rate_limit`: messages taken a second, more
  are answered 45011, WeChat's "api minute-quota reach limit".
Sent subscribe and template messages are recorded for tests and demos.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, request

from handlers.ports import Clock

TOKEN_TTL_S = 7200
TOO_FAST = 45011
_LOGIN_CODE = re.compile(r"sim:([A-Za-z0-9_-]{1,64})(?::[^:]{0,64})?")
_PHONE_CODE = re.compile(r"sim-phone:(\+?[0-9]{5,20})(?::[^:]{0,64})?")


def _error(code: int, message: str) -> dict[str, Any]:
    return {"errcode": code, "errmsg": message}


def _body() -> dict[str, Any]:
    """The JSON body, whatever the Content-Type says (wechatpy sends none, and WeChat does not care)."""
    try:
        body = json.loads(request.get_data() or b"{}")
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


@dataclass
class WechatSimulator:
    appid: str
    secret: str
    clock: Clock
    latency_s: float = 0.0
    rate_limit: int | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)
    session_keys: list[str] = field(default_factory=list)
    """Every session_key handed out, so tests can prove none leaks."""
    token_fetches: int = 0
    refused_too_fast: int = 0
    _second: tuple[int, int] = (0, 0)
    """The current second (monotonic) and the messages taken in it."""
    _used_codes: set[str] = field(default_factory=set)
    _tokens: dict[str, datetime] = field(default_factory=dict)
    _current: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def blueprint(self) -> Blueprint:
        sim = Blueprint("wechat_sim", __name__, url_prefix="/sim/wechat")
        sim.add_url_rule("/sns/jscode2session", view_func=self._jscode2session)
        sim.add_url_rule("/cgi-bin/token", view_func=self._token)
        sim.add_url_rule("/cgi-bin/stable_token", view_func=self._token, methods=["POST"])
        sim.add_url_rule("/wxa/business/getuserphonenumber", view_func=self._phone, methods=["POST"])
        sim.add_url_rule("/cgi-bin/message/subscribe/send", view_func=self._subscribe, methods=["POST"])
        sim.add_url_rule("/cgi-bin/message/template/send", view_func=self._template, methods=["POST"])
        sim.add_url_rule("/messages", view_func=self._messages)
        return sim

    def _credentials_error(self, appid: str | None, secret: str | None) -> dict[str, Any] | None:
        if appid != self.appid:
            return _error(40013, "invalid appid")
        if secret != self.secret:
            return _error(40125, "invalid appsecret")
        return None

    def _use_code(self, code: str) -> bool:
        """Mark `code` used; False if it already was."""
        with self._lock:
            if code in self._used_codes:
                return False
            self._used_codes.add(code)
            return True

    def _jscode2session(self) -> dict[str, Any]:
        args = request.args
        if failure := self._credentials_error(args.get("appid"), args.get("secret")):
            return failure
        code = args.get("js_code", "")
        match = _LOGIN_CODE.fullmatch(code)
        if match is None:
            return _error(40029, "invalid code")
        if not self._use_code(code):
            return _error(40163, "code been used")
        openid = match.group(1)
        session_key = secrets.token_urlsafe(18)
        with self._lock:
            self.session_keys.append(session_key)
        return {"openid": openid, "session_key": session_key, "unionid": f"sim-union-{openid}"}

    def _token(self) -> dict[str, Any]:
        """/cgi-bin/token issues a new token each call; the ones before stay valid 5 more minutes (WeChat's own
        overlap). /cgi-bin/stable_token answers the token in force while it is valid, unless `force_refresh`."""
        stable = request.method == "POST"
        source = _body() if stable else request.args
        if failure := self._credentials_error(source.get("appid"), source.get("secret")):
            return failure
        now = self.clock.now()
        with self._lock:
            self.token_fetches += 1
            current = self._current
            if stable and not source.get("force_refresh") and current and self._tokens.get(current, now) > now:
                return {"access_token": current, "expires_in": int((self._tokens[current] - now).total_seconds())}
            token = secrets.token_urlsafe(24)
            overlap = now + timedelta(minutes=5)
            self._tokens = {t: min(e, overlap) for t, e in self._tokens.items() if e > now}
            self._tokens[token] = now + timedelta(seconds=TOKEN_TTL_S)
            self._current = token
        return {"access_token": token, "expires_in": TOKEN_TTL_S}

    def _token_error(self) -> dict[str, Any] | None:
        expires = self._tokens.get(request.args.get("access_token", ""))
        if expires is None or expires <= self.clock.now():
            return _error(40001, "invalid credential, access_token is invalid or not latest")
        return None

    def _phone(self) -> dict[str, Any]:
        if failure := self._token_error():
            return failure
        code = str(_body().get("code", ""))
        match = _PHONE_CODE.fullmatch(code)
        if match is None:
            return _error(40029, "invalid code")
        if not self._use_code(code):
            return _error(40163, "code been used")
        number = match.group(1).lstrip("+")
        return {
            "errcode": 0,
            "errmsg": "ok",
            "phone_info": {
                "phoneNumber": number,
                "purePhoneNumber": number[-11:],
                "countryCode": "86",
                "watermark": {"timestamp": int(self.clock.now().timestamp()), "appid": self.appid},
            },
        }

    def _too_fast(self) -> bool:
        if self.rate_limit is None:
            return False
        now = int(time.monotonic())
        with self._lock:
            second, taken = self._second
            taken = taken + 1 if second == now else 1
            self._second = (now, taken)
            if taken > self.rate_limit:
                self.refused_too_fast += 1
                return True
            return False

    def _record(self, kind: str) -> dict[str, Any]:
        if self.latency_s:
            time.sleep(self.latency_s)
        if failure := self._token_error():
            return failure
        if self._too_fast():
            return _error(TOO_FAST, "api minute-quota reach limit mustslower retry next minute")
        body = _body()
        if not body.get("touser"):
            return _error(40003, "invalid openid")
        if not body.get("template_id"):
            return _error(40037, "invalid template_id")
        with self._lock:
            msgid = len(self.messages) + 1
            self.messages.append({"kind": kind, "msgid": msgid, "at": self.clock.now().isoformat(), **body})
        return {"errcode": 0, "errmsg": "ok", "msgid": msgid}

    def _subscribe(self) -> dict[str, Any]:
        return self._record("subscribe")

    def _template(self) -> dict[str, Any]:
        return self._record("template")

    def _messages(self) -> dict[str, Any]:
        with self._lock:
            return {"messages": list(self.messages)}
