"""Secrets of the local stack: made on first run, kept beside the data so a restart can still decrypt it."""

from __future__ import annotations

import base64
import json
import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from infra.settings import AlipayConfig, Secrets, WechatPayConfig

if TYPE_CHECKING:
    from handlers.ports import Clock
    from infra.simulators.alipay import AlipaySimulator
    from infra.simulators.wechatpay import WechatPaySimulator

FILE_NAME = "secrets.json"
SIM_APPID = "wx00000000parkpass"
SIM_MCHID = "1900000109"
SIM_PUBLIC_KEY_ID = "PUB_KEY_ID_0119000001092026112300000000"
SIM_ALIPAY_APPID = "2021000000000001"
SIM_ALIPAY_SELLER_ID = "2088000000000001"


@dataclass(frozen=True)
class LocalSecrets:
    token_secret: str = field(repr=False)
    data_key: str = field(repr=False)
    wechat_secret: str = field(repr=False)
    merchant_key_pem: str = field(repr=False)
    """The merchant's API key: ParkPass signs with it, the WeChat Pay simulator checks with its public half."""
    platform_key_pem: str = field(repr=False)
    """The WeChat Pay simulator's key: it signs, ParkPass checks with the public half."""
    apiv3_key: str = field(repr=False)
    alipay_app_key_pem: str = field(repr=False)
    """ParkPass's Alipay app key: it signs requests, the Alipay simulator checks them."""
    alipay_key_pem: str = field(repr=False)
    """The Alipay simulator's key: it signs answers and notifications."""
    gate_signing_key: str = field(repr=False, default="")
    """Ed25519 seed, base64; the local gates get its public half."""
    demo_gate_secret: str = field(repr=False, default="")
    receipt_signing_key: str = field(repr=False, default="")
    """Ed25519 seed, base64: signs the local stack's e-receipts."""
    wechat_appid: str = SIM_APPID
    mchid: str = SIM_MCHID

    def secrets(self, api_url: str) -> Secrets:
        from infra.simulators.keys import public_pem_of

        return Secrets(
            token_secret=base64.b64decode(self.token_secret),
            data_key=base64.b64decode(self.data_key),
            wechat_appid=self.wechat_appid,
            wechat_secret=self.wechat_secret,
            wechatpay=WechatPayConfig(
                mchid=self.mchid,
                appid=self.wechat_appid,
                merchant_key_pem=self.merchant_key_pem,
                merchant_serial="5157F09EFDC096DE15EBE81A47057A7200000001",
                apiv3_key=self.apiv3_key,
                platform_public_key_pem=public_pem_of(self.platform_key_pem),
                platform_public_key_id=SIM_PUBLIC_KEY_ID,
                notify_url=f"{api_url}/api/v1/payments/wechat/notify",
                gateway=f"{api_url}/sim/wechatpay",
            ),
            gate_signing_key=base64.b64decode(self.gate_signing_key),
            receipt_signing_key=base64.b64decode(self.receipt_signing_key),
            alipay=AlipayConfig(
                appid=SIM_ALIPAY_APPID,
                seller_id=SIM_ALIPAY_SELLER_ID,
                app_private_key_pem=self.alipay_app_key_pem,
                alipay_public_key_pem=public_pem_of(self.alipay_key_pem),
                notify_url=f"{api_url}/api/v1/payments/alipay/notify",
                gateway=f"{api_url}/sim/alipay/gateway.do",
            ),
        )


def payment_simulators(made: LocalSecrets, clock: Clock) -> tuple[WechatPaySimulator, AlipaySimulator]:
    """WeChat Pay's and Alipay's simulators holding the other halves of these secrets' keys."""
    from infra.simulators.alipay import AlipaySimulator
    from infra.simulators.keys import public_pem_of
    from infra.simulators.wechatpay import WechatPaySimulator

    wechatpay = WechatPaySimulator(
        mchid=made.mchid,
        appid=made.wechat_appid,
        apiv3_key=made.apiv3_key,
        merchant_public_key_pem=public_pem_of(made.merchant_key_pem),
        platform_private_key_pem=made.platform_key_pem,
        platform_key_id=SIM_PUBLIC_KEY_ID,
        clock=clock,
    )
    alipay = AlipaySimulator(
        appid=SIM_ALIPAY_APPID,
        seller_id=SIM_ALIPAY_SELLER_ID,
        app_public_key_pem=public_pem_of(made.alipay_app_key_pem),
        alipay_private_key_pem=made.alipay_key_pem,
        clock=clock,
    )
    return wechatpay, alipay


def local_secrets(data_dir: Path | None) -> LocalSecrets:
    """Load `data_dir/secrets.json`, or make new secrets (and write them there when there is a data dir)."""
    path = data_dir / FILE_NAME if data_dir is not None else None
    if path is not None and path.exists():
        kept = LocalSecrets(**json.loads(path.read_text()))
        if kept.receipt_signing_key:
            return kept
        # Kept by a version without receipts: add the receipt key, keep everything else.
        added = replace(kept, receipt_signing_key=base64.b64encode(secrets.token_bytes(32)).decode())
        _write_whole(path, added)
        return added
    from infra.simulators.keys import new_rsa_key, private_pem

    made = LocalSecrets(
        token_secret=base64.b64encode(secrets.token_bytes(32)).decode(),
        data_key=base64.b64encode(secrets.token_bytes(32)).decode(),
        wechat_secret=secrets.token_hex(16),
        merchant_key_pem=private_pem(new_rsa_key()),
        platform_key_pem=private_pem(new_rsa_key()),
        apiv3_key=secrets.token_hex(16),
        alipay_app_key_pem=private_pem(new_rsa_key()),
        alipay_key_pem=private_pem(new_rsa_key()),
        gate_signing_key=base64.b64encode(secrets.token_bytes(32)).decode(),
        demo_gate_secret=secrets.token_hex(16),
        receipt_signing_key=base64.b64encode(secrets.token_bytes(32)).decode(),
    )
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_whole(path, made)
    return made


def _write_whole(path: Path, kept: LocalSecrets) -> None:
    """Written to a file of its own, flushed, then renamed over: a crash never leaves half a secrets file (the
    next start would fail on it, and the snapshot beside it would be unreadable without these keys)."""
    temporary = path.with_name(f".{path.name}.new")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(kept.__dict__, f)
        f.flush()
        os.fsync(f.fileno())
    temporary.replace(path)
