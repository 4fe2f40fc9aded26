"""Every text a person reads about a failure, in zh-CN (the default) and English.

A key is an error code (when one message says it all) or a finer name for one of a code's cases;
a test requires both languages for every code the API lists and every key the code raises.
Templates are str.format templates over the error's params.
"""

from __future__ import annotations

from collections.abc import Mapping

MESSAGES: dict[str, tuple[str, str]] = {
    # --- generic codes, the HTTP edge's own, and the shape of a request
    "domain_error": ("请求未能完成", "the request could not be completed"),
    "invalid_input": ("输入有误，请检查后重试", "the input is not valid"),
    "invalid_request": ("请求内容有误，请检查：{fields}", "{detail}"),
    "invalid_json": (
        "请求体应为 JSON 对象（Content-Type: application/json）",
        "the body must be a JSON object (Content-Type: application/json)",
    ),
    "json_depth": ("请求体嵌套超过 {most} 层", "the body nests deeper than {most} levels"),
    "invalid_id": (
        "{kind} 格式不对：只能用 1 到 64 个字母、数字、- 或 _，以字母或数字开头",
        "{kind} is malformed: use 1-64 letters, digits, '-' or '_', starting with a letter or digit",
    ),
    "conflict": ("操作冲突，请刷新后重试", "the request conflicts with the current state; read again and retry"),
    "not_found": ("找不到请求的内容", "nothing here"),
    "method_not_allowed": ("此地址不支持该请求方法", "this method is not allowed here"),
    "bad_request": ("请求无法识别", "the request could not be understood"),
    "unsupported_media_type": ("不支持的内容类型", "this content type is not supported"),
    "request_entity_too_large": ("请求内容太大", "the request is too large"),
    "internal_error": ("服务器暂时无法处理，请稍后再试", "the server could not answer; try again"),
    "service_unavailable": ("服务暂时不可用，请稍后再试", "the service is unavailable; try again shortly"),
    "upstream_unavailable": ("依赖的服务暂时没有响应，请稍后再试", "a service we depend on did not answer; try again"),
    "kept_changing": ("数据正在被其他操作修改，请稍后重试", "it kept changing meanwhile; try again"),
    "idempotency_key_reused": (
        "这个 idempotency_key 已用于另一笔购买：每次购买请用新的 key",
        "this idempotency_key was used for another purchase: use a new one per purchase",
    ),
    "form_key_reused": (
        "这个表单的操作已用于另一张月卡：请关闭后重新打开表单",
        "this form's key was used for another card: close the form and open it again",
    ),
    "recorded_already": ("这次操作已经记录过了", "this change was recorded already"),
    "idempotency_key": (
        "idempotency_key 应为 8 到 64 个字符，同一次操作重试时保持不变",
        "idempotency_key must be 8 to 64 characters, the same for retries of one operation",
    ),
    "file_too_big": ("文件超过 {mb} MB", "the file is over {mb} MB"),
    "file_empty": ("文件是空的", "the file is empty"),
    # --- signing in
    "unauthenticated": ("请先登录", "log in first"),
    "bearer_missing": (
        "请先登录（请求头带上 Authorization: Bearer <token>，令牌从 POST {login} 获取）",
        "send Authorization: Bearer <token>; get a token from POST {login}",
    ),
    "token_expired": ("登录已过期，请刷新令牌或重新登录", "the token has expired; refresh it or log in again"),
    "token_invalid": ("登录凭证无效，请重新登录", "the token is not one we issued"),
    "account_gone": ("账号已不存在，请重新登录", "the account no longer exists"),
    "session_ended": (
        "本次登录已退出或已失效，请重新登录",
        "this session has ended (logged out, or ended for safety); log in again",
    ),
    "refresh_token_reused": (
        "该刷新令牌已使用过：为安全起见，本次登录已全部退出，请重新登录",
        "this refresh token was used before: for safety its session has ended; log in again",
    ),
    "login_code_empty": (
        "缺少登录 code：请发送 wx.login() 得到的 code",
        "code is empty: send the code from wx.login()",
    ),
    "login_code_invalid": (
        "微信未接受该登录 code，请重新调用 wx.login() 后再试",
        "WeChat did not accept this code; call wx.login() again and send the new code",
    ),
    "login_code_used": (
        "该登录 code 已使用过，每个 wx.login() 的 code 只能用一次",
        "this code was already used; each wx.login() code works once",
    ),
    "phone_code_empty": (
        "缺少手机号 code：请发送“获取手机号”按钮得到的 code",
        "code is empty: send the code from the getPhoneNumber button",
    ),
    "phone_code_invalid": (
        "微信未接受该手机号 code，请车主重新点击获取手机号按钮",
        "WeChat did not accept this phone code; ask the owner to tap the phone button again",
    ),
    "phone_digits": ("手机号只能包含数字（可以 + 开头）", "a phone number is digits, optionally after +"),
    "wechat_unavailable": ("微信服务暂时没有响应，请稍后再试", "WeChat did not answer; try again in a moment"),
    "login_failed": ("邮箱或密码错误", "wrong email or password"),
    "rate_limited": (
        "请求过于频繁，请 {retry_after_s} 秒后再试",
        "too many requests; try again in {retry_after_s} seconds",
    ),
    "forbidden": ("当前账号的角色无权执行此操作", "a {role} may not do this"),
    "staff_email": ("登录名应为小写的电子邮箱地址", "a staff login is a lower-case email address"),
    "password_short": ("密码至少 {least} 位", "a password has at least {least} characters"),
    "staff_lots": ("车场经理和收费员至少要负责一个车场", "a lot manager or cashier needs at least one lot"),
    "staff_exists": ("账号 {email} 已存在", "an account for {email} exists already"),
    "staff_email_unavailable": (
        "这个邮箱不能用于新账号，请换一个邮箱",
        "this email cannot be used for a new account; use another one",
    ),
    "staff_email_format": (
        "邮箱格式不对：@ 前只能用字母、数字和 . _ % + -，形如 name@example.cn，最长 {most} 位",
        "not a plain email address: letters, digits and . _ % + - before the @, like "
        "name@example.cn, at most {most} characters",
    ),
    "weak_password": ("密码不符合要求", "this password is not allowed"),
    "password_long": ("密码最多 {most} 位", "a password has at most {most} characters"),
    "password_control": ("密码不能包含控制字符或不可见字符", "a password cannot hold control or invisible characters"),
    "password_kinds": (
        "密码至少要包含字母、数字、符号（含空格）中的两类",
        "a password needs at least two of: letters, digits, symbols (spaces count)",
    ),
    "password_repetitive": (
        "密码至少要有 {least} 个不同的字符",
        "a password needs at least {least} different characters",
    ),
    "password_common": (
        "这个密码太常见，容易被猜中，请换一个",
        "this password is too common and easily guessed; choose another",
    ),
    "password_is_email": ("密码不能与登录邮箱相同", "a password cannot be the login email"),
    "staff_not_found": ("找不到账号 {email}", "no account {email} here"),
    "staff_self": (
        "不能停用自己的账号或修改自己的角色：请另一位管理员操作",
        "you cannot disable your own account or change your own role; ask another administrator",
    ),
    "account_disabled": ("该账号已停用，请联系物业管理员", "this account is disabled; ask an administrator"),
    # --- lots, packages
    "lot_not_found": ("找不到车场 {lot_id}", "no lot with id {lot_id!r}"),
    "invalid_lot": ("车场设置有误", "the lot's settings are not valid"),
    "lot_id_unavailable": (
        "车场编号 {lot_id} 不能使用，请换一个编号",
        "the lot id {lot_id!r} cannot be used; choose another",
    ),
    "lot_name": ("请填写车场名称", "a lot needs a name"),
    "time_zone": ("未知的时区 {zone}", "unknown time zone {zone!r}"),
    "quota_negative": ("月卡名额不能为负数", "quota cannot be negative"),
    "held_negative": ("已占用名额不能为负数", "a lot cannot hold fewer than no cards"),
    "reminder_hours": (
        "提醒时间应在 0-23 点，到期前 0-60 天",
        "reminders go out at an hour 0-23, 0-60 days before the end",
    ),
    "max_months_ahead": ("最长可续期月数至少为 1 个月", "max_months_ahead must be at least 1 month"),
    "pause_days": (
        "暂停天数应在 1 到 366 天之间，最短不能长于最长",
        "pauses last 1 to 366 days, the minimum no longer than the maximum",
    ),
    "allowances_negative": ("暂停次数和换牌次数不能为负数", "pause and plate-change allowances cannot be negative"),
    "max_plates": ("每张月卡可绑定 1 到 5 个车牌", "a card carries 1 to 5 plates"),
    "grace_days": (
        "宽限期为 0-31 天，审批通过后应在 1-90 天内付款",
        "grace is 0-31 days and an approved card is paid for within 1-90 days",
    ),
    "application_limits": (
        "自动审批后的付款期限应为 1-90 天，每位车主待处理申请上限为 1-20 个",
        "an automatically approved card is paid for within 1-90 days; an owner may have 1-20 applications waiting",
    ),
    "plates_held_elsewhere": (
        "车牌 {plates} 已在本车场其他月卡或申请上，请核实后批准或拒绝",
        "plate {plates} is on another card or application of this lot: check before deciding",
    ),
    "plate_change_unpaid": ("月卡付款后才能添加或更换车牌", "plates can be added or changed once the card is paid for"),
    "too_many_applications": (
        "您在{lot}已有 {most} 个申请在审核、排队或待付款，请先付款或等待处理后再申请",
        "you have {most} applications at {lot} in review, waiting or to be paid for; pay for "
        "one or wait for the office before applying again",
    ),
    "lot_full": ("车场 {lot_id} 的月卡名额已满", "lot {lot_id!r} has no free place"),
    "lot_changed": ("车场数据刚被修改，请刷新后重试", "lot {lot_id!r} was changed concurrently; read it again"),
    "package_not_found": ("本车场没有套餐 {package_id}", "no package with id {package_id!r} in this lot"),
    "invalid_package": ("套餐设置有误", "the package is not valid"),
    "package_duration": ("套餐时长应为 1 到 {most}", "a duration in {unit} must be 1..{most}"),
    "package_name": ("请填写套餐名称", "a package needs a name"),
    "price_fen": ("价格应为整数（单位：分）", "price must be an integer number of fen"),
    "price_positive": ("价格必须大于 0", "price must be positive"),
    # --- cards
    "card_not_found": ("找不到月卡 {card_id}", "no card with id {card_id!r}"),
    "card_changed": ("月卡刚被修改，请刷新后重试", "card {card_id!r} was changed concurrently; read it again"),
    "card_exists": ("月卡 {card_id} 已存在", "card {card_id!r} exists already"),
    "invalid_card": ("月卡数据有误", "the card is not valid"),
    "card_plates": ("每张月卡绑定 1 到 {most} 个车牌", "a card holds 1 to {most} plates"),
    "plate_twice": ("同一车牌在月卡上出现了两次", "a plate appears twice on the card"),
    "period_half": ("开始日期和结束日期要同时填写", "valid_from and valid_until are set together"),
    "date_range": ("日期应在 {first} 到 {last} 之间", "a date is between {first} and {last}"),
    "period_reversed": ("开始日期晚于结束日期", "valid_from is after valid_until"),
    "period_missing": ("这张月卡需要有效期", "a {state} card needs a validity period"),
    "paused_stored": ("暂停状态由暂停记录决定，不能直接保存", "paused is read from the card's pauses, never stored"),
    "inside_not_on_card": ("场内车辆不在这张月卡上", "the plate inside is not on the card"),
    "too_many_plates": ("{lot} 的月卡最多绑定 {most} 个车牌", "a card at {lot} carries at most {most} plate(s)"),
    "card_cancelled": ("这张月卡已注销", "this card is cancelled"),
    "card_claimed": ("月卡 {card_id} 已被认领", "card {card_id!r} was claimed already"),
    "claim_code_invalid": (
        "认领码不正确，请核对物业打印的认领单",
        "no card waits for this claim code; check the slip the office printed",
    ),
    "slip_replaced": (
        "这张认领单已被后来打印的认领单取代：请重新打开月卡后再打印",
        "a later slip replaced this form's slip: open the card again to print another",
    ),
    "claim_code_locked": (
        "这张月卡的认领码输错次数过多，已失效：请到物业处重新打印认领单",
        "too many wrong tries of this card's claim code: ask the office for a new slip",
    ),
    "reason_for_history": ("请填写原因：月卡历史会记录", "say why: the card's history keeps the reason"),
    "fix_nothing": ("请填写新的结束日期或持卡人", "a fix sets valid_until or holder"),
    "fix_expired": (
        "月卡按结束日期自动过期：请修改结束日期",
        "a card expires by its end date: set valid_until instead",
    ),
    "fix_one_thing": (
        "一次只能注销/恢复或修改日期、持卡人中的一项",
        "one form changes the state or the dates, not both",
    ),
    # --- plates and vehicles
    "invalid_plate": ("车牌号不正确", "the plate is not valid"),
    "plate_empty": ("请填写车牌号", "the plate is empty"),
    "plate_province": (
        "车牌应以省份简称开头（如 粤、京），而不是“{found}”",
        "a plate starts with a province character such as 粤 or 京, not {found!r}",
    ),
    "plate_authority": (
        "车牌第二位应为发牌机关字母（A-Z）",
        "the second character is the issuing authority's letter (A-Z)",
    ),
    "plate_letter": (
        "车牌不使用字母 {found}，是不是 {meant}？",
        "plates never use the letter {found}; did you mean {meant}?",
    ),
    "plate_length": (
        "车牌应为 7 位（新能源 8 位），现在是 {length} 位",
        "a plate has 7 characters (8 for new-energy cars), not {length}",
    ),
    "plate_serial": (
        "车牌号码中不能有“{found}”（只能是字母 A-Z 和数字）",
        "{found!r} cannot appear in a plate's serial (letters A-Z and digits only)",
    ),
    "plate_suffix": (
        "车牌最后一位应为字母、数字或 {suffixes} 之一，而不是“{found}”",
        "a plate ends with a letter, a digit or one of {suffixes}, not {found!r}",
    ),
    "plate_new_energy": (
        "新能源车牌（8 位）第三位为 D 或 F，后接字母或数字和 4 位数字；或 5 位数字后接 D 或 F",
        "an 8-character (new-energy) plate has D or F third followed by a letter or digit "
        "and 4 digits, "
        "or 5 digits followed by D or F",
    ),
    "vehicle_not_found": ("你的车辆中没有这个车牌", "no such vehicle among yours"),
    "too_many_vehicles": (
        "每位车主最多登记 {most} 辆车，请先删除一辆",
        "an owner registers at most {most} vehicles; remove one first",
    ),
    "plate_on_card": (
        "{plate} 正绑定在月卡 {card_id} 上，请先更换月卡的车牌",
        "{plate} is on card {card_id}; change the card's plate first",
    ),
    "plate_taken": ("{plate} 已绑定在本车场的另一张月卡上", "{plate} is already on another card in this lot"),
    "plate_change_refused": ("暂时不能更换车牌", "the plate cannot be changed now"),
    "plate_change_office": ("{lot} 只能到物业处更换车牌", "{lot} changes plates at the property office only"),
    "plate_not_on_card": ("{plate} 不在这张月卡上", "{plate} is not on this card"),
    "plate_already_on_card": ("{plate} 已在这张月卡上", "{plate} is already on this card"),
    "plate_changes_used": (
        "{lot} 每月可换牌 {allowance} 次，本月已用完，请下月再试",
        "{lot} allows {allowance} plate change(s) a month; try again next month",
    ),
    "last_plate": ("月卡至少保留一个车牌，请改用更换车牌", "a card keeps at least one plate; swap it instead"),
    # --- renewals, orders, payments
    "renewal_not_allowed": ("该套餐现在不能线上购买", "this package cannot be bought online now"),
    "exceeds_max_renewal_date": (
        "超出最长可续期日期 {limit}",
        "beyond the latest end date an online renewal may reach ({limit})",
    ),
    "package_disabled": ("该套餐已停售", "this package is not on sale"),
    "online_renewal_disabled": (
        "本车场暂不支持线上续费，请到物业处办理",
        "this lot does not renew online; renew at the property office",
    ),
    "order_not_found": ("找不到订单 {order_id}", "no order with id {order_id!r}"),
    "unpaid_order_exists": (
        "这张月卡还有待支付的订单 {order_id}：请先支付或取消",
        "order {order_id} for this card is still waiting for payment; pay or cancel it first",
    ),
    # --- property fees
    "community_not_found": ("没有找到小区 {id}", "community {id!r} was not found"),
    "unit_not_found": ("没有找到房屋 {id}", "unit {id!r} was not found"),
    "fee_item_not_found": ("没有找到收费项目 {id}", "fee item {id!r} was not found"),
    "meter_not_found": ("没有找到水电表 {id}", "meter {id!r} was not found"),
    "bill_run_not_found": ("没有找到出账批次 {id}", "bill run {id!r} was not found"),
    "run_still_drafting": (
        "账单还在生成中（已完成 {drafted}/{chunks} 部分），全部生成后才能发布",
        "the run is still being drafted ({drafted} of {chunks} parts done); publish it once every part is drafted",
    ),
    "bill_not_found": ("没有找到账单 {id}", "bill {id!r} was not found"),
    "vacancy_not_found": ("没有找到空置申请 {id}", "vacancy {id!r} was not found"),
    "bill_not_payable": (
        "账单 {bill_id} 不是待缴状态（已缴、已作废、已退款或未发布）",
        "bill {bill_id} is not unpaid (paid, cancelled, refunded or not published)",
    ),
    "bill_in_order": (
        "账单 {bill_id} 在另一笔待支付的订单中：请先支付或等订单关闭",
        "bill {bill_id} is in another order waiting for payment; pay it or wait until it closes",
    ),
    "bill_changed": ("账单 {bill_id} 刚被修改，请刷新后重试", "bill {bill_id} changed meanwhile; read it again"),
    "balance_too_low": ("房屋 {unit_id} 的预存余额不足", "the prepaid balance of unit {unit_id} is too low"),
    "billing_exists": ("{id} 已经存在", "{id!r} exists already"),
    "bills_empty": ("请选择要缴的账单", "choose the bills to pay"),
    "bills_one_community": ("一次只能缴同一个小区的账单", "bills paid together must be of one community"),
    "bill_not_paid": ("只有已缴的账单可以退款", "only a paid bill can be refunded"),
    "bill_not_open": ("已缴或已退款的账单不能作废", "a paid or refunded bill cannot be cancelled"),
    "no_late_fee": ("这张账单没有滞纳金", "this bill has no late fee"),
    "period": ("账期应为 年-月，例如 2027-01", "period must be a month like 2027-01"),
    "decimal": (
        "{name}应为非负的数字，例如 88.50（最多两位小数）",
        '{field} must be a non-negative decimal string like "88.50" (at most two decimals)',
    ),
    "rate": (
        '{field} 应为 0 到 1 之间的数字字符串，例如 "0.0005"',
        '{field} must be a decimal string from 0 to 1 like "0.0005"',
    ),
    "reading_below_last": (
        "读数低于上次读数 {last}：如换表请选“换表”并填写旧表末次读数，如表盘走满一圈请选“翻转”",
        "the reading is below the last one ({last}); mark it a replacement (with the old meter's "
        "final reading) or a rollover",
    ),
    "replacement_needs_old_final": (
        "换表需填写旧表末次读数，且不低于上次读数 {last}",
        "a replacement needs the old meter's final reading, not below the last ({last})",
    ),
    "not_a_rollover": (
        "读数不低于上次读数 {last}，不是翻转",
        "the reading is not below the last ({last}): not a rollover",
    ),
    "reading_kind": ("读数类型应为 normal、replacement 或 rollover", "kind must be normal, replacement or rollover"),
    "reading_date": ("抄表日期 {date} 应晚于上次抄表日期 {last}", "{date} is not after the last reading's date {last}"),
    "reading_future": ("抄表日期 {date} 还没到", "{date} is in the future"),
    "rollover_digits": (
        "这块表没有登记表盘位数，不能按“翻转”计算：请先在水电表中登记位数",
        "the meter's digits are not known, so a rollover cannot be counted; record them first",
    ),
    "bands": ("阶梯用量应从低到高，最后一档不设上限（up_to 为 null）", "bands must rise, the last with up_to null"),
    "fee_kind_fields": ("{kind_zh}收费项目需要填写{fields_zh}", "a {kind} fee item needs {fields}"),
    "run_items": ("请选择要出账的收费项目", "choose the fee items to bill"),
    "meter_of_what": (
        "请二选一：分户表填写所属房屋（unit_id），公摊表填写分摊方式（shared）",
        "a meter is either a unit's (unit_id) or a shared one (shared), not both",
    ),
    "vacancy_dates": ("空置结束日期不能早于开始日期", "a vacancy cannot end before it starts"),
    "vacancy_decided": ("这条空置申请已经处理过了", "this vacancy was decided already"),
    "shared_meter": ("公摊表需要填写分摊的房屋", "a shared meter needs the units it is split over"),
    "bill_channel": (
        "这里不能用这种支付方式：车主用 wechat 或 alipay，物业前台用 cash、pos 或 transfer",
        "not a channel for this: owners pay with wechat or alipay, the office with cash, pos or transfer",
    ),
    "prepay_amount": ("预存金额应为 1 到 {most} 分", "a prepayment is 1 to {most} fen"),
    "unit_import_header": (
        "第一行应为列名：房屋编号、楼栋、房号、建筑面积（必填），状态、业主电话（可选）",
        "the first row names the columns: id, building, number, area (required), state, phones",
    ),
    "reading_import_header": (
        "第一行应为列名：表号、抄表日期、读数（必填），类型、旧表末次读数（可选）",
        "the first row names the columns: meter_id, date, reading (required), kind, old_final",
    ),
    "unit_state": (
        "房屋状态应为 已入住、空置 或 未交付（occupied、vacant、undelivered）：{state}",
        "state must be occupied, vacant or undelivered: {state}",
    ),
    "reading_day": ("抄表日期应为日期，例如 2027-01-31 或 2027/1/31", "{field} must be a date like 2027-01-31"),
    "bill_state_filter": ("state 应为 unpaid 或 paid", "state must be unpaid or paid"),
    "bill_order_not_found": ("没有找到订单 {id}", "order {id!r} was not found"),
    "reason_for_audit": ("请填写原因：操作记录会保存", "say why: the audit keeps the reason"),
    "phones": ("业主电话应为 11 位手机号：{phone}", "not a mobile number: {phone}"),
    "order_settled": ("订单 {order_id} 已经完成支付", "order {order_id!r} is already settled"),
    "order_key_used": ("这次购买已经下过单了", "an order was made with this idempotency key already"),
    "order_paid": (
        "订单 {order_id} 已支付，不能取消：月卡已续期至 {valid_until}",
        "order {order_id} is paid and cannot be cancelled; the card now runs until {valid_until}",
    ),
    "order_refunded": ("订单 {order_id} 已退款，不能取消", "order {order_id} was refunded; there is nothing to cancel"),
    "page_limit": ("limit 应为 1 到 {most} 之间的整数", "limit is a whole number from 1 to {most}"),
    "statement_not_out": (
        "{day} 的对账单要到次日 10:00（北京时间）后才出，请之后再对账",
        "the statements of {day} are out after 10:00 the next day (Beijing time): reconcile it then",
    ),
    "page_cursor": (
        "cursor 无效：请原样传回上一页的 next_cursor",
        "the cursor is not valid; send back the previous page's next_cursor as it was",
    ),
    "payment_rejected": ("支付通知无效", "the payment notice was rejected"),
    "payment_unavailable": (
        "支付服务暂时没有响应，请稍后再试",
        "the payment provider did not answer; try again in a moment",
    ),
    "notice_unknown_key": ("支付通知的签名证书未知", "notification signed with an unknown key"),
    "notice_stale": ("支付通知的时间戳不在 5 分钟内", "notification timestamp is not within 5 minutes"),
    "notice_time": ("支付通知缺少发送时间或格式不对", "the notification has no valid sending time"),
    "notice_too_old": (
        "支付通知的发送时间早于 {hours} 小时前，超出支付宝的重发期限",
        "the notification was sent more than {hours} hours ago, beyond Alipay's resending window",
    ),
    "notice_from_future": (
        "支付通知的发送时间比服务器时间晚 {minutes} 分钟以上",
        "the notification's sending time is over {minutes} minutes ahead of our clock",
    ),
    "notice_signature": ("支付通知的签名或加密校验失败", "notification signature or encryption does not verify"),
    "notice_merchant": ("支付通知不属于本商户或应用", "notification is for another merchant or app"),
    "notice_refund_status": (
        "退款通知的类型或退款状态 {found} 无法识别",
        "the refund notification's event type or status {found!r} is not one we know",
    ),
    "notice_amount": (
        "支付通知的金额 {found} 不是两位小数的元",
        "amount {found!r} is not a yuan amount with two decimals",
    ),
    "notice_unknown_order": ("支付通知对应的订单不存在", "payment for an unknown order"),
    "notice_amount_differs": (
        "支付金额 {paid} 分与订单金额 {due} 分不一致",
        "amount {paid} differs from the order's {due}",
    ),
    "offline_channel": ("线下收款方式为现金、刷卡或转账", "offline payments are cash, pos or transfer"),
    "refund_unpaid": ("只有已支付的订单可以退款", "order {order_id} is {state}; only a paid order can be refunded"),
    # --- pauses
    "invalid_pause": ("暂停日期不正确", "the pause's dates are not valid"),
    "pause_refused": ("现在不能暂停这张月卡", "this card cannot be paused now"),
    "pause_not_found": ("这张月卡上没有暂停 {pause_id}", "no pause with id {pause_id!r} on this card"),
    "pause_not_allowed": ("{lot} 不支持暂停月卡", "{lot} does not allow pausing cards"),
    "pause_too_early": ("暂停最早从明天（{earliest}）开始", "a pause starts tomorrow ({earliest}) at the earliest"),
    "pause_reversed": ("暂停的结束日期早于开始日期", "the pause ends before it starts"),
    "pause_not_active": ("只有有效的月卡可以暂停", "only an active card can be paused; this one is {state}"),
    "pause_after_end": (
        "月卡在 {end} 到期，暂停必须在此之前开始",
        "the card ends on {end}; a pause must start by then",
    ),
    "pause_open": (
        "这张月卡已有计划中或进行中的暂停：请先恢复或撤回",
        "the card already has a pause planned or running; resume or withdraw it first",
    ),
    "pause_length": (
        "本车场每次暂停 {least} 到 {most} 天，不能是 {days} 天",
        "a pause here lasts {least} to {most} days, not {days}",
    ),
    "pauses_used": (
        "这张月卡 {year} 年已暂停 {taken} 次，{lot} 每年最多 {allowed} 次",
        "the card was paused {taken} time(s) in {year}; {lot} allows {allowed}",
    ),
    "pause_decided": ("这次暂停已处理过，不能再审批", "this pause is {state}; it can no longer be decided"),
    "pause_missed": (
        "这次暂停原定 {starts} 开始，已过期：请车主重新申请",
        "the pause was to start on {starts}; the owner must ask again",
    ),
    # --- applications
    "application_not_found": ("找不到申请 {application_id}", "no application with id {application_id!r}"),
    "application_closed": ("这份申请已处理，不能再更改", "this application is {state}; it cannot become {to}"),
    "application_approved": (
        "这份申请已通过：请改为注销对应的月卡",
        "this application was approved; cancel its card instead",
    ),
    "application_decided": ("这份申请刚被其他人处理了", "this application was decided meanwhile"),
    "application_id_long": (
        "申请编号最多 59 个字符",
        "an application id is at most 59 characters (its card's id adds 5)",
    ),
    "application_plates": ("申请需填写 1 到 {most} 个不同的车牌", "an application names 1 to {most} different plates"),
    "note_long": ("备注最多 {most} 个字", "the note is at most {most} characters"),
    "reason_for_owner": ("请填写原因：车主会看到", "say why: the owner sees the reason"),
    "approve_or_reject": ("只能通过（approve）或拒绝（reject）", "approve or reject"),
    # --- invoices and receipts
    "invalid_tax_id": ("纳税人识别号不正确", "the tax id is not valid"),
    "tax_id_length": (
        "统一社会信用代码为 18 位，这个是 {length} 位",
        "a unified social credit code has 18 characters; this one has {length}",
    ),
    "tax_id_character": (
        "第 {position} 位（{character}）不能出现在统一社会信用代码中：只用数字和除 I、O、Z、S、V 外的大写字母",
        "character {position} ({character!r}) cannot appear in a credit code: it uses digits and "
        "capital letters except I, O, Z, S and V",
    ),
    "tax_id_department": (
        "第 1 位（{character}）不是登记管理部门代码",
        "character 1 ({character!r}) is not a registering department's code",
    ),
    "tax_id_division": (
        "第 3 到 8 位（{division}）是行政区划码：应为 6 位数字",
        "characters 3 to 8 ({division}) are the administrative division code: six digits",
    ),
    "tax_id_check": (
        "校验位（第 18 位）应为 {expected}，不是 {found}：有字符输错了",
        "the check character (the 18th) should be {expected!r}, not {found!r}: a character was mistyped",
    ),
    "invalid_invoice": ("发票信息有误", "the invoice details are not valid"),
    "invoice_number": ("发票号码只能是 1 到 32 位字母或数字", "an invoice number is 1 to 32 letters or digits"),
    "invoice_title": ("发票抬头为 1 到 100 个字", "the invoice title is 1 to 100 characters"),
    "invoice_email": (
        "邮箱地址不正确：发票会发送到这个邮箱",
        "the email address is not valid; the invoice is sent there",
    ),
    "invoice_tax_id_missing": (
        "企业发票需要填写统一社会信用代码（税号）",
        "a company invoice needs the company's unified social credit code (tax_id)",
    ),
    "invoice_refused": ("这张发票不能执行此操作", "the invoice is {state}; it cannot become {to}"),
    "invoice_refunded": ("该订单已退款，不能开票", "this order was refunded; there is nothing to invoice"),
    "invoice_prepayment": (
        "预存款不单独开票：用预存款缴纳的账单可到物业服务中心开票",
        "a prepayment is not invoiced itself; the bills it pays are, at the office",
    ),
    "invoice_no_lot": (
        "该小区暂不能在线开票，请到物业服务中心开具",
        "this community invoices at its office, not online",
    ),
    "invoice_unpaid": ("只有已支付的订单可以开票", "only a paid order can be invoiced"),
    "invoice_already_requested": (
        "这笔订单已申请过发票（抬头：{title}），每笔订单只开一张发票，信息不能更改",
        "an invoice was requested for this order already (title {title}); an order has "
        "one invoice and its details cannot change",
    ),
    "invoice_not_found": ("订单 {order_id} 没有申请过发票", "no invoice was requested for order {order_id!r}"),
    "invoice_provider_unavailable": (
        "开票服务暂时没有响应，恢复后会自动开票",
        "the invoice service did not answer; the invoice will be issued when it does",
    ),
    "manual_invoice_fields": (
        "请填写发票号码、开票日期并上传 PDF（表单字段 number、issued_on、pdf）",
        "send the invoice number and its PDF (multipart fields number, issued_on, pdf)",
    ),
    "invoice_pdf": ("文件不是 PDF（或超过 {mb} MB）", "the file is not a PDF (or over {mb} MB)"),
    "issued_on_date": ("开票日期格式应为 YYYY-MM-DD", "issued_on is a date, YYYY-MM-DD"),
    "receipt_not_found": ("找不到收据 {receipt_id}", "no receipt {receipt_id!r}"),
    "no_receipt_signing": ("本系统未启用收据签名", "this deployment signs no receipts"),
    "receipt_payload": (
        "请以 ?payload= 发送收据二维码内容（最多 {most} 个字符）",
        "send the receipt's QR code text as ?payload= (at most {most} characters)",
    ),
    # --- reports, imports
    "report_period": (
        "报表周期为某一天（2026-11-23）或某个月（2026-11）",
        "a report period is a day (2026-11-23) or a month (2026-11)",
    ),
    "import_file_field": (
        "请以表单字段 file 上传 CSV 或 XLSX 文件",
        "send the file as multipart field `file` (CSV or XLSX)",
    ),
    "csv_encoding": ("CSV 文件编码既不是 UTF-8 也不是 GB18030", "the CSV is neither UTF-8 nor GB18030"),
    "import_header": (
        "第一行应为列名：车牌、结束日期（必填），开始日期、姓名、手机（可选）",
        "the first row names the columns: plates and valid_until (required), valid_from, holder, phone",
    ),
    "import_too_many_rows": (
        "一个文件最多 {most} 行，请分成几个文件导入",
        "a file holds at most {most} rows: split it",
    ),
    "xlsx_broken": (
        "无法读取这个 XLSX 文件，请用 Excel 另存为 .xlsx 或 .csv 后重试",
        "this XLSX file cannot be read: save it again as .xlsx or .csv",
    ),
    "import_batch": ("每次最多发送 {most} 行", "send at most {most} rows at a time"),
    "import_kept_changing": (
        "导入过程中车场数据一直在变化：请重新导入该文件（不会重复导入）",
        "the lot kept changing during the import; run the file again (nothing is imported twice)",
    ),
    "import_no_plate": ("缺少车牌", "no plate"),
    "import_no_end": ("缺少结束日期", "valid_until is missing"),
    "import_valid_from": (
        "开始日期“{found}”不是日期（如 2026-11-01、2026/11/1、2026年11月1日）",
        "valid_from {found!r} is not a date (2026-11-01, 2026/11/1, 2026年11月1日)",
    ),
    "import_valid_until": (
        "结束日期“{found}”不是日期（如 2026-11-01、2026/11/1、2026年11月1日）",
        "valid_until {found!r} is not a date (2026-11-01, 2026/11/1, 2026年11月1日)",
    ),
    # --- gates
    "gate_clock_skew": (
        "道闸时钟偏差超过 {window} 秒：请按应答中的 server_time 校正时钟后重新签名",
        "the gate's clock is more than {window} s off: correct it by server_time in this answer and sign again",
    ),
    "gate_auth": ("道闸认证失败", "gate authentication failed: X-Gate-Id, X-Gate-Timestamp, X-Gate-Signature"),
    "sync_page": ("since 应不小于 0，limit 应在 1 到 {most} 之间", "since must be 0 or more and limit 1..{most}"),
    "since_limit_numbers": ("since 和 limit 应为整数", "since and limit are whole numbers"),
    "no_gate_signing": ("本系统未启用道闸消息签名", "this deployment signs no gate messages"),
    "report_version": ("版本号应为整数", "version must be a whole number"),
    "report_field": ("回报缺少字段 {field}", "an applied report needs {field}"),
    "visit_changed": ("车辆进出记录刚被修改，请重试", "the lot's passages changed meanwhile; try again"),
    "visit_not_found": ("没有找到停车记录 {what}", "no visit {what!r} was found"),
    "visit_in_order": (
        "该次停车有一笔待支付的订单：请先支付或稍后再试",
        "visit {visit_id} has an order waiting for payment",
    ),
    "visit_paid": ("停车费已缴清，请在规定时间内离场", "this visit is paid: leave within the leave window"),
    "guest_limit": ("本月访客登记已达上限（{most} 次）", "you registered the most guests this month ({most})"),
    "parking_plate": ("车牌号无效", "the plate is not valid"),
    "spaces_counts": (
        "车位数应为不小于 0 的整数，访客车位不超过总车位",
        "spaces are whole numbers >= 0, visitor spaces at most the total",
    ),
    "pass_until": ("截止日期不能早于今天", "the end date is not before today"),
    "guest_day": ("访客日期应为今天起 30 天内", "a guest's day is today or within 30 days"),
    "guest_not_allowed": (
        "只有本车场的月卡车主或小区业主可以登记访客",
        "only a card holder of the lot or an owner of a unit of its community registers guests",
    ),
    "guest_plate_registered": (
        "该车牌已由他人登记为其他日期的访客",
        "the plate is registered as a guest for another day",
    ),
    "pass_not_found": ("{plate} 没有生效中的免费放行或黑名单记录", "{plate} has no exemption or blacklisting in force"),
    "visit_order_not_found": ("没有找到停车缴费订单 {what}", "no visit order {what!r} was found"),
    "visitor_fee_past": ("生效日期不能早于今天", "a rule starts today or later"),
    "visitor_fee_in_force": (
        "已生效的收费规则不能修改：请设置从明天起的新规则",
        "a rule in force is never edited: add one from tomorrow",
    ),
    "visitor_fee_night": ("夜间时段的开始和结束不能相同", "the night window starts and ends at different times"),
    "passage_at_future": (
        "通行时间晚于服务器时间 {most} 秒以上：请校准道闸时钟",
        "the passage's time is more than {most} s ahead of the server's: set the gate's clock",
    ),
    "passage_at_old": ("通行记录超过 {days} 天，不再接收", "a passage older than {days} days is not taken"),
    "slot_full": ("该时段已约满，请选择其他时段", "the slot {slot} is fully booked"),
    "booking_changed": ("预约刚被修改，请刷新后重试", "booking {booking_id} changed meanwhile; read it again"),
    "booking_not_found": ("没有找到预约 {booking_id}", "no booking {booking_id!r} was found"),
    "booking_slot": ("请选择可预约的上门时段", "choose one of the slots that can be booked"),
    "booking_too_late": ("已过修改或取消的截止时间", "it is past the time to change or cancel it"),
    "booking_collector": ("请选择本公司的收费员账号", "choose an account of the company as the collector"),
    "collection_hours": ("上门时段无效：结束时间应晚于开始时间", "a window ends after it starts"),
    "visit_day": ("日期无法识别：{value}（例如 2026-12-01）", "not a day: {value} (e.g. 2026-12-01)"),
    "door_check_in": ("定位信息无效，请重新签到", "the check-in's place or accuracy is not valid"),
    "door_signature": ("请业主在屏幕上签名", "the owner's signature (a PNG image) is missing or not valid"),
    "door_cash_amount": (
        "现金金额应等于应收 {due} 分，找零由收费员处理",
        "cash must be exactly what is due ({due} fen); change is the collector's business",
    ),
    "door_qr_channel": ("收款码只能选择微信或支付宝", "a QR code is WeChat Pay or Alipay"),
    "door_reason": ("请填写未收费的原因（如：不在家）", "say why nothing was paid (not at home, ...)"),
    "handover_amount": ("交接金额无效", "the counted amount is not valid"),
    "custody_changed": ("收费员手中现金刚有变动，请重新清点", "the collector's cash moved meanwhile; count again"),
}


def text(key: str, lang: str, params: Mapping[str, object]) -> str:
    """The message for `key` in `lang` ("en", else zh-CN); an unknown key is shown as it is."""
    zh, en = MESSAGES.get(key, (key, key))
    template = en if lang == "en" else zh
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        return template
