"""The words people read for the codes the system stores: states, channels, history actions and actors,
column names; and times as the lot's clock shows them. zh-CN by default, English on request."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from domain.order import Order, OrderState, RefundState

LABELS: dict[str, dict[str, tuple[str, str]]] = {
    "visit_kind": {
        "card": ("月卡车", "card holder"),
        "visitor": ("临时车", "visitor"),
        "exempt": ("免费车", "exempt"),
        "blacklisted": ("黑名单车", "blacklisted"),
        "unknown": ("未知", "unknown"),
    },
    "visit_flag": {
        "no_entry": ("无入场记录", "no entry reported"),
        "no_exit": ("无出场记录", "no exit reported"),
    },
    "pass_kind": {
        "exempt": ("免费放行", "exempt"),
        "blacklisted": ("黑名单", "blacklisted"),
        "guest": ("业主访客", "an owner's guest"),
    },
    "booking_state": {
        "booked": ("已预约", "booked"),
        "assigned": ("已派单", "assigned"),
        "collected": ("已收费", "collected"),
        "not_home": ("未遇到", "not at home"),
        "cancelled": ("已取消", "cancelled"),
    },
    "direction": {
        "in": ("入场", "in"),
        "out": ("出场", "out"),
    },
    "card_state": {
        "pending": ("待付款", "pending"),
        "active": ("有效", "active"),
        "paused": ("暂停中", "paused"),
        "expired": ("已过期", "expired"),
        "cancelled": ("已注销", "cancelled"),
    },
    "order_state": {
        "pending": ("待支付", "pending"),
        "paid": ("已支付", "paid"),
        "closed": ("已关闭", "closed"),
        "refunded": ("已退款", "refunded"),
    },
    "refund_state": {
        "processing": ("退款中", "refund in progress"),
        "succeeded": ("已退款", "refunded"),
        "abnormal": ("退款异常", "refund failed to arrive"),
        "closed": ("退款关闭", "refund closed"),
    },
    "owner_refund_state": {
        "processing": ("退款中", "refund in progress"),
        "succeeded": ("已退款", "refunded"),
        "abnormal": ("退款未到账，请联系物业", "the refund did not arrive: please contact the property office"),
        "closed": ("退款未完成，请联系物业", "the refund was not completed: please contact the property office"),
    },
    "refund_todo": {
        "abnormal": (
            "退款未能退回车主账户（如银行卡已注销）：请在商户平台按订单号处理异常退款（退至其他账户），或联系车主线下退还",
            "The refund could not reach the payer's account (a closed bank card): settle the abnormal refund in the "
            "merchant platform (to another account) or hand the money back in person",
        ),
        "closed": (
            "退款已关闭、款项未退回：请在商户平台按订单号重新发起退款，或联系车主线下退还",
            "The refund was closed and no money went back: refund it again in the merchant platform or in person",
        ),
    },
    "bill_state": {
        "draft": ("待发布", "draft"),
        "unpaid": ("待缴", "unpaid"),
        "paid": ("已缴", "paid"),
        "cancelled": ("已作废", "cancelled"),
        "refunded": ("已退款", "refunded"),
    },
    "run_state": {
        "drafting": ("生成中", "drafting"),
        "drafted": ("草稿待发布", "drafted, to publish"),
        "publishing": ("发布中", "publishing"),
        "published": ("已发布", "published"),
    },
    "chunk_state": {
        "pending": ("待生成", "to draft"),
        "drafted": ("已生成", "drafted"),
        "published": ("已发布", "published"),
    },
    "bill_line": {
        "base": ("费用", "charge"),
        "band": ("阶梯用量", "tier"),
        "shared": ("公摊", "shared use"),
        "vacancy": ("空置优惠", "vacancy discount"),
        "late_fee": ("滞纳金", "late fee"),
    },
    "fee_category": {
        "property": ("物业费", "property fee"),
        "parking": ("车位费", "parking space fee"),
        "on_behalf": ("代收代付", "collected on behalf"),
    },
    "fee_kind": {
        "area": ("按面积", "by area"),
        "fixed": ("固定金额", "fixed"),
        "metered": ("按用量", "metered"),
    },
    "unit_state": {
        "occupied": ("已入住", "occupied"),
        "vacant": ("空置", "vacant"),
        "undelivered": ("未交付", "not delivered"),
    },
    "channel": {
        "wechat": ("微信支付", "WeChat Pay"),
        "alipay": ("支付宝", "Alipay"),
        "cash": ("现金", "cash"),
        "pos": ("刷卡", "POS"),
        "transfer": ("转账", "bank transfer"),
    },
    "application_state": {
        "submitted": ("待物业审核", "waiting for the office"),
        "waitlisted": ("候补中", "waitlisted"),
        "approved": ("已通过", "approved"),
        "rejected": ("已拒绝", "rejected"),
        "lapsed": ("已失效", "lapsed"),
        "cancelled": ("已取消", "cancelled"),
    },
    "invoice_state": {
        "requested": ("待开票", "requested"),
        "issuing": ("开票中", "issuing"),
        "issued": ("已开票", "issued"),
        "rejected": ("已拒绝", "rejected"),
        "reversing": ("红冲中", "reversing"),
        "reversed": ("已红冲", "reversed"),
    },
    "pause_state": {
        "requested": ("待审批", "requested"),
        "scheduled": ("已安排", "scheduled"),
        "ended": ("已结束", "ended"),
        "rejected": ("已拒绝", "rejected"),
        "withdrawn": ("已撤回", "withdrawn"),
    },
    "role": {
        "tenant_admin": ("物业管理员", "property administrator"),
        "lot_manager": ("车场经理", "lot manager"),
        "cashier": ("收费员", "cashier"),
        "collector": ("上门收费员", "door-to-door collector"),
    },
    "action": {
        "issue": ("开卡", "issue"),
        "create_lot": ("新建车场", "create lot"),
        "update_lot": ("修改车场设置", "change lot settings"),
        "save_package": ("保存套餐", "save package"),
        "create_staff": ("新建账号", "create account"),
        "disable_staff": ("停用账号", "disable account"),
        "enable_staff": ("启用账号", "enable account"),
        "reset_password": ("重置密码", "reset password"),
        "change_role": ("修改角色", "change role"),
        "issue_invoice": ("开具发票", "issue invoice"),
        "reject_invoice": ("拒绝开票", "reject invoice"),
        "import_cards": ("导入月卡", "import cards"),
        "import": ("导入", "import"),
        "approve": ("审批开卡", "approve"),
        "renew": ("续费", "renew"),
        "refund": ("退款", "refund"),
        "pause": ("申请暂停", "pause"),
        "resume": ("恢复", "resume"),
        "approve_pause": ("批准暂停", "approve pause"),
        "reject_pause": ("拒绝暂停", "reject pause"),
        "add_plate": ("添加车牌", "add plate"),
        "remove_plate": ("删除车牌", "remove plate"),
        "swap_plate": ("更换车牌", "swap plate"),
        "cancel": ("注销", "cancel"),
        "restore": ("恢复月卡", "restore"),
        "lapse": ("逾期未付注销", "lapse"),
        "expire": ("到期", "expire"),
        "fix": ("人工修正", "fix"),
        "claim": ("车主认领", "claim"),
        "claim_refused": ("认领码错误", "wrong claim code"),
        "claim_code": ("打印认领单", "claim slip printed"),
        "passage_in": ("入场", "entry"),
        "passage_out": ("出场", "exit"),
    },
    "actor": {
        "system": ("系统", "system"),
        "owner": ("车主", "owner"),
        "admin": ("物业", "office"),
        "payment": ("支付", "payment"),
        "gate": ("道闸", "gate"),
    },
    "column": {
        "visit_id": ("停车记录", "visit_id"),
        "plate": ("车牌", "plate"),
        "kind": ("类型", "kind"),
        "entered_at": ("入场时间", "entered_at"),
        "left_at": ("出场时间", "left_at"),
        "fee_fen": ("停车费（元）", "fee_fen"),
        "flag": ("异常", "flag"),
        "starts": ("开始日期", "starts"),
        "until": ("截止日期", "until"),
        "lifted": ("已解除", "lifted"),
        "guest_of_owner": ("业主访客", "guest_of_owner"),
        "by": ("操作人", "by"),
        "inside": ("在场", "inside"),
        "id": ("编号", "id"),
        "unit_id": ("房屋", "unit_id"),
        "building": ("楼栋", "building"),
        "unit_number": ("房号", "unit_number"),
        "owners": ("业主电话", "owners"),
        "bill_ids": ("欠费账单", "bill_ids"),
        "collector": ("收费员", "collector"),
        "visits": ("预约上门", "visits"),
        "collected": ("已收款", "collected"),
        "cash_fen": ("现金（元）", "cash_fen"),
        "qr_fen": ("扫码（元）", "qr_fen"),
        "unpaid": ("未收原因", "unpaid"),
        "handed_over_fen": ("应交接（元）", "handed_over_fen"),
        "counted_fen": ("实点（元）", "counted_fen"),
        "difference_fen": ("差额（元）", "difference_fen"),
        "in_hand_fen": ("手中现金（元）", "in_hand_fen"),
        "principal_fen": ("欠费本金（元）", "principal_fen"),
        "late_fee_fen": ("滞纳金（元）", "late_fee_fen"),
        "owed_fen": ("合计（元）", "owed_fen"),
        "days_overdue": ("逾期天数", "days_overdue"),
        "fee_item_id": ("收费项目", "fee_item_id"),
        "billed_fen": ("应收（元）", "billed_fen"),
        "paid_fen": ("实收（元）", "paid_fen"),
        "rate": ("收缴率", "rate"),
        "name": ("名称", "name"),
        "lot_id": ("车场", "lot_id"),
        "card_id": ("月卡", "card_id"),
        "held_elsewhere": ("已在他处的车牌", "held_elsewhere"),
        "order_id": ("订单号", "order_id"),
        "package_id": ("套餐", "package_id"),
        "package": ("套餐", "package"),
        "plates": ("车牌", "plates"),
        "holder": ("持卡人", "holder"),
        "owner_phone": ("手机", "owner_phone"),
        "waiting_for_owner": ("待车主认领", "waiting_for_owner"),
        "claim_phone_last4": ("导入手机尾号", "claim_phone_last4"),
        "valid_from": ("有效期自", "valid_from"),
        "valid_until": ("有效期至", "valid_until"),
        "state": ("状态", "state"),
        "pauses": ("暂停", "pauses"),
        "channel": ("支付方式", "channel"),
        "amount_fen": ("金额（元）", "amount_fen"),
        "price_fen": ("价格（元）", "price_fen"),
        "revenue_fen": ("收入（元）", "revenue_fen"),
        "created_at": ("下单时间", "created_at"),
        "paid_at": ("支付时间", "paid_at"),
        "applied_at": ("申请时间", "applied_at"),
        "requested_at": ("申请时间", "requested_at"),
        "note": ("备注", "note"),
        "reason": ("原因", "reason"),
        "type": ("类型", "type"),
        "title": ("抬头", "title"),
        "tax_id": ("税号", "tax_id"),
        "number": ("发票号码", "number"),
        "day": ("日期", "day"),
        "unit": ("单位", "unit"),
        "count": ("时长", "count"),
        "enabled": ("在售", "enabled"),
        "position": ("排序", "position"),
        "timezone": ("时区", "timezone"),
        "quota": ("月卡名额", "quota"),
        "held": ("已占用", "held"),
        "mode": ("续费方式", "mode"),
        "max_until": ("最晚可续至", "max_until"),
        "max_months_ahead": ("最多提前续费（月）", "max_months_ahead"),
        "online_renewal": ("线上续费", "online_renewal"),
        "reminder_offsets": ("提前提醒（天）", "reminder_offsets"),
        "reminder_hour": ("提醒时间（点）", "reminder_hour"),
        "invoice_provider": ("开票方式", "invoice_provider"),
        "entitlement_version": ("道闸版本", "entitlement_version"),
        "approval": ("审批方式", "approval"),
        "pay_within_days": ("审批后付款期限（天）", "pay_within_days"),
        "auto_pay_within_days": ("自动审批后付款期限（天）", "auto_pay_within_days"),
        "open_applications_per_owner": ("每位车主待处理申请上限", "open_applications_per_owner"),
        "pause_allowed": ("允许暂停", "pause_allowed"),
        "pause_min_days": ("最短暂停（天）", "pause_min_days"),
        "pause_max_days": ("最长暂停（天）", "pause_max_days"),
        "pauses_per_year": ("每年暂停次数", "pauses_per_year"),
        "pause_needs_approval": ("暂停需审批", "pause_needs_approval"),
        "max_plates": ("每卡车牌数", "max_plates"),
        "plate_changes_per_month": ("每月换牌次数", "plate_changes_per_month"),
        "grace_days": ("宽限天数", "grace_days"),
    },
    "unit": {
        "months": ("个月", "month(s)"),
        "days": ("天", "day(s)"),
    },
    "renewal_mode": {
        "continuous": ("连续计期（从到期次日起算）", "continuous"),
        "calendar_month": ("按自然月（首月按天计价）", "calendar months"),
    },
    "approval": {
        "auto": ("自动通过", "automatic"),
        "manual": ("物业审批", "by the office"),
    },
    "invoice_provider": {
        "simulator": ("电子发票平台", "e-invoice service"),
        "manual": ("物业手工开票", "issued by hand"),
    },
    "on_sale": {
        "yes": ("在售", "on sale"),
        "no": ("停售", "not on sale"),
    },
    "staff_state": {
        "active": ("正常", "active"),
        "disabled": ("已停用", "disabled"),
    },
    "gate_state": {
        "current": ("已同步", "up to date"),
        "behind": ("落后", "behind"),
        "never": ("从未同步", "never synced"),
    },
    "difference": {
        "unfulfilled": ("支付平台已收款，本系统未入账", "paid at the provider, not booked here"),
        "not_at_provider": ("本系统已入账，支付平台无此笔", "booked here, absent at the provider"),
        "amount_differs": ("金额不一致", "amounts differ"),
        "refund_not_here": ("支付平台已退款，本系统未退款", "refunded at the provider, not here"),
        "refund_not_at_provider": (
            "本系统已办理退款，支付平台无退款到账记录",
            "refunded here, no refund paid out at the provider",
        ),
    },
    "difference_todo": {
        "repaired": (
            "已自动补记：订单按支付平台记录入账，月卡已续期，无需处理",
            "Repaired: the order was booked as the provider recorded it and the card extended; nothing to do",
        ),
        "unfulfilled": (
            "未能自动补记：请在商户平台按订单号核对这笔收款，并联系技术支持",
            "Not repaired: look the payment up by order number in the merchant platform and call support",
        ),
        "not_at_provider": (
            "请在商户平台按订单号查询；若确实未收到款项，请联系车主核实后办理退款或人工修正",
            "Look it up by order number in the merchant platform; if no money came, check with the owner, then "
            "refund or fix the card",
        ),
        "amount_differs": (
            "请在商户平台核对实收金额，并联系技术支持",
            "Check the amount taken in the merchant platform and call support",
        ),
        "refund_not_here": (
            "该笔已在商户平台退款：请在本系统对该订单办理退款（收回月卡天数），或核实退款原因",
            "Refunded in the merchant platform: refund the order here too (the card's days go back) or find out "
            "why it was refunded",
        ),
        "refund_not_at_provider": (
            "退款可能仍在处理中；若次日对账仍有差异，请在商户平台查询该退款",
            "The refund may still be in progress; if the next day still shows it, look it up in the merchant platform",
        ),
    },
    "reconcile_note": {
        "unknown_order": ("订单号不属于本系统", "not an order of this system"),
        "notice_amount_differs": ("实收金额与订单金额不符", "the amount paid is not the order's"),
        "refund_processing": ("支付平台仍在处理该退款", "the provider is still processing the refund"),
        "refund_abnormal": ("退款异常：款项未能退回车主", "refund abnormal: the money did not reach the payer"),
        "refund_closed": ("退款已关闭：款项未退回", "refund closed: no money went back"),
    },
}
"""kind -> stored value -> (zh-CN, English)."""

_BEIJING = ("北京时间", "China time")
ZONE_NAMES = {
    "Asia/Shanghai": _BEIJING,
    "Asia/Chongqing": _BEIJING,
    "Asia/Chungking": _BEIJING,
    "Asia/Harbin": _BEIJING,
    "PRC": _BEIJING,
    "Asia/Hong_Kong": ("香港时间", "Hong Kong time"),
    "Asia/Macau": ("澳门时间", "Macau time"),
    "Asia/Taipei": ("台北时间", "Taipei time"),
}
"""A zone without a name here is shown by its offset (UTC+06:00)."""


def label(kind: str, value: str, lang: str = "zh") -> str:
    """The word for a stored value; a value without one is shown as it is."""
    zh, en = LABELS[kind].get(value, (value, value))
    return en if lang == "en" else zh


def actor_label(actor: str, lang: str = "zh") -> str:
    """ "payment:wechat" -> "微信支付"; "admin:a@b.cn" -> "物业 a@b.cn"; "owner:o-1" -> "车主"; "system:x" -> "系统"."""
    kind, _, who = actor.partition(":")
    if kind == "payment":
        return label("channel", who, lang)
    if kind == "admin":
        return f"{label('actor', kind, lang)} {who}"
    return label("actor", kind, lang)


def local_time(at: datetime, zone: str, lang: str = "zh") -> str:
    """2026-12-01T12:27:24+00:00 at Asia/Shanghai -> "2026-12-01 20:27 北京时间"."""
    local = at.astimezone(ZoneInfo(zone))
    names = ZONE_NAMES.get(zone)
    name = (names[1] if lang == "en" else names[0]) if names else _offset_name(local)
    return f"{local:%Y-%m-%d %H:%M} {name}"


def _offset_name(local: datetime) -> str:
    offset = local.utcoffset()
    minutes = int(offset.total_seconds()) // 60 if offset is not None else 0
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def order_state_text(order: Order, lang: str = "zh", *, owner: bool = False) -> str:
    """已退款 only once the money is back: a refund the provider has not confirmed reads 退款中; one that failed
    tells the owner to see the office (the office reads what to do beside it)."""
    if order.state is OrderState.REFUNDED and order.refund not in (None, RefundState.SUCCEEDED):
        assert order.refund is not None
        return label("owner_refund_state" if owner else "refund_state", order.refund.value, lang)
    return label("order_state", order.state.value, lang)


def bill_line_text(kind: str, text: str, lang: str = "zh") -> str:
    """A bill line as people read it: stored in Chinese (the office's fee item names are theirs); in English the
    words ParkPass added are translated and the fee item's name is kept."""
    if lang != "en":
        return text
    if kind == "shared":
        return "shared use"
    if kind == "vacancy":
        return "vacancy discount"
    if kind == "band":
        for zh, en in (("立方米", "m3"), ("吨", "t"), ("度", "kWh"), ("吉焦", "GJ")):
            text = text.replace(f"/{zh}", f"/{en}").replace(zh, f" {en}")
        return text.replace(" 元", " yuan")
    name, _, rest = text.partition(" 起 ")
    return f"{name} for {rest.replace(' 个月', ' months')}" if rest else text
