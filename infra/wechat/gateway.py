"""wechatpy, pointed at a base URL: WeChat itself on AWS, the simulator locally.

wechatpy hard-codes the token URL and keeps one base per API class, so a
small subclass moves all of them in one place.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import requests
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session import SessionStorage

from domain.errors import LoginCodeInvalid, LoginCodeUsed, PhoneCodeInvalid, WechatUnavailable
from handlers.ports import RateLimited, SendFailed, WechatSession

WECHAT_API_BASE = "https://api.weixin.qq.com/"
INVALID_CODE, CODE_USED = 40029, 40163
SLOW_DOWN = (45009, 45011, -1)
"""WeChat's "daily quota reached", "minute quota reached, slow down" and "system busy, try again later"."""

log = logging.getLogger("parkpass.wechat")
# WeChat's protocol puts the app secret and login codes in query strings; urllib3's
# debug log prints whole URLs, so it must never run at debug level here.
logging.getLogger("urllib3").setLevel(logging.WARNING)


class _Client(WeChatClient):  # type: ignore[misc]
    def __init__(self, appid: str, secret: str, api_base: str, session: SessionStorage, timeout: float) -> None:
        super().__init__(appid, secret, session=session, timeout=timeout)
        self._mine = threading.local()  # the work function's consumers share this client: each its own refusal
        self.api_base = api_base
        self.API_BASE_URL = f"{api_base}cgi-bin/"
        self.wxa.API_BASE_URL = api_base

    def _handle_result(self, res: Any, method: Any = None, url: Any = None, result_processor: Any = None,
                       **kwargs: Any) -> Any:  # fmt: skip
        # The token this thread's request carried: if WeChat refuses it, that is the one refused, whatever another
        # thread has put in the shared cache since.
        self._mine.sent = (kwargs.get("params") or {}).get("access_token")
        try:
            return super()._handle_result(res, method, url, result_processor, **kwargs)
        finally:
            self._mine.sent = None

    def fetch_access_token(self) -> Any:
        # getStableAccessToken: every caller gets the token in force while it is valid, so consumers running at
        # once never end each other's token (the plain /cgi-bin/token issues a new one on each call, and a crowd of
        # callers each refreshing after the other's 40001 never stops). wechatpy fetches after each 40001 and
        # tries again, without end: if WeChat answers the very token it just refused this thread, ask for a new
        # one, and give up when even that is refused.
        refused = getattr(self._mine, "sent", None)
        forced = getattr(self._mine, "forced", 0)
        result = self._stable_token(force=False)
        if refused is not None and result["access_token"] == refused:
            if forced:
                self._mine.forced = 0
                raise WeChatClientException(40001, "a fresh access token was refused too", client=self)
            self._mine.forced = 1
            result = self._stable_token(force=True)
        else:
            self._mine.forced = 0
        expires_in = int(result.get("expires_in", 7200))
        self.session.set(self.access_token_key, result["access_token"], expires_in)
        self.expires_at = int(time.time()) + expires_in
        return result

    def _stable_token(self, force: bool) -> dict[str, Any]:
        body = {"grant_type": "client_credential", "appid": self.appid, "secret": self.secret, "force_refresh": force}
        res = self._http.post(url=f"{self.api_base}cgi-bin/stable_token", json=body, timeout=self.timeout)
        try:
            res.raise_for_status()
        except requests.RequestException as e:
            raise WeChatClientException(None, None, client=self, request=e.request, response=e.response) from None
        result: dict[str, Any] = res.json()
        if result.get("errcode"):
            raise WeChatClientException(result["errcode"], result.get("errmsg"), client=self, response=res)
        return result


class WechatGateway:
    """Login, phone numbers and (later) messages for one mini-program."""

    def __init__(
        self, appid: str, secret: str, session: SessionStorage, api_base: str = WECHAT_API_BASE, timeout: float = 4.0
    ) -> None:
        self._client = _Client(appid, secret, api_base, session, timeout)

    def code_to_session(self, code: str) -> WechatSession:
        refusals = {INVALID_CODE: LoginCodeInvalid, CODE_USED: LoginCodeUsed}
        result = self._call(lambda: self._client.wxa.code_to_session(code), refusals)
        return WechatSession(openid=result["openid"], session_key=result["session_key"], unionid=result.get("unionid"))

    def phone_number(self, code: str) -> str:
        result = self._call(
            lambda: self._client.post(
                "wxa/business/getuserphonenumber", data={"code": code}, api_base_url=self._client.api_base
            ),
            {INVALID_CODE: PhoneCodeInvalid, CODE_USED: PhoneCodeInvalid},
        )
        info = result.get("phone_info") or {}
        return str(info.get("purePhoneNumber") or info.get("phoneNumber") or "")

    def send_subscribe(self, openid: str, template_id: str, data: dict[str, dict[str, str]], page: str) -> None:
        self._send(lambda: self._client.wxa.send_subscribe_message(openid, template_id, data, page=page))

    def send_template(self, openid: str, template_id: str, data: dict[str, dict[str, str]], page: str) -> None:
        mini_program = {"appid": self._client.appid, "pagepath": page}
        self._send(lambda: self._client.message.send_template(openid, template_id, data, mini_program=mini_program))

    def _send(self, request: Any) -> None:
        try:
            self._call(request, dict.fromkeys(SLOW_DOWN, RateLimited))
        except WechatUnavailable as e:
            raise SendFailed("WeChat did not take the message") from e

    @property
    def client(self) -> WeChatClient:
        return self._client

    def _call(self, request: Any, refusals: dict[int, type[Exception]]) -> dict[str, Any]:
        try:
            result: dict[str, Any] = request()
        except WeChatClientException as e:
            refusal = refusals.get(int(e.errcode)) if e.errcode is not None else None
            if refusal is not None:
                raise refusal() from None
            log.warning("WeChat refused a call: errcode %s", e.errcode)
            raise WechatUnavailable() from None
        except requests.RequestException as e:
            log.warning("WeChat unreachable: %s", type(e).__name__)
            raise WechatUnavailable() from None
        return result
