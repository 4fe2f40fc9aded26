"""Configuration from the environment, read once per container."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from infra.parameters import runtime_environ, unreadable_parameters

DEFAULT_REGION = "cn-north-1"
WECHAT_API_BASE = "https://api.weixin.qq.com/"


class MissingSettings(RuntimeError):
    pass


@dataclass(frozen=True)
class WechatPayConfig:
    mchid: str
    appid: str
    merchant_key_pem: str = field(repr=False)
    merchant_serial: str
    apiv3_key: str = field(repr=False)
    platform_public_key_pem: str
    platform_public_key_id: str
    """Starts with PUB_KEY_ID_; the Wechatpay-Serial of everything WeChat Pay signs."""
    notify_url: str
    gateway: str = "https://api.mch.weixin.qq.com"


@dataclass(frozen=True)
class AlipayConfig:
    appid: str
    seller_id: str
    """The merchant's Alipay PID (2088...): notifications must name it."""
    app_private_key_pem: str = field(repr=False)
    alipay_public_key_pem: str
    notify_url: str
    gateway: str = "https://openapi.alipay.com/gateway.do"


@dataclass(frozen=True)
class Secrets:
    token_secret: bytes
    """Signs our session tokens."""
    data_key: bytes = field(repr=False)
    """AES-256 key for personal data at rest (phone numbers, session keys)."""
    wechat_appid: str
    wechat_secret: str = field(repr=False)
    wechatpay: WechatPayConfig | None = None
    """None: this deployment takes no WeChat Pay payments."""
    alipay: AlipayConfig | None = None
    """None: this deployment takes no Alipay payments."""
    gate_signing_key: bytes | None = field(default=None, repr=False)
    """Ed25519 private key (32 bytes) that signs every message to gates; gates hold the public half."""
    receipt_signing_key: bytes | None = field(default=None, repr=False)
    """Ed25519 private key (32 bytes) that signs e-receipts; None: payments get no receipt."""


@dataclass(frozen=True)
class Settings:
    table_prefix: str = "parkpass"
    region: str = DEFAULT_REGION
    dynamodb_endpoint: str | None = None
    """None means the region's real DynamoDB endpoint."""
    local: bool = False
    """Local stack: mounts the simulators and the /sim routes. Never set on AWS."""
    wechat_api_base: str = WECHAT_API_BASE
    mqtt_url: str | None = None
    """Publish gate messages to this MQTT broker; None on AWS, where IoT Core's data plane is used."""
    application_template: str = "sim-application"
    bill_template: str = "sim-bill"
    expiry_template: str = "sim-expiry"
    """The subscribe-message template of card expiry reminders."""
    collection_template: str = "sim-collection"
    """The subscribe-message template that confirms a collector's visit booked."""
    """The subscribe-message template of property-fee reminders (bills due, and the barrier's arrears reminder)."""
    """Subscribe/template message id for decisions on card applications (the simulator's by default)."""
    invoice_template: str = "sim-invoice"
    invoice_api: str | None = None
    """The e-invoice provider's API (locally the simulator); None: automatic invoicing waits for one."""
    documents_bucket: str | None = None
    """S3 bucket for invoice PDFs; None: the folder `documents_dir`."""
    documents_dir: str = "/tmp/parkpass-documents"
    s3_endpoint: str | None = None
    """None: the region's S3 (an emulator's URL in tests)."""
    seal_image: str | None = None
    """A PNG of the property's seal, printed on receipts."""
    public_url: str | None = None
    """Where phones reach this API (https://pay.example.com); receipts' QR codes link under it, never the Host."""
    work_queue_url: str | None = None
    """The SQS queue the scheduled functions put due work on (reminders, dunning); None: they do it themselves."""
    sqs_endpoint: str | None = None
    """None: the region's SQS (the embedded emulator's URL locally)."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = runtime_environ() if environ is None else environ
        return cls(
            table_prefix=env.get("PARKPASS_TABLE_PREFIX", "parkpass"),
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or DEFAULT_REGION,
            dynamodb_endpoint=env.get("PARKPASS_DYNAMODB_ENDPOINT") or None,
            local=env.get("PARKPASS_LOCAL", "") == "1",
            wechat_api_base=env.get("PARKPASS_WECHAT_API_BASE", WECHAT_API_BASE),
            mqtt_url=env.get("PARKPASS_MQTT_URL") or None,
            application_template=env.get("PARKPASS_APPLICATION_TEMPLATE") or "sim-application",
            bill_template=env.get("PARKPASS_BILL_TEMPLATE") or "sim-bill",
            expiry_template=env.get("PARKPASS_EXPIRY_TEMPLATE") or "sim-expiry",
            collection_template=env.get("PARKPASS_COLLECTION_TEMPLATE") or "sim-collection",
            invoice_template=env.get("PARKPASS_INVOICE_TEMPLATE") or "sim-invoice",
            invoice_api=env.get("PARKPASS_INVOICE_API") or None,
            documents_bucket=env.get("PARKPASS_DOCUMENTS_BUCKET") or None,
            documents_dir=env.get("PARKPASS_DOCUMENTS_DIR") or "/tmp/parkpass-documents",
            s3_endpoint=env.get("PARKPASS_S3_ENDPOINT") or None,
            work_queue_url=env.get("PARKPASS_WORK_QUEUE_URL") or None,
            sqs_endpoint=env.get("PARKPASS_SQS_ENDPOINT") or None,
            seal_image=env.get("PARKPASS_SEAL_IMAGE") or None,
            public_url=public_url(env.get("PARKPASS_PUBLIC_URL") or None),
        )


_PUBLIC_URL = re.compile(r"https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~\-/]*)?")


def public_url(text: str | None) -> str | None:
    """PARKPASS_PUBLIC_URL without its trailing slash; MissingSettings unless it is a plain http(s) base URL."""
    if text is None:
        return None
    if not _PUBLIC_URL.fullmatch(text):
        raise MissingSettings("PARKPASS_PUBLIC_URL must be a base URL such as https://pay.example.com")
    return text.rstrip("/")


def secrets_from_env(environ: Mapping[str, str] | None = None, unreadable: Mapping[str, str] | None = None) -> Secrets:
    """The secrets, from the environment; on AWS from the SSM parameters it names (infra/parameters.py).

    `unreadable`: setting -> the parameter that named it and could not be read, for the error."""
    env = runtime_environ() if environ is None else environ
    unread = unreadable_parameters() if unreadable is None else unreadable
    names = ("PARKPASS_TOKEN_SECRET", "PARKPASS_DATA_KEY", "PARKPASS_WECHAT_APPID", "PARKPASS_WECHAT_SECRET")
    missing = [n for n in names if not env.get(n)]
    if missing:
        raise MissingSettings("set " + ", ".join(_named(n, unread) for n in missing))
    data_key = base64.b64decode(env["PARKPASS_DATA_KEY"])
    if len(data_key) != 32:
        raise MissingSettings("PARKPASS_DATA_KEY must be 32 bytes, base64-encoded")
    return Secrets(
        token_secret=env["PARKPASS_TOKEN_SECRET"].encode(),
        data_key=data_key,
        wechat_appid=env["PARKPASS_WECHAT_APPID"],
        wechat_secret=env["PARKPASS_WECHAT_SECRET"],
        wechatpay=_wechatpay_from_env(env, unread, env["PARKPASS_WECHAT_APPID"]),
        alipay=_alipay_from_env(env, unread),
        gate_signing_key=base64.b64decode(env["PARKPASS_GATE_SIGNING_KEY"])
        if env.get("PARKPASS_GATE_SIGNING_KEY")
        else None,
        receipt_signing_key=base64.b64decode(env["PARKPASS_RECEIPT_SIGNING_KEY"])
        if env.get("PARKPASS_RECEIPT_SIGNING_KEY")
        else None,
    )


def _named(setting: str, unreadable: Mapping[str, str]) -> str:
    parameter = unreadable.get(setting)
    return f"{setting} (SSM parameter {parameter} is missing or not readable)" if parameter else setting


def _alipay_from_env(env: Mapping[str, str], unread: Mapping[str, str]) -> AlipayConfig | None:
    if not env.get("PARKPASS_ALIPAY_APPID"):
        return None
    names = ("SELLER_ID", "APP_PRIVATE_KEY", "PUBLIC_KEY", "NOTIFY_URL")
    missing = [f"PARKPASS_ALIPAY_{n}" for n in names if not env.get(f"PARKPASS_ALIPAY_{n}")]
    if missing:
        raise MissingSettings("set " + ", ".join(_named(n, unread) for n in missing))
    return AlipayConfig(
        appid=env["PARKPASS_ALIPAY_APPID"],
        seller_id=env["PARKPASS_ALIPAY_SELLER_ID"],
        app_private_key_pem=env["PARKPASS_ALIPAY_APP_PRIVATE_KEY"],
        alipay_public_key_pem=env["PARKPASS_ALIPAY_PUBLIC_KEY"],
        notify_url=env["PARKPASS_ALIPAY_NOTIFY_URL"],
        gateway=env.get("PARKPASS_ALIPAY_GATEWAY", "https://openapi.alipay.com/gateway.do"),
    )


def _wechatpay_from_env(env: Mapping[str, str], unread: Mapping[str, str], appid: str) -> WechatPayConfig | None:
    if not env.get("PARKPASS_WECHATPAY_MCHID"):
        return None
    names = ("MERCHANT_KEY", "MERCHANT_SERIAL", "APIV3_KEY", "PUBLIC_KEY", "PUBLIC_KEY_ID", "NOTIFY_URL")
    missing = [f"PARKPASS_WECHATPAY_{n}" for n in names if not env.get(f"PARKPASS_WECHATPAY_{n}")]
    if missing:
        raise MissingSettings("set " + ", ".join(_named(n, unread) for n in missing))
    given = {n: env[f"PARKPASS_WECHATPAY_{n}"] for n in names}
    return WechatPayConfig(
        mchid=env["PARKPASS_WECHATPAY_MCHID"],
        appid=appid,
        merchant_key_pem=given["MERCHANT_KEY"],
        merchant_serial=given["MERCHANT_SERIAL"],
        apiv3_key=given["APIV3_KEY"],
        platform_public_key_pem=given["PUBLIC_KEY"],
        platform_public_key_id=given["PUBLIC_KEY_ID"],
        notify_url=given["NOTIFY_URL"],
        gateway=env.get("PARKPASS_WECHATPAY_GATEWAY", "https://api.mch.weixin.qq.com"),
    )
