// ParkPass admin page: plain JS against /admin/api/v1 (no build step, works offline from the function).
// Every form that changes money or state sends ONE idempotency key, made when the form opens (not per
// click): a double click or a retry of the same form is done once by the server.
'use strict'
const API = '/admin/api/v1'
const $ = (sel) => document.querySelector(sel)
const state = { token: sessionStorage.getItem('parkpass-admin') || '', lot: '', lots: [], role: '', email: '', card: null, q: '', keys: {}, dialog: null, community: '', communities: [], items: {}, units: {}, meters: [], run: null, collectionPeriod: '', billsPeriodSet: false, doorCommunity: '', doorUnits: {} }
const yuan = (fen) => (fen / 100).toFixed(2)
const yuanText = (fen) => `${yuan(fen)} 元`
const STATES = { active: '有效', paused: '暂停中', expired: '已过期', cancelled: '已注销', pending: '待付款', submitted: '待审批', waitlisted: '候补中' }
const CHANNELS = { wechat: '微信支付', alipay: '支付宝', cash: '现金', pos: '刷卡', transfer: '转账' }
const REMINDER_STATES = { pending: '待发送', sending: '发送中', sent: '已发送', skipped: '已跳过', failed: '发送失败' }
const ROLES = { tenant_admin: '物业管理员', lot_manager: '车场经理', cashier: '收费员', collector: '上门收费员' }

function newKey() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID()
  return `k${Date.now().toString(36)}${Math.random().toString(36).slice(2, 14)}`
}

async function call(method, path, body, raw) {
  // The page is Chinese: its messages too, whatever language the browser prefers.
  const headers = { Authorization: `Bearer ${state.token}`, 'Accept-Language': 'zh-CN' }
  let payload = body
  if (body && !(body instanceof FormData)) { headers['Content-Type'] = 'application/json'; payload = JSON.stringify(body) }
  let res
  try {
    res = await fetch(API + path, { method, headers, body: payload })
  } catch (e) {
    throw new Error('网络连接失败，请检查网络后重试（同一表单重试不会重复操作）')
  }
  if (res.status === 401 && path !== '/auth/login') { logout(); throw new Error('请重新登录') }
  if (raw) return res
  let data
  try { data = await res.json() } catch (e) { data = null }  // a gateway's page, not ours
  if (!res.ok || data === null) throw new Error(data && data.error ? data.error.message : '服务器暂时无法处理，请稍后再试')
  return data
}

function show(error) { $('#error').textContent = error ? String(error.message || error) : '' }
function notify(text) { $('#notice').textContent = text || '' }
function moveOn() { show(); notify() }
function cell(text) { const td = document.createElement('td'); td.textContent = text == null ? '' : text; return td }
function button(label, onClick, cls) {
  const b = document.createElement('button'); b.type = 'button'; b.textContent = label
  if (cls) b.className = cls
  b.addEventListener('click', () => busy(b, onClick))
  return b
}
async function busy(control, work) {
  // One request at a time per button or form: a second click while the first is on its way does nothing.
  if (control.dataset.busy) return
  control.dataset.busy = '1'; control.disabled = true
  try { show(); await work() } catch (e) { show(e) } finally { delete control.dataset.busy; control.disabled = false }
}
function fill(table, rows, render) {
  // Each cell keeps its column's name: on a phone a row is shown as a small card of "name：value" lines.
  const names = [...document.querySelectorAll(`${table} thead th`)].map((th) => th.textContent)
  const body = $(table + ' tbody'); body.replaceChildren()
  for (const row of rows) {
    const tr = document.createElement('tr')
    render(row).forEach((c, i) => { const td = c && c.nodeType ? c : cell(c); td.dataset.label = names[i] || ''; tr.append(td) })
    body.append(tr)
  }
}
function tdWith(...nodes) { const td = document.createElement('td'); td.className = 'ops'; td.append(...nodes); return td }
function can(what) { return what === 'staff' ? state.role === 'tenant_admin' : state.role !== 'cashier' }
function lotName(id) { const lot = state.lots.find((l) => l.id === id); return lot ? lot.name : id }

// A dialog is one opened form: its key is made here, once, and every submit of it sends that key.
function openForm({ title, note, fields, submit, run }) {
  state.dialog = { key: newKey(), run }
  $('#dialog-title').textContent = title
  $('#dialog-note').textContent = note || ''
  $('#dialog-error').textContent = ''
  $('#dialog-fields').replaceChildren(...fields.map(field))
  $('#dialog-submit').textContent = submit || '确定'; $('#dialog-submit').disabled = false; $('#dialog-submit').hidden = false
  $('#dialog-cancel').textContent = '取消'
  $('#dialog').showModal()
  const first = $('#dialog-fields input, #dialog-fields select'); if (first) first.focus()
}
function field(f) {
  if (f.type === 'bands') return bandEditor(f.label, f.bands || [])
  const label = document.createElement('label'); label.append(`${f.label} `)
  let input
  if (f.type === 'select') {
    input = document.createElement('select')
    for (const [value, text] of f.options) { const o = document.createElement('option'); o.value = value; o.textContent = text; input.append(o) }
  } else if (f.type === 'lots') {
    const set = document.createElement('fieldset'); set.className = 'lots'
    const legend = document.createElement('legend'); legend.textContent = f.label; set.append(legend)
    for (const lot of state.lots) {
      const l = document.createElement('label'); const box = document.createElement('input')
      box.type = 'checkbox'; box.name = f.name; box.value = lot.id; box.checked = (f.value || []).includes(lot.id)
      l.append(box, ` ${lot.name}`); set.append(l)
    }
    return set
  } else {
    input = document.createElement('input'); input.type = f.type || 'text'
    if (f.accept) input.accept = f.accept
    if (f.placeholder) input.placeholder = f.placeholder
    if (f.list) input.setAttribute('list', f.list)
    if (f.min != null) input.min = f.min
    if (f.maxlength) input.maxLength = f.maxlength
  }
  input.name = f.name; if (f.required) input.required = true
  if (f.value != null && f.type !== 'file') input.value = f.value
  label.append(input)
  return label
}
async function submitDialog(event) {
  event.preventDefault()
  const d = state.dialog; const submitter = $('#dialog-submit')
  if (!d || submitter.dataset.busy) return
  submitter.dataset.busy = '1'; submitter.disabled = true
  let done = null
  try {
    done = await d.run(new FormData($('#dialog-form')), d.key)
    state.dialog = null
    if (done && done.nodeType) finished(done); else $('#dialog').close()
  } catch (e) { $('#dialog-error').textContent = e.message } finally { delete submitter.dataset.busy; submitter.disabled = !!(done && done.nodeType) }
}
// A form whose answer has more to do (a receipt to print) shows it in place of its fields. Its key is spent: 确定
// stays where it was, greyed, so the second click of a double click lands on nothing; 关闭 closes the dialog.
function finished(node) {
  $('#dialog-note').textContent = ''
  $('#dialog-fields').replaceChildren(node)
  $('#dialog-submit').textContent = '已完成'
  $('#dialog-cancel').textContent = '关闭'
}
function closeDialog() { state.dialog = null; $('#dialog').close() }
// A dialog that only shows something (a payment's evidence): no form to send, only 关闭.
function look(title, node) {
  state.dialog = null
  $('#dialog-title').textContent = title; $('#dialog-note').textContent = ''; $('#dialog-error').textContent = ''
  $('#dialog-fields').replaceChildren(node)
  $('#dialog-submit').hidden = true; $('#dialog-cancel').textContent = '关闭'
  $('#dialog').showModal()
}

async function login(event) {
  event.preventDefault()
  const form = new FormData(event.target)
  try {
    const { token } = await call('POST', '/auth/login', { email: form.get('email'), password: form.get('password') })
    state.token = token; sessionStorage.setItem('parkpass-admin', token); $('#login-error').textContent = ''
    await start()
  } catch (e) { $('#login-error').textContent = e.message }
}

function logout() { state.token = ''; sessionStorage.removeItem('parkpass-admin'); $('#app').hidden = true; $('#login').hidden = false }

// 退出登录: the server ends every session of the account (each of its tokens stops working), then the page
// forgets its own; offline, the page forgets it anyway.
async function signOut() {
  const headers = { Authorization: `Bearer ${state.token}`, 'Accept-Language': 'zh-CN' }
  try { if (state.token) await fetch(API + '/auth/logout', { method: 'POST', headers }) } catch (e) { /* offline */ }
  logout()
}

async function start() {
  const me = await call('GET', '/me')
  if (me.role === 'collector') { location.href = '/collect/'; return }  // a collector's page is the phone's
  state.lots = me.lots; state.role = me.role; state.email = me.email
  $('#who').textContent = `${me.email}（${me.role_label || ROLES[me.role] || ''}）`
  const select = $('#lot'); select.replaceChildren()
  for (const lot of me.lots) { const o = document.createElement('option'); o.value = lot.id; o.textContent = lot.name; select.append(o) }
  state.lot = me.lots.length ? me.lots[0].id : ''
  for (const b of document.querySelectorAll('[data-needs]')) b.hidden = !can(b.dataset.needs)
  for (const el of document.querySelectorAll('#card-actions, #fix')) el.hidden = !can('manage')
  $('#login').hidden = true; $('#app').hidden = false
  view('dashboard')
}

function view(name) {
  moveOn()
  for (const s of document.querySelectorAll('main > section')) s.hidden = s.dataset.view !== name
  for (const b of document.querySelectorAll('header nav button')) b.classList.toggle('active', b.dataset.view === name)
  const load = { dashboard, queues, cards: () => { $('#card-detail').hidden = true; state.card = null; return search('') }, settings, gates, staff, reports: () => {}, reconcile, import: () => {}, fees: feesView, parking: parkingView, door: doorView }[name]
  Promise.resolve(load()).catch(show)
}

function thisMonth() {
  // The month as the lot's clock shows it (on the 1st before 08:00 Beijing time, UTC is still in last month).
  const lot = state.lots.find((l) => l.id === state.lot)
  const zone = (lot && lot.timezone) || 'Asia/Shanghai'
  return new Intl.DateTimeFormat('sv-SE', { timeZone: zone, year: 'numeric', month: '2-digit' }).format(new Date()).slice(0, 7)
}

async function dashboard() {
  const r = await call('GET', `/lots/${state.lot}/reports/${thisMonth()}`)
  const stats = [['本月收入（元）', yuan(r.revenue_fen)], ['缴费笔数', r.payments], ['线上占比', `${Math.round(r.online_share * 100)}%`],
    ['有效月卡', r.cards.active], ['7天内到期', r.cards.expiring_7], ['30天内到期', r.cards.expiring_30], ['已过期', r.cards.expired],
    ['同步落后的道闸', r.lagging_gates.length]]
  $('#stats').replaceChildren(...stats.map(([label, value]) => { const d = document.createElement('div'); d.className = 'stat'; d.innerHTML = '<span></span><b></b>'; d.firstChild.textContent = label; d.lastChild.textContent = value; return d }))
  drawChart(r.by_day)
  drawExpiring([['7天内到期', r.cards.expiring_7, '#d9822b'], ['30天内到期', r.cards.expiring_30, '#e8b04a'], ['已过期', r.cards.expired, '#b00020']])
}

function drawExpiring(rows) {
  const svg = $('#expiring'); svg.replaceChildren()
  const ns = 'http://www.w3.org/2000/svg'; const max = Math.max(1, ...rows.map((r) => r[1]))
  rows.forEach(([label, count, colour], i) => {
    const y = i * 34 + 6; const w = Math.round(700 * count / max)
    const name = document.createElementNS(ns, 'text'); name.setAttribute('x', 0); name.setAttribute('y', y + 18); name.textContent = label
    const bar = document.createElementNS(ns, 'rect')
    Object.entries({ x: 110, y, width: Math.max(w, 2), height: 24, fill: colour }).forEach(([k, v]) => bar.setAttribute(k, v))
    const n = document.createElementNS(ns, 'text'); n.setAttribute('x', 118 + w); n.setAttribute('y', y + 18); n.textContent = count
    svg.append(name, bar, n)
  })
}

function drawChart(byDay) {
  const svg = $('#chart'); svg.replaceChildren()
  const days = Object.keys(byDay).sort(); const max = Math.max(1, ...Object.values(byDay))
  const ns = 'http://www.w3.org/2000/svg'; const width = 1000 / Math.max(days.length, 1)
  days.forEach((day, i) => {
    const h = Math.round(180 * byDay[day] / max)
    const bar = document.createElementNS(ns, 'rect')
    Object.entries({ x: i * width + 4, y: 190 - h, width: Math.max(width - 8, 2), height: h, fill: '#1f4e79' }).forEach(([k, v]) => bar.setAttribute(k, v))
    const label = document.createElementNS(ns, 'text'); label.setAttribute('x', i * width + 4); label.setAttribute('y', 210); label.setAttribute('font-size', '11'); label.textContent = `${day.slice(5)} ${yuan(byDay[day])}元`
    svg.append(bar, label)
  })
}

// --- 待办: applications, pauses, invoices. One-click approvals carry the key of the row they were shown in.
async function queues() {
  const apps = (await call('GET', `/lots/${state.lot}/applications`)).applications
  fill('#applications', apps, (a) => {
    const key = newKey(); const plates = a.plates.join(' / ')
    return [a.id, plates, a.note, a.review_label ? `${a.state_label}（${a.review_label}）` : a.state_label, a.applied_at_local,
      tdWith(button('批准', async () => {
        const done = await call('POST', `/applications/${a.id}/approve`, { idempotency_key: key })
        notify(done.state === 'approved' ? `已批准 ${plates} 的申请` : `车场已满：${plates} 的申请进入候补（${done.state_label}）`)
        await queues()
      }), button('拒绝', () => openForm({
        title: `拒绝 ${plates} 的申请`, fields: [{ name: 'reason', label: '拒绝原因（车主可见）', required: true, maxlength: 200 }], submit: '确认拒绝',
        run: async (f, k) => { await call('POST', `/applications/${a.id}/reject`, { reason: f.get('reason'), idempotency_key: k }); notify(`已拒绝 ${plates} 的申请`); await queues() },
      }), 'secondary'))]
  })
  const paused = (await call('GET', `/lots/${state.lot}/pauses`)).cards
  fill('#pauses', paused, (c) => {
    const p = c.pauses.find((x) => x.state === 'requested'); const key = newKey(); const plates = c.plates.join(' / ')
    return [c.id, plates, `${p.from} 至 ${p.until}（${p.days} 天）`,
      tdWith(button('批准', async () => {
        await call('POST', `/cards/${c.id}/pauses/${p.id}/approve`, { idempotency_key: key }); notify(`已批准 ${plates} 的暂停`); await queues()
      }), button('拒绝', () => openForm({
        title: `拒绝 ${plates} 的暂停`, fields: [{ name: 'reason', label: '拒绝原因', required: true, maxlength: 200 }], submit: '确认拒绝',
        run: async (f, k) => { await call('POST', `/cards/${c.id}/pauses/${p.id}/reject`, { reason: f.get('reason'), idempotency_key: k }); notify(`已拒绝 ${plates} 的暂停`); await queues() },
      }), 'secondary'))]
  })
  const invoices = (await call('GET', `/lots/${state.lot}/invoices`)).invoices
  fill('#invoices', invoices, (i) => [i.order_id, i.title, i.tax_id, `${i.amount_yuan} 元`, i.requested_at_local,
    tdWith(button('开票', () => issueInvoice(i)), button('拒绝', () => openForm({
      title: `拒绝开票：${i.title}`, fields: [{ name: 'reason', label: '原因（车主可见）', required: true, maxlength: 200 }], submit: '确认拒绝',
      run: async (f, k) => { await call('POST', `/orders/${i.order_id}/invoice/reject`, { reason: f.get('reason'), idempotency_key: k }); notify(`已拒绝 ${i.title} 的开票申请`); await queues() },
    }), 'secondary'))])
}

function issueInvoice(i) {
  openForm({
    title: `手工开票：${i.title}`, note: `订单 ${i.order_id}，金额 ${i.amount_yuan} 元${i.tax_id ? `，税号 ${i.tax_id}` : ''}`, submit: '登记已开发票',
    fields: [{ name: 'number', label: '发票号码', required: true, maxlength: 32 }, { name: 'issued_on', label: '开票日期', type: 'date', required: true, value: today() },
      { name: 'pdf', label: '发票 PDF', type: 'file', accept: 'application/pdf,.pdf', required: true }],
    run: async (f, key) => {
      f.append('idempotency_key', key)
      const done = await call('POST', `/orders/${i.order_id}/invoice/issue`, f)
      notify(`已登记发票 ${done.number}（${done.state_label}）`); await queues()
    },
  })
}

function today() { const d = new Date(); d.setMinutes(d.getMinutes() - d.getTimezoneOffset()); return d.toISOString().slice(0, 10) }

// --- 月卡: search, the card, its money and its history.
async function search(q) {
  state.q = q
  $('#cards-csv').href = '#'
  const asked = state.searches = (state.searches || 0) + 1
  const rows = (await call('GET', `/lots/${state.lot}/cards?q=${encodeURIComponent(q)}`)).cards
  if (asked !== state.searches) return // a later search was sent meanwhile: a slow earlier answer must not cover it
  fill('#cards', rows, (c) => [c.id, c.plates.join(' / '), c.holder, c.owner_phone, c.valid_until, c.state_label,
    tdWith(button('详情', () => openCard(c.id), 'secondary'))])
}

async function openCard(id) {
  if (id !== state.card) {
    moveOn()
    state.keys.cash = newKey(); state.keys.fix = newKey(); state.keys.slip = newKey()
    $('#cash').hidden = false; $('#cash-done').hidden = true; $('#cash-result').replaceChildren(); $('#fix').reset()
  }
  state.card = id
  await loadCard()
}

async function loadCard() {
  const id = state.card
  const h = await call('GET', `/cards/${id}`)
  state.cardView = h
  $('#card-detail').hidden = false
  $('#detail-id').textContent = id
  const c = h.card
  $('#detail-summary').textContent = `${c.plates.join(' / ')}${c.holder ? `（${c.holder}）` : ''}，有效期 ${c.valid_from || '-'} 至 ${c.valid_until || '-'}，${c.state_label}`
  $('#cancel-card').hidden = c.state === 'cancelled'
  $('#restore-card').hidden = c.state !== 'cancelled'
  $('#claim-slip').hidden = !c.waiting_for_owner || !can('manage')
  $('#claim-note').hidden = !c.waiting_for_owner
  $('#claim-note').textContent = c.waiting_for_owner
    ? `这张月卡由物业导入，车主尚未认领${c.claim_phone_last4 ? `（手机尾号 ${c.claim_phone_last4} 的车主绑定手机后自动认领）` : ''}。`
    : ''
  fill('#history', h.changes.slice().reverse(), (e) => [e.at_local, e.actor_label, e.action_label, e.reason])
  fill('#orders', h.orders, (o) => [o.order_id, o.package, `${o.amount_yuan} 元`, o.channel_label,
    o.refund_todo ? `${o.state_label}：${o.refund_todo}` : o.state_label, o.paid_at_local, o.staff,
    tdWith(...(o.state === 'paid' ? [link('收据', `/orders/${o.order_id}/receipt.pdf`), ...(can('manage') ? [button('退款', () => refund(o), 'secondary')] : [])] : []))])
  fill('#gates', h.gates, (g) => [g.gate_id, g.version == null ? '未同步' : g.version, g.lag ? `落后 ${g.lag}` : g.state_label, g.at_local])
  const packages = (await call('GET', `/lots/${c.lot_id}/packages`)).packages.filter((p) => p.enabled)
  const chosen = $('#cash-package').value
  $('#cash-package').replaceChildren(...packages.map((p) => { const o = document.createElement('option'); o.value = p.id; o.textContent = `${p.name} ${p.price_yuan} 元`; return o }))
  if (packages.some((p) => p.id === chosen)) $('#cash-package').value = chosen
}

async function afterCardChange(text) {
  notify(text)
  await loadCard()
  await search(state.q)
}

function refund(o) {
  openForm({
    title: `退款：订单 ${o.order_id}`,
    note: `退回 ${o.amount_yuan} 元（${o.channel_label}，${o.package}）；月卡按未购买此单计算。`,
    fields: [{ name: 'reason', label: '退款原因', required: true, maxlength: 200 }], submit: '确认退款',
    run: async (f, key) => {
      const done = await call('POST', `/orders/${o.order_id}/refund`, { reason: f.get('reason'), idempotency_key: key })
      await afterCardChange(`已办理退款 ${done.amount_yuan} 元（订单 ${done.order_id}，${done.state_label}）`)
    },
  })
}

function cardState(verb, path) {
  const plates = state.cardView.card.plates.join(' / ')
  openForm({
    title: `${verb}月卡 ${plates}`,
    note: verb === '注销' ? '注销后车位让给候补第一位，车牌可被其他月卡使用。' : '恢复需要车场有空位且车牌未被占用。',
    fields: [{ name: 'reason', label: `${verb}原因`, required: true, maxlength: 200 }], submit: `确认${verb}`,
    run: async (f, key) => {
      const done = await call('POST', `/cards/${state.card}/${path}`, { reason: f.get('reason'), idempotency_key: key })
      await afterCardChange(`已${verb}月卡 ${plates}（${done.state_label}）`)
    },
  })
}

function link(label, path) {
  const b = button(label, async () => {
    const res = await call('GET', path, null, true)
    if (!res.ok) { const data = await res.json().catch(() => null); throw new Error(data && data.error ? data.error.message : '文件暂时无法打开，请稍后再试') }
    const url = URL.createObjectURL(await res.blob()); window.open(url, '_blank')
  }, 'secondary')
  b.dataset.href = path
  return b
}

async function claimSlip() {
  // One key per opened card: a second click prints the same slip (the same code), never a new one.
  const res = await call('POST', `/cards/${state.card}/claim-slip`, { idempotency_key: state.keys.slip }, true)
  if (!res.ok) throw new Error((await res.json()).error.message)
  const a = document.createElement('a'); a.href = URL.createObjectURL(await res.blob()); a.download = `认领单-${state.card}.pdf`
  document.body.append(a); a.click(); a.remove()
  notify('认领单已生成：请打印后交给车主（再次打印同一张；重新打开月卡再打印会作废旧认领码）')
  await loadCard()
}

async function download(path, name) {
  const res = await call('GET', path, null, true)
  if (!res.ok) throw new Error((await res.json()).error.message)
  const a = document.createElement('a'); a.href = URL.createObjectURL(await res.blob()); a.download = name; document.body.append(a); a.click(); a.remove()
}

async function cash(event) {
  event.preventDefault()
  const form = new FormData(event.target)
  const key = state.keys.cash  // made when the card (and this form) opened: a second click pays once
  const order = await call('POST', `/cards/${state.card}/payments`, { package_id: form.get('package_id'), channel: form.get('channel'), idempotency_key: key })
  $('#cash').hidden = true; $('#cash-done').hidden = false
  $('#cash-result').replaceChildren(`已收 ${order.amount_yuan} 元（${order.channel_label}），有效期至 ${order.new_valid_until} `, link('打印收据', `/orders/${order.order_id}/receipt.pdf`))
  await afterCardChange(`已收款 ${order.amount_yuan} 元，订单 ${order.order_id}`)
}

function cashAgain() {
  state.keys.cash = newKey()  // a new payment is a new form
  $('#cash').hidden = false; $('#cash-done').hidden = true; moveOn()
}

async function fix(event) {
  event.preventDefault()
  const form = new FormData(event.target)
  const body = { reason: form.get('reason'), idempotency_key: state.keys.fix }
  if (form.get('valid_until')) body.valid_until = form.get('valid_until')
  if (form.get('holder')) body.holder = form.get('holder')
  await call('POST', `/cards/${state.card}/fix`, body)
  event.target.reset(); state.keys.fix = newKey()
  await afterCardChange('已保存调整')
}

// --- 车场设置: the lot's policies and its packages.
const CHECKS = ['online_renewal', 'pause_allowed', 'pause_needs_approval']
const NUMBERS = ['quota', 'max_months_ahead', 'pay_within_days', 'auto_pay_within_days', 'open_applications_per_owner', 'pause_min_days', 'pause_max_days', 'pauses_per_year', 'grace_days', 'max_plates', 'plate_changes_per_month', 'reminder_hour']

async function settings() {
  const lot = await call('GET', `/lots/${state.lot}`)
  const form = $('#policy-form'); form.reset()
  for (const name of NUMBERS) form.elements[name].value = lot[name] == null ? '' : lot[name]
  for (const name of CHECKS) form.elements[name].checked = !!lot[name]
  form.elements.mode.value = lot.mode; form.elements.approval.value = lot.approval
  form.elements.max_until.value = lot.max_until || ''
  form.elements.reminder_offsets.value = lot.reminder_offsets.join(',')
  state.keys.policy = newKey()
  state.keys.package = state.keys.package || newKey()
  await packages()
}

async function savePolicy(event) {
  event.preventDefault()
  const form = event.target; const f = new FormData(form)
  const body = { idempotency_key: state.keys.policy, mode: f.get('mode'), approval: f.get('approval') }
  for (const name of NUMBERS) { const v = f.get(name); if (v !== '') body[name] = Number(v) }
  for (const name of CHECKS) body[name] = form.elements[name].checked
  if (f.get('max_until')) body.max_until = f.get('max_until'); else body.clear_max_until = true
  if (f.get('max_months_ahead') === '') body.clear_max_months_ahead = true
  const offsets = String(f.get('reminder_offsets')).split(/[,，\s]+/).filter(Boolean)
  if (offsets.some((d) => !/^\d+$/.test(d))) throw new Error('到期前提醒天数请填写数字，用逗号分隔，如 5,3,1')
  body.reminder_offsets = offsets.map(Number)
  if (f.get('reason')) body.reason = f.get('reason')
  const lot = await call('PUT', `/lots/${state.lot}`, body)
  state.lots = state.lots.map((l) => (l.id === lot.id ? lot : l))
  await settings()
  notify(`已保存 ${lot.name} 的设置：${lot.mode_label}，${lot.approval_label}，名额 ${lot.quota}`)
}

async function packages() {
  const rows = (await call('GET', `/lots/${state.lot}/packages`)).packages
  fill('#packages', rows, (p) => {
    const key = newKey()
    return [p.id, p.name, p.length_label, `${p.price_yuan} 元`, p.enabled_label,
      tdWith(button('改价', () => openForm({
        title: `修改套餐价格：${p.name}`, note: '新价格只用于以后的订单。', submit: '保存价格',
        fields: [{ name: 'price', label: '价格（元）', required: true, value: p.price_yuan }],
        run: async (f, k) => {
          const done = await call('PATCH', `/lots/${state.lot}/packages/${p.id}`, { price_fen: fen(f.get('price')), idempotency_key: k })
          notify(`已将 ${done.name} 改为 ${done.price_yuan} 元`); await packages()
        },
      }), 'secondary'), button(p.enabled ? '停售' : '恢复在售', async () => {
        const done = await call('PATCH', `/lots/${state.lot}/packages/${p.id}`, { enabled: !p.enabled, idempotency_key: key })
        notify(`${done.name}：${done.enabled_label}`); await packages()
      }, 'secondary'))]
  })
}

function fen(text, what) {
  const t = String(text == null ? '' : text).trim()
  if (!/^\d+(\.\d{1,2})?$/.test(t)) throw new Error(what ? `${what}请填写元，最多两位小数，如 2.50` : '价格请填写元，最多两位小数，如 300 或 299.50')
  return Math.round(Number(t) * 100)
}

async function addPackage(event) {
  event.preventDefault()
  const form = event.target; const f = new FormData(form)
  const body = { id: f.get('id'), name: f.get('name'), unit: f.get('unit'), count: Number(f.get('count')), price_fen: fen(f.get('price')), idempotency_key: state.keys.package }
  const p = await call('POST', `/lots/${state.lot}/packages`, body)
  form.reset(); state.keys.package = newKey()
  notify(`已新增套餐 ${p.name}（${p.length_label}，${p.price_yuan} 元）`)
  await packages()
}

// --- 道闸: each gate's applied version and how far behind the lot it is.
async function gates() {
  const r = await call('GET', `/lots/${state.lot}/gates`)
  const behind = r.gates.filter((g) => g.lag > 0).length
  $('#gate-summary').textContent = `车场当前版本 ${r.lot_version}，共 ${r.gates.length} 个道闸，${behind} 个落后`
  fill('#gate-table', r.gates, (g) => [g.gate_id, g.version == null ? '—' : g.version, g.lag, g.state_label, g.at_local || '—'])
  for (const [i, g] of r.gates.entries()) $('#gate-table tbody').children[i].classList.toggle('behind', g.lag > 0)
}

// --- 员工: the company's accounts (property administrators only).
async function staff() {
  const rows = (await call('GET', '/staff')).staff
  const lots = $('#staff-lots'); lots.replaceChildren(Object.assign(document.createElement('legend'), { textContent: '负责车场' }))
  for (const lot of state.lots) {
    const l = document.createElement('label'); const box = document.createElement('input')
    box.type = 'checkbox'; box.name = 'lots'; box.value = lot.id; l.append(box, ` ${lot.name}`); lots.append(l)
  }
  state.keys.staff = state.keys.staff || newKey()
  fill('#staff-table', rows, (a) => {
    const key = newKey(); const me = a.email === state.email
    const ops = me ? ['（本人）'] : [
      button(a.disabled ? '启用' : '停用', async () => {
        const done = await call('POST', `/staff/${encodeURIComponent(a.email)}/${a.disabled ? 'enable' : 'disable'}`, { idempotency_key: key })
        notify(`${done.email}：${done.state_label}`); await staff()
      }, 'secondary'),
      button('重置密码', () => openForm({
        title: `重置密码：${a.email}`, submit: '重置', note: '至少 10 位；告诉本人后请其尽快登录。',
        fields: [{ name: 'password', label: '新密码', type: 'password', required: true }],
        run: async (f, k) => { await call('POST', `/staff/${encodeURIComponent(a.email)}/password`, { password: f.get('password'), idempotency_key: k }); notify(`已重置 ${a.email} 的密码`); await staff() },
      }), 'secondary'),
      button('修改角色', () => openForm({
        title: `修改角色：${a.email}`, submit: '保存',
        fields: [{ name: 'role', label: '角色', type: 'select', value: a.role, options: Object.entries(ROLES) }, { name: 'lots', label: '负责车场', type: 'lots', value: a.lots }],
        run: async (f, k) => {
          const done = await call('PUT', `/staff/${encodeURIComponent(a.email)}/role`, { role: f.get('role'), lots: f.getAll('lots'), idempotency_key: k })
          notify(`${done.email}：${done.role_label}`); await staff()
        },
      }), 'secondary')]
    return [a.email, a.role_label, a.role === 'tenant_admin' ? '全部车场' : a.lots.map(lotName).join('、'), a.state_label, tdWith(...ops)]
  })
}

async function addStaff(event) {
  event.preventDefault()
  const form = event.target; const f = new FormData(form)
  const made = await call('POST', '/staff', { email: f.get('email'), password: f.get('password'), role: f.get('role'), lots: f.getAll('lots'), idempotency_key: state.keys.staff })
  form.reset(); state.keys.staff = newKey()
  notify(`已新建账号 ${made.email}（${made.role_label}）`)
  await staff()
}

// --- 报表
async function report(event) {
  event.preventDefault()
  const period = new FormData(event.target).get('period')
  const r = await call('GET', `/lots/${state.lot}/reports/${period}`)
  const lines = [['收入', yuanText(r.revenue_fen)], ['缴费/退款', `${r.payments} / ${r.refunds}`], ['线上占比', `${Math.round(r.online_share * 100)}%`],
    ['新月卡', r.new_cards], ...Object.entries(r.by_channel).map(([c, f]) => [`渠道 ${CHANNELS[c] || c}`, yuanText(f)]),
    ...Object.entries(r.by_package).map(([p, f]) => [`套餐 ${p}`, yuanText(f)]), ...Object.entries(r.reminders).map(([s, n]) => [`提醒 ${REMINDER_STATES[s] || s}`, n])]
  const table = document.createElement('table'); table.id = 'report-table'
  for (const [k, v] of lines) { const tr = document.createElement('tr'); tr.append(cell(k), cell(v)); table.append(tr) }
  $('#report').replaceChildren(table)
  $('#report-csv').dataset.period = period
}

// --- 对账
async function reconcile() {
  const r = await call('GET', `/lots/${state.lot}/reconciliations`)
  fill('#reconcile-days', r.days, (d) => [d.day, d.channel_label, d.checked_at, d.provider_lines, d.ledger_lines,
    d.differences.length ? `${d.differences.length} 笔` : '无'])
  const rows = r.days.flatMap((d) => d.differences.map((x) => ({ ...x, day: d.day, channel_label: d.channel_label })))
  fill('#reconcile-differences', rows, (x) => [x.day, x.channel_label, x.kind_label, x.order_id,
    x.ours_fen == null ? '—' : yuan(x.ours_fen), x.theirs_fen == null ? '—' : yuan(x.theirs_fen),
    x.note ? `${x.note}。${x.what_to_do}` : x.what_to_do])
}

const IMPORT_SLICE = 100
// Rows per request: small enough that the bar moves every second or so (one transaction per 100 items).

async function importFile(event) {
  event.preventDefault()
  const form = new FormData(event.target)
  const progress = $('#import-progress'); progress.value = 0; progress.max = 1
  $('#import-status').textContent = '正在读取文件…'; fill('#import-errors', [], () => [])
  const parsed = await call('POST', `/lots/${state.lot}/imports/parse`, form)
  const rows = parsed.rows; const errors = []; let created = 0; let existing = 0
  progress.max = rows.length || 1
  const status = (done) => `${done} / ${rows.length} 行：新增 ${created}，已存在 ${existing}，错误 ${errors.length}`
  $('#import-status').textContent = status(0)
  for (let start = 0; start < rows.length; start += IMPORT_SLICE) {
    const r = await call('POST', `/lots/${state.lot}/imports/rows`, { first_row: start + 2, rows: rows.slice(start, start + IMPORT_SLICE) })
    created += r.created; existing += r.existing; errors.push(...r.errors)
    progress.value = Math.min(start + IMPORT_SLICE, rows.length)
    $('#import-status').textContent = status(progress.value)
  }
  fill('#import-errors', errors, (e) => [`第 ${e.row} 行`, e.message])
  notify(`导入完成：新增 ${created}，已存在 ${existing}，错误 ${errors.length}（重复导入同一文件不会重复建卡）`)
}

// --- 物业费: a community's units, fee items, meters, readings and vacancies; bill runs (draft -> review -> publish,
// a run's drafts reopened from the list of runs after a reload); its bills at the till (with the receipt to print);
// the arrears and the collection rate. Forms that pay or apply carry the key of the opened dialog; adding a fee item
// or a meter (a second add of the same id is refused), a price change, a vacancy decision, a refund, a waiver, a
// cancellation, a run and a publish are each harmless when sent twice, and their buttons wait for the answer.
const TILL = ['cash', 'pos', 'transfer']
const METER_KINDS = { water: '水表', electricity: '电表', gas: '燃气表' }
const USE_UNITS = { water: '吨', electricity: '度', gas: '立方米' }
const PRICE_UNITS = { area: '元/㎡/月', fixed: '元/户/月' }
const CYCLES = { 1: '每月', 3: '每季度', 6: '每半年', 12: '每年' }
const VACANCY_STATES = { pending: '待审批', approved: '已批准', rejected: '已拒绝' }

function option(value, text) { const o = document.createElement('option'); o.value = value; o.textContent = text; return o }
function unitText(b) { return b.unit ? `${b.unit.building} ${b.unit.number}` : b.unit_id }
function unitName(id) { const u = state.units[id]; return u ? `${u.building} ${u.number}` : id }
function meterKind(kind) { return METER_KINDS[kind] || kind }
function percent(rate) { return `${+(Number(rate) * 100).toFixed(4)}%` }
function apiPath(url) { const path = new URL(url, location.href).pathname; return path.startsWith(API) ? path.slice(API.length) : path }
function nextMonthStart() { const [y, m] = thisMonth().split('-').map(Number); return m === 12 ? `${y + 1}-01-01` : `${y}-${String(m + 1).padStart(2, '0')}-01` }
function localTime(iso) {
  // A time as the community's clock shows it.
  const c = state.communities.find((x) => x.id === state.community)
  const zone = (c && c.timezone) || 'Asia/Shanghai'
  return new Intl.DateTimeFormat('sv-SE', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' }).format(new Date(iso))
}

// A share typed as a percentage ("0.05" for 0.05%) as the API's decimal string of 0 to 1 ("0.0005"): whole numbers
// of millionths, never floats.
function rateOf(text, what) {
  const t = String(text == null ? '' : text).trim().replace(/[%％]$/, '')
  const m = /^(\d{1,3})(?:\.(\d{1,4}))?$/.exec(t)
  const millionths = m ? Number(m[1]) * 10000 + Number((m[2] || '').padEnd(4, '0')) : NaN
  if (!m || millionths > 1000000) throw new Error(`${what}请填写 0 到 100 之间的百分数（最多四位小数），如 0.05`)
  const frac = String(millionths % 1000000).padStart(6, '0').replace(/0+$/, '')
  return frac ? `${Math.floor(millionths / 1000000)}.${frac}` : String(millionths / 1000000)
}

async function feesView() {
  const found = (await call('GET', '/communities')).communities
  state.communities = found
  if (!found.some((c) => c.id === state.community)) { state.community = found.length ? found[0].id : ''; leaveCommunity() }
  $('#community').replaceChildren(...found.map((c) => option(c.id, c.name)))
  $('#community').value = state.community
  $('#community-none').hidden = found.length > 0
  $('#fees-body').hidden = !state.community
  if (state.community) await openCommunity()
}

function leaveCommunity() {
  state.run = null; state.collectionPeriod = ''; state.billsPeriodSet = false
  $('#run-review').hidden = true; $('#collection').replaceChildren()
  $('#bills-form').reset(); $('#collection-form').elements.period.value = ''
  for (const name of ['unit', 'reading']) { $(`#${name}-import-status`).textContent = ''; $(`#${name}-import-errors`).hidden = true }
}

async function openCommunity() {
  const c = state.community
  const [units, items, meters, vacancies, runs] = await Promise.all(['units', 'fee-items', 'meters', 'vacancies', 'bill-runs']
    .map((what) => call('GET', `/communities/${c}/${what}`)))
  if (c !== state.community) return  // another community was chosen meanwhile: its own answers fill the page
  state.units = Object.fromEntries(units.units.map((u) => [u.id, u]))
  fill('#units', units.units, (u) => [u.id, u.building, u.number, u.area, u.state_label, u.owners.join(' / '),
    tdWith(...(can('manage') ? [button('申请空置', () => applyVacancy(u), 'secondary')] : []))])
  showFeeItems(items.fee_items)
  showMeters(meters.meters)
  showVacancies(vacancies.vacancies)
  showRuns(runs.runs)
  // The bills of the latest run's period, not of every period (a phone would scroll for ever); 全部 on request.
  const latest = runs.runs[0]
  if (!state.billsPeriodSet) { state.billsPeriodSet = true; $('#bills-form').elements.period.value = latest ? latest.period : '' }
  const run = $('#run-form').elements.period; if (!run.value) run.value = thisMonth()
  const collected = $('#collection-form').elements.period; if (!collected.value) collected.value = latest ? latest.period : thisMonth()
  const from = $('#fee-item-form').elements.from; if (!from.value) from.value = `${thisMonth()}-01`
  await Promise.all([bills(), arrears(), showCollection()])
}

// --- 收费项目
function showFeeItems(list) {
  state.items = Object.fromEntries(list.map((f) => [f.id, f]))
  fill('#fee-items', list, (f) => [f.id, f.name, f.kind_label, priceText(f), CYCLES[f.cycle_months] || `每 ${f.cycle_months} 个月`,
    f.due_day ? `每期首月 ${f.due_day} 日` : '每期首月最后一天', lateFeeText(f.late_fee), vacancyText(f),
    tdWith(...(can('manage') ? [button('调价', () => changePrice(f), 'secondary')] : []))])
  const unticked = [...document.querySelectorAll('#run-items input:not(:checked)')].map((b) => b.value)
  $('#run-items').replaceChildren(Object.assign(document.createElement('legend'), { textContent: '收费项目' }), ...list.map((f) => {
    const l = document.createElement('label'); const box = document.createElement('input')
    box.type = 'checkbox'; box.name = 'fee_item_id'; box.value = f.id; box.checked = !unticked.includes(f.id)
    l.append(box, ` ${f.name}`); return l
  }))
}

async function refreshFeeItems() { showFeeItems((await call('GET', `/communities/${state.community}/fee-items`)).fee_items) }

function priceText(f) {
  if (f.kind === 'metered') {
    const later = f.later_bands[f.later_bands.length - 1]
    return later ? `${bandsText(f.bands, f.meter)}；${later.from} 起：${bandsText(later.bands, f.meter)}` : bandsText(f.bands, f.meter)
  }
  // The price now and, after a change, the one before it: each with the day it starts.
  return f.prices.slice(-2).map((p) => `${yuan(p.price_fen)} ${PRICE_UNITS[f.kind] || '元'}（${p.from} 起）`).join('；')
}

function bandsText(bands, meter) {
  const use = USE_UNITS[meter] || ''
  let from = '0'
  return bands.map((b) => {
    const range = b.up_to == null ? `${from} ${use}以上` : `${from}–${b.up_to} ${use}`
    from = b.up_to
    return `${range}：${yuan(b.price_fen)} 元${use ? `/${use}` : ''}`
  }).join('，')
}

function lateFeeText(l) { return l ? `每日 ${percent(l.daily_rate)}，宽限 ${l.grace_days} 天，最多 ${percent(l.cap)}` : '不收' }
function vacancyText(f) { return f.kind !== 'area' ? '' : f.vacancy_rate == null ? '照常收取' : `按 ${percent(f.vacancy_rate)} 收取` }

// The bands of a metered price: rows of (use up to, price in 元); the last has no limit. Used by the new fee item's
// form and by a price change's dialog.
function bandEditor(title, bands) {
  const set = document.createElement('fieldset'); set.className = 'bands'
  const rows = document.createElement('div'); rows.className = 'band-rows'
  for (const b of bands.length ? bands : [null, null]) rows.append(bandRow(b))
  const add = button('添加一档', () => { rows.insertBefore(bandRow(null), rows.lastElementChild); markBands(rows) }, 'secondary')
  set.append(Object.assign(document.createElement('legend'), { textContent: title }), rows, add)
  markBands(rows)
  return set
}

function bandRow(band) {
  const row = document.createElement('div'); row.className = 'band'
  row.innerHTML = '<span class="band-name"></span><label>用量上限 <input name="up_to" inputmode="decimal"></label><label>单价（元） <input name="band_price" inputmode="decimal" required></label>'
  if (band) { row.querySelector('[name=up_to]').value = band.up_to == null ? '' : band.up_to; row.querySelector('[name=band_price]').value = yuan(band.price_fen) }
  row.append(button('删除这一档', () => { const rows = row.parentElement; if (rows.children.length > 1) { row.remove(); markBands(rows) } }, 'secondary band-del'))
  return row
}

function markBands(rows) {
  const all = [...rows.children]
  all.forEach((row, i) => {
    const last = i === all.length - 1; const limit = row.querySelector('[name=up_to]')
    row.querySelector('.band-name').textContent = last ? `第 ${i + 1} 档（最后一档）` : `第 ${i + 1} 档`
    limit.disabled = last; limit.required = !last; limit.placeholder = last ? '不限' : '如 20'
    if (last) limit.value = ''
    row.querySelector('.band-del').hidden = last
  })
}

function readBands(rows) {
  const all = [...rows.children]
  const bands = all.map((row, i) => {
    const last = i === all.length - 1; const limit = row.querySelector('[name=up_to]').value.trim()
    if (!last && !/^\d{1,9}(\.\d{1,2})?$/.test(limit)) throw new Error(`第 ${i + 1} 档的用量上限请填写数字（最多两位小数）；最后一档不设上限`)
    return { up_to: last ? null : limit, price_fen: fen(row.querySelector('[name=band_price]').value, `第 ${i + 1} 档的单价`) }
  })
  for (let i = 1; i < bands.length - 1; i++) {
    if (Number(bands[i].up_to) <= Number(bands[i - 1].up_to)) throw new Error('各档的用量上限应从低到高')
  }
  return bands
}

// Shown, a part of a form is sent; hidden, its fields are off (neither checked by the browser nor sent).
function toggle(el, on) {
  el.hidden = !on
  if (el.tagName === 'FIELDSET') el.disabled = !on
  else for (const c of el.querySelectorAll('input, select')) c.disabled = !on
}

function syncFeeItemForm() {
  const form = $('#fee-item-form'); const kind = form.elements.kind.value
  for (const el of form.querySelectorAll('[data-kind]')) toggle(el, el.dataset.kind.split(' ').includes(kind))
  for (const el of form.querySelectorAll('[data-late]')) toggle(el, form.elements.late.checked)
  form.querySelector('.price-unit').textContent = PRICE_UNITS[kind] || '元'
}

function resetFeeItemForm() {
  const form = $('#fee-item-form'); form.reset()
  $('#fee-item-bands').replaceWith(Object.assign(bandEditor('阶梯单价（按每期用量）', []), { id: 'fee-item-bands' }))
  $('#fee-item-bands').dataset.kind = 'metered'
  form.elements.from.value = `${thisMonth()}-01`
  syncFeeItemForm()
}

function setUpFeeForms() {
  for (const select of [$('#fee-item-form').elements.meter, $('#meter-form').elements.kind]) {
    select.replaceChildren(...Object.entries(METER_KINDS).map(([kind, text]) => option(kind, text)))
  }
  resetFeeItemForm()
  $('#fee-item-form').addEventListener('change', (e) => { if (['kind', 'late'].includes(e.target.name)) syncFeeItemForm() })
  $('#meter-form').addEventListener('change', (e) => {
    if (e.target.name === 'scope') syncMeterForm()
    if (e.target.name === 'kind') fillMeterForm()
    if (e.target.dataset.all) for (const box of $('#meter-units').querySelectorAll('input[name=unit_ids]')) box.checked = e.target.checked
  })
  syncMeterForm()
}

async function addFeeItem(event) {
  const form = event.target; const f = new FormData(form); const kind = f.get('kind')
  const body = { id: f.get('id').trim(), name: f.get('name').trim(), kind, cycle_months: Number(f.get('cycle_months')), from: f.get('from') }
  if (kind === 'metered') { body.meter = f.get('meter'); body.bands = readBands($('#fee-item-bands .band-rows')) } else body.price_fen = fen(f.get('price'), '单价')
  if (f.get('due_day')) body.due_day = Number(f.get('due_day'))
  if (f.get('late')) body.late_fee = { daily_rate: rateOf(f.get('daily_rate'), '每日滞纳金'), grace_days: Number(f.get('grace_days')), cap: rateOf(f.get('cap'), '滞纳金上限') }
  const vacancy = String(f.get('vacancy_rate') || '').trim()
  if (kind === 'area' && vacancy) body.vacancy_rate = rateOf(vacancy, '空置期间收取比例')
  const made = await call('POST', `/communities/${state.community}/fee-items`, body)
  resetFeeItemForm(); $('#fee-item-add').open = false
  notify(`已新增收费项目 ${made.name}（${made.kind_label}，${priceText(made)}）`)
  await refreshFeeItems()
}

function changePrice(f) {
  const metered = f.kind === 'metered'
  const later = f.later_bands[f.later_bands.length - 1]
  const current = f.prices[f.prices.length - 1]
  openForm({
    title: `调价：${f.name}`, submit: '保存新价格',
    note: `现价：${priceText(f)}。新价格从生效日期起适用；已生成的账单不变。`,
    fields: [{ name: 'from', label: '生效日期', type: 'date', required: true, value: nextMonthStart() },
      metered ? { type: 'bands', label: '新的阶梯单价', bands: later ? later.bands : f.bands }
        : { name: 'price', label: `新单价（${PRICE_UNITS[f.kind] || '元'}）`, required: true, value: current ? yuan(current.price_fen) : '' }],
    run: async (form) => {
      const body = { from: form.get('from') }
      if (metered) body.bands = readBands($('#dialog-fields .band-rows')); else body.price_fen = fen(form.get('price'), '新单价')
      const done = await call('POST', `/fee-items/${encodeURIComponent(f.id)}/prices`, body)
      notify(`已调整 ${done.name} 的价格：${priceText(done)}`)
      await refreshFeeItems()
    },
  })
}

// --- 水电表
function meterOwner(m) {
  if (!m.shared) return unitName(m.unit_id)
  return `公摊：${m.shared.unit_ids.length} 户，${m.shared.split === 'area' ? '按建筑面积' : '每户平均'}分摊`
}

function showMeters(list) {
  state.meters = list
  fill('#meters', list, (m) => [m.id, meterKind(m.kind), meterOwner(m), m.shared ? m.shared.sub_meter_ids.join('、') : '',
    m.digits ? `${m.digits} 位` : ''])
  fillMeterForm()
}

function syncMeterForm() {
  const form = $('#meter-form')
  for (const el of form.querySelectorAll('[data-scope]')) toggle(el, el.dataset.scope === form.elements.scope.value)
}

function fillMeterForm() {
  const form = $('#meter-form'); const units = Object.values(state.units); const chosen = form.elements.unit_id.value
  form.elements.unit_id.replaceChildren(...units.map((u) => option(u.id, `${u.building} ${u.number}（${u.id}）`)))
  if (units.some((u) => u.id === chosen)) form.elements.unit_id.value = chosen
  picks('#meter-units', 'unit_ids', units.map((u) => [u.id, `${u.building} ${u.number}`]), '还没有房屋')
  const subs = state.meters.filter((m) => m.unit_id && m.kind === form.elements.kind.value)
  picks('#meter-subs', 'sub_meter_ids', subs.map((m) => [m.id, `${m.id}（${unitName(m.unit_id)}）`]), `没有这一类的分户${meterKind(form.elements.kind.value)}（可不选）`)
}

// Checkboxes for a list (the ticked ones stay ticked when the list is read again); the units' with 全选.
function picks(sel, name, choices, none) {
  const set = $(sel); const legend = set.querySelector('legend')
  const kept = new Set([...set.querySelectorAll(`input[name=${name}]:checked`)].map((b) => b.value))
  const boxes = choices.map(([value, text]) => {
    const l = document.createElement('label'); const box = document.createElement('input')
    box.type = 'checkbox'; box.name = name; box.value = value; box.checked = kept.has(value)
    l.append(box, ` ${text}`); return l
  })
  const head = [legend]
  if (name === 'unit_ids' && choices.length > 1) {
    const l = document.createElement('label'); const box = document.createElement('input')
    box.type = 'checkbox'; box.dataset.all = '1'; l.append(box, ' 全选'); head.push(l)
  }
  if (!choices.length) head.push(Object.assign(document.createElement('p'), { className: 'hint', textContent: none }))
  set.replaceChildren(...head, ...boxes)
}

async function addMeter(event) {
  const form = event.target; const f = new FormData(form)
  const body = { id: f.get('id').trim(), kind: f.get('kind') }
  if (f.get('digits')) body.digits = Number(f.get('digits'))
  if (f.get('scope') === 'unit') {
    if (!f.get('unit_id')) throw new Error('请先导入房屋，再为房屋添加水电表')
    body.unit_id = f.get('unit_id')
  } else {
    const unitIds = f.getAll('unit_ids')
    if (!unitIds.length) throw new Error('请勾选公摊表分摊的房屋')
    body.shared = { split: f.get('split'), unit_ids: unitIds, sub_meter_ids: f.getAll('sub_meter_ids') }
  }
  const made = await call('POST', `/communities/${state.community}/meters`, body)
  form.reset(); syncMeterForm(); $('#meter-add').open = false
  notify(`已新增${meterKind(made.kind)} ${made.id}（${meterOwner(made)}）`)
  showMeters((await call('GET', `/communities/${state.community}/meters`)).meters)
}

// --- 空置申请
function showVacancies(list) {
  const order = { pending: 0, approved: 1, rejected: 2 }
  const rows = list.slice().sort((a, b) => (order[a.state] ?? 3) - (order[b.state] ?? 3) || b.from.localeCompare(a.from))
  $('#vacancy-none').hidden = rows.length > 0
  fill('#vacancies', rows, (v) => {
    const who = unitName(v.unit_id); const when = `${v.from} 至 ${v.until}`
    const ops = v.state === 'pending' && can('manage') ? [
      button('批准', async () => {
        const done = await call('POST', `/vacancies/${encodeURIComponent(v.id)}/approve`)
        notify(`已批准 ${who} 的空置申请（${when}，${vacancyState(done)}）`); await refreshVacancies()
      }),
      button('拒绝', () => openForm({
        title: `拒绝 ${who} 的空置申请`, note: `${when}：${v.reason}。拒绝后不能再批准。`, fields: [], submit: '确认拒绝',
        run: async () => {
          const done = await call('POST', `/vacancies/${encodeURIComponent(v.id)}/reject`)
          notify(`已拒绝 ${who} 的空置申请（${when}，${vacancyState(done)}）`); await refreshVacancies()
        },
      }), 'secondary')] : []
    return [`${who}（${v.unit_id}）`, v.from, v.until, v.reason, vacancyState(v), tdWith(...ops)]
  })
}

function vacancyState(v) { return v.state_label || VACANCY_STATES[v.state] || v.state }
async function refreshVacancies() { showVacancies((await call('GET', `/communities/${state.community}/vacancies`)).vacancies) }

function applyVacancy(unit) {
  const units = Object.values(state.units)
  if (!units.length) throw new Error('还没有房屋：请先导入房屋')
  openForm({
    title: unit ? `登记空置申请：${unitName(unit.id)}` : '登记空置申请', submit: '提交申请',
    note: '登记后在“空置申请”里批准或拒绝。',
    fields: [...(unit ? [] : [{ name: 'unit_id', label: '房屋', type: 'select', options: units.map((u) => [u.id, `${u.building} ${u.number}（${u.id}）`]) }]),
      { name: 'from', label: '开始日期', type: 'date', required: true }, { name: 'until', label: '结束日期（含当天）', type: 'date', required: true },
      { name: 'reason', label: '原因', required: true, maxlength: 200 }],
    run: async (f, key) => {
      const id = unit ? unit.id : f.get('unit_id')
      const made = await call('POST', `/units/${encodeURIComponent(id)}/vacancies`, { from: f.get('from'), until: f.get('until'), reason: f.get('reason').trim(), idempotency_key: key })
      notify(`已登记 ${unitName(id)} 的空置申请（${made.from} 至 ${made.until}，${vacancyState(made)}）`)
      await refreshVacancies()
    },
  })
}

async function importTable(event, name, what) {
  const r = await call('POST', `/communities/${state.community}/${what}/import`, new FormData(event.target))
  $(`#${name}-import-status`).textContent = `导入完成：新增 ${r.created}${r.existing == null ? '' : `，已存在 ${r.existing}`}，错误 ${r.errors.length}`
  $(`#${name}-import-errors`).hidden = !r.errors.length
  fill(`#${name}-import-errors`, r.errors, (e) => [`第 ${e.row} 行`, e.message])
  await openCommunity()
}

// --- 账单批次: drafted, reviewed, published
async function runBills(event) {
  const f = new FormData(event.target); const ids = f.getAll('fee_item_id')
  if (!ids.length) throw new Error('请至少选择一个收费项目')
  const run = await call('POST', `/communities/${state.community}/bill-runs`, { period: f.get('period'), fee_item_ids: ids })
  if (run.chunks.length) {  // a big community: drafted in parts by the work consumers, its progress shown
    showRun(run)
    notify(run.state === 'drafting' ? `${run.period} 的账单较多，正在分 ${run.chunks.length} 部分生成，完成后请核对发布`
      : `已生成 ${run.period} 的账单草稿 ${run.drafted_bills} 张（${run.chunks.length} 部分），请核对后发布`)
    await refreshRuns()
    return
  }
  // A second run of the same period drafts nothing new: the drafts shown for review stay.
  if (!run.bills.length) { notify(`${run.period} 所选收费项目的账单都已生成过，没有新的草稿`); return }
  showRun(run)
  notify(`已生成 ${run.period} 的账单草稿 ${run.bills.length} 张，请核对后发布`)
  $('#bills-form').elements.period.value = run.period
  await Promise.all([bills(), refreshRuns()])
}

const RUN_POLL_MS = 2000

function showRun(run) {
  const was = state.run
  state.run = run
  $('#run-review').hidden = false
  const inParts = run.chunks.length > 0
  const count = inParts ? run.drafted_bills : run.bills.length
  $('#run-summary').textContent = inParts
    ? `${run.period} 账单${run.state_label}：已生成 ${run.chunks_drafted}/${run.chunks.length} 部分` +
      (run.state === 'drafting' ? '' : `，共 ${count} 张，合计 ${yuanText(run.total_fen)}`) +
      (run.state === 'publishing' || run.state === 'published' ? `，已发布 ${run.chunks_published}/${run.chunks.length} 部分` : '')
    : `${run.period} 账单${run.published ? '（已发布）' : '草稿'}：共 ${count} 张，合计 ${yuanText(run.total_fen)}`
  $('#run-chunks').parentElement.hidden = !inParts
  fill('#run-chunks', run.chunks, (c) => [`第 ${c.number + 1} 部分`, `${c.first_unit} – ${c.last_unit}`, `${c.units} 户`,
    `${c.bill_count} 张`, yuan(c.total_fen), c.state_label,
    tdWith(c.state === 'pending' ? '' : button('查看账单', () => openChunk(run.id, c.number), 'secondary'))])
  if (!inParts || !was || was.id !== run.id) {  // a run in parts keeps the part being read
    state.chunk = null
    fill('#run-bills', run.bills, billReviewRow)
  }
  $('#run-publish').hidden = run.state !== 'drafted'
  // A part whose message was lost leaves the run waiting: the office asks for the unfinished parts again.
  $('#run-resume').hidden = !(inParts && (run.state === 'drafting' || run.state === 'publishing')) || !can('manage')
  $('#run-bills').parentElement.hidden = run.published && !inParts  // once published, the list of bills below follows them
  if (run.state === 'drafting' || run.state === 'publishing') watchRun(run.id)
}

function billReviewRow(b) {
  return [unitText(b), b.fee_item, b.lines.map((x) => `${x.text} ${yuan(x.amount_fen)}`).join('；'),
    yuan(b.amount_fen), b.due_date, b.state_label]
}

// A run in parts moves on without the office: read again every 2 s while it is shown and not done.
function watchRun(id) {
  clearTimeout(state.runTimer)
  state.runTimer = setTimeout(async () => {
    if (!state.run || state.run.id !== id) return
    let run
    try {
      run = await call('GET', `/bill-runs/${encodeURIComponent(id)}`)
    } catch (e) {  // the network or the server, for a moment: shown, and asked again
      show(e)
      watchRun(id)
      return
    }
    if (!state.run || state.run.id !== id) return  // another run was opened meanwhile
    const moved = run.state !== state.run.state
    showRun(run)
    if (state.chunk != null && run.chunks.length) await openChunk(id, state.chunk, false)  // its bills' states move too
    if (moved) {
      if (run.state === 'drafted') notify(`${run.period} 的账单草稿已全部生成：共 ${run.drafted_bills} 张，合计 ${yuanText(run.total_fen)}，请核对后发布`)
      if (run.state === 'published') notify(`已发布 ${run.period} 的账单 ${run.drafted_bills} 张，合计 ${yuanText(run.total_fen)}`)
      $('#bills-form').elements.period.value = run.period
      await Promise.all([bills(), arrears(), showCollection(), refreshRuns()])
    }
  }, RUN_POLL_MS)
}

async function openChunk(runId, number, scroll = true) {
  const chunk = await call('GET', `/bill-runs/${encodeURIComponent(runId)}/chunks/${number}`)
  if (!state.run || state.run.id !== runId) return
  state.chunk = number
  fill('#run-bills', chunk.bills, billReviewRow)
  $('#run-bills').parentElement.hidden = false
  if (scroll) $('#run-bills').scrollIntoView({ block: 'nearest' })
}

async function resumeRun() {
  const run = state.run
  if (!run || (run.state !== 'drafting' && run.state !== 'publishing')) return
  showRun(await call('POST', `/bill-runs/${run.id}/resume`))
  notify(`已重新提交 ${run.period} 账单未完成的部分`)
}

async function publishRun() {
  const run = state.run
  if (!run || run.state !== 'drafted') return  // published or being published already: a late second click does nothing
  const done = await call('POST', `/bill-runs/${run.id}/publish`)
  showRun(done)
  if (done.state === 'publishing') {
    notify(`正在分 ${done.chunks.length} 部分发布 ${done.period} 的账单，完成后自动显示`)
    await refreshRuns()
    return
  }
  notify(`已发布 ${done.period} 的账单 ${done.bills.length} 张，合计 ${yuanText(done.total_fen)}`)
  $('#bills-form').elements.period.value = done.period
  await Promise.all([bills(), arrears(), showCollection(), refreshRuns()])
}

function showRuns(runs) {
  const waiting = runs.filter((r) => !r.published)
  $('#runs-pending').hidden = !waiting.length
  $('#runs-pending').textContent = waiting.length
    ? `有 ${waiting.length} 批账单草稿尚未发布（业主在发布前看不到）：点“核对”查看明细后发布。` : ''
  fill('#runs', runs, (r) => [r.period, r.fee_item_ids.map((id) => (state.items[id] ? state.items[id].name : id)).join('、'),
    `${r.bills} 张`, yuan(r.total_fen), localTime(r.created_at), r.state_label,
    tdWith(r.published ? button('查看账单', () => billsOf(r.period), 'secondary') : button('核对', () => openRun(r.id)))])
}

async function refreshRuns() { showRuns((await call('GET', `/communities/${state.community}/bill-runs`)).runs) }

async function openRun(id) {
  moveOn()
  state.run = null
  showRun(await call('GET', `/bill-runs/${encodeURIComponent(id)}`))
  $('#run-review').scrollIntoView({ block: 'nearest' })
}

async function billsOf(period) {
  moveOn()
  const form = $('#bills-form'); form.elements.period.value = period; form.elements.state.value = ''
  await bills()
  $('#bills').scrollIntoView({ block: 'nearest' })
}

async function bills() {
  const query = new URLSearchParams([...new FormData($('#bills-form'))].filter(([, v]) => v)).toString()
  const rows = (await call('GET', `/communities/${state.community}/bills${query ? `?${query}` : ''}`)).bills
  fill('#bills', rows, (b) => [b.id, unitText(b), b.fee_item, b.period,
    b.state === 'paid' && b.paid_fen !== b.amount_fen ? `${yuan(b.amount_fen)}（实收 ${yuan(b.paid_fen)}）` : yuan(b.amount_fen), b.due_date,
    b.late_fee_waived ? `${b.state_label}（已免滞纳金）` : b.state_label, tdWith(...billActions(b))])
}

function billActions(b) {
  const what = `${unitText(b)} ${b.fee_item} ${b.period}`
  const ops = []
  if (b.state === 'unpaid') {
    ops.push(button('收款', async () => { const now = await call('GET', `/bills/${b.id}`); takePayment([b.id], what, now.payable_fen, now.late_fee_fen) }))
  }
  if (b.state === 'paid' && b.order_id) ops.push(link('收据', `/bill-orders/${encodeURIComponent(b.order_id)}/receipt.pdf`))
  if (!can('manage')) return ops
  if (b.state === 'paid') ops.push(button('退款', () => withReason(b, what, '退款', 'refund', `退回 ${yuanText(b.paid_fen)}，账单改为已退款。`, true), 'secondary'))
  const item = state.items[b.fee_item_id]
  if (b.state === 'unpaid' && item && item.late_fee && !b.late_fee_waived) {
    ops.push(button('免滞纳金', () => withReason(b, what, '免除滞纳金', 'late-fee-waivers', '免除后这张账单逾期也不收滞纳金。', true), 'secondary'))
  }
  if (b.state === 'unpaid' || b.state === 'draft') ops.push(button('作废', () => withReason(b, what, '作废', 'cancel', '作废后业主不再需要缴这张账单。'), 'secondary'))
  return ops
}

// The till: paid, the dialog shows the payment and its receipt to print (the card till's 打印收据 likewise).
function takePayment(billIds, what, payableFen, lateFeeFen) {
  openForm({
    title: `收款：${what}`, submit: '确认收款',
    note: `应收 ${yuanText(payableFen)}${lateFeeFen ? `（含滞纳金 ${yuanText(lateFeeFen)}）` : ''}`,
    fields: [{ name: 'channel', label: '方式', type: 'select', options: TILL.map((c) => [c, CHANNELS[c]]) }],
    run: async (f, key) => {
      const order = await call('POST', '/bills/payments', { bill_ids: billIds, channel: f.get('channel'), idempotency_key: key })
      const text = `已收 ${yuanText(order.amount_fen)}（${order.channel_label}）：${what}，订单 ${order.order_id}`
      notify(text)
      await afterBillChange()
      if (!order.receipt_url) return null
      const done = document.createElement('p'); done.className = 'till-done'
      done.append(`${text} `, link('打印收据', apiPath(order.receipt_url)))
      return done
    },
  })
}

// `keyed`: the route's body takes the form's key; cancelling takes none (a second cancel is refused, changing nothing).
function withReason(b, what, verb, path, note, keyed) {
  openForm({
    title: `${verb}：${what}`, note, submit: `确认${verb}`,
    fields: [{ name: 'reason', label: `${verb}原因`, required: true, maxlength: 200 }],
    run: async (f, key) => {
      const done = await call('POST', `/bills/${b.id}/${path}`, keyed ? { reason: f.get('reason'), idempotency_key: key } : { reason: f.get('reason') })
      notify(`已${verb}：${what}（${done.state_label}）`)
      await afterBillChange()
    },
  })
}

async function afterBillChange() { await Promise.all([bills(), arrears(), showCollection()]) }

async function arrears() {
  const r = await call('GET', `/communities/${state.community}/arrears`)
  $('#arrears-summary').textContent = r.arrears.length
    ? `${r.arrears.length} 户欠费：本金 ${yuanText(r.principal_fen)}，滞纳金 ${yuanText(r.late_fee_fen)}（滞纳金算至今天）`
    : '没有逾期未缴的账单'
  fill('#arrears', r.arrears, (a) => {
    const unit = `${a.building} ${a.unit_number}`
    return [`${unit}（${a.unit_id}）`, a.owners.join(' / '), `${a.bill_ids.length} 张`, yuan(a.principal_fen), yuan(a.late_fee_fen), `${a.days_overdue} 天`,
      tdWith(button('收款', () => takePayment(a.bill_ids, `${unit} 全部欠费`, a.owed_fen, a.late_fee_fen)))]
  })
}

async function collection(event) {
  state.collectionPeriod = new FormData(event.target).get('period')
  await showCollection()
}

async function showCollection() {
  const period = state.collectionPeriod
  if (!period) return
  const r = await call('GET', `/communities/${state.community}/collection/${period}`)
  const total = r.billed_fen ? `${(100 * r.paid_fen / r.billed_fen).toFixed(2)}%` : '—'
  const head = document.createElement('p')
  head.textContent = r.items.length ? `${r.period} 收缴率 ${total}：已收 ${yuanText(r.paid_fen)}，应收 ${yuanText(r.billed_fen)}` : `${r.period} 没有已发布的账单`
  $('#collection').replaceChildren(head, ...r.items.map((i) => bar(i.name, i.paid_fen, i.billed_fen, i.rate_label)))
}

function bar(name, paid, billed, rate) {
  const row = document.createElement('div'); row.className = 'bar-row'
  row.innerHTML = '<span></span><span class="bar"><span></span></span><span></span>'
  row.children[0].textContent = name
  row.children[1].firstChild.style.width = `${billed ? Math.min(100, 100 * paid / billed) : 0}%`
  row.children[2].textContent = `${rate}（已收 ${yuan(paid)} / 应收 ${yuan(billed)} 元）`
  return row
}

function addCommunity() {
  openForm({
    title: '新建小区', submit: '新建', note: '编号建后不能修改：字母、数字、- 或 _，如 xingfu。',
    fields: [{ name: 'id', label: '编号', required: true, maxlength: 64 }, { name: 'name', label: '名称', required: true, maxlength: 100 },
      { name: 'lots', label: '关联车场', type: 'lots', value: [state.lot] }],
    run: async (f) => {
      const made = await call('POST', '/communities', { id: f.get('id').trim(), name: f.get('name').trim(), lot_ids: f.getAll('lots') })
      state.community = made.id; leaveCommunity()
      notify(`已新建小区 ${made.name}`)
      await feesView()
    },
  })
}


// --- 停车: occupancy by hour, the day's visits, exempt and blacklisted plates, parking arrears, the lot's fee
// rule, spaces and barrier policy. Adding or lifting a plate is a dialog: one key per opened form.
const VISIT_KINDS = { card: '月卡车', visitor: '临时车', exempt: '免费车', blacklisted: '黑名单车', unknown: '未知' }
function lotToday() { return state.parkingDay || new Date().toISOString().slice(0, 10) }
async function parkingView() {
  const o = await call('GET', `/lots/${state.lot}/occupancy`)
  state.parkingDay = o.day  // the lot's today as the server's clock has it
  const day = $('#visits-form [name=day]').value || o.day
  $('#visits-form [name=day]').value = day
  const stats = [['在场车辆', o.inside], ['其中临时车', o.visitors], ['总车位', o.total == null ? '不限' : o.total],
    ['访客车位', o.visitor_spaces == null ? '不限' : o.visitor_spaces], ['道闸显示', o.display || '—'],
    ['今日进场', o.visits], ['今日临时车收入（元）', yuan(o.visitor_revenue_fen)],
    ['平均停车（分钟）', o.average_stay_minutes == null ? '—' : o.average_stay_minutes]]
  $('#parking-stats').replaceChildren(...stats.map(([label, value]) => { const d = document.createElement('div'); d.className = 'stat'; d.innerHTML = '<span></span><b></b>'; d.firstChild.textContent = label; d.lastChild.textContent = value; return d }))
  drawHours(o.by_hour)
  await Promise.all([visits(day), passes(), parkingArrears(), parkingSetup()])
}
function drawHours(byHour) {
  const svg = $('#occupancy-chart'); svg.replaceChildren()
  const ns = 'http://www.w3.org/2000/svg'; const max = Math.max(1, ...byHour); const width = 1000 / 24
  byHour.forEach((n, hour) => {
    const h = Math.round(170 * n / max)
    const bar = document.createElementNS(ns, 'rect')
    Object.entries({ x: hour * width + 3, y: 190 - h, width: width - 6, height: h, fill: '#1f4e79' }).forEach(([k, v]) => bar.setAttribute(k, v))
    const label = document.createElementNS(ns, 'text'); label.setAttribute('x', hour * width + 6); label.setAttribute('y', 210); label.setAttribute('font-size', '12'); label.textContent = `${hour}时`
    const count = document.createElementNS(ns, 'text'); count.setAttribute('x', hour * width + 8); count.setAttribute('y', 186 - h); count.setAttribute('font-size', '12'); count.textContent = n
    svg.append(bar, label, count)
  })
}
async function visits(day) {
  const r = await call('GET', `/lots/${state.lot}/visits?day=${day}`)
  $('#visits-summary').textContent = `${day}：${r.visits.length} 次进场，临时车收入 ${yuan(r.visitor_revenue_fen)} 元${r.average_stay_minutes == null ? '' : `，平均停车 ${r.average_stay_minutes} 分钟`}`
  fill('#visits', r.visits, (v) => [v.plate, v.kind_label, v.entered_at_local, v.left_at_local, yuan(v.fee_fen), yuan(v.paid_fen), v.flag_label])
}
async function passes() {
  const r = await call('GET', `/lots/${state.lot}/exemptions`)
  fill('#passes', r.passes, (p) => [p.plate, p.guest_of_owner ? `${p.kind_label}（业主访客）` : p.kind_label, p.reason,
    `${p.starts} 至 ${p.until || '长期'}`, p.lifted ? '已解除' : '有效',
    tdWith(...(!p.lifted && can('manage') ? [button('解除', () => liftPass(p), 'secondary')] : []))])
}
async function parkingArrears() {
  const r = await call('GET', `/lots/${state.lot}/parking-arrears`)
  const rows = [...r.unpaid_visits.map((o) => [o.plate, `未缴停车费 ${o.owed_yuan} 元`, o.inside ? '在场' : '已离场']),
    ...r.expired_cards_inside.map((v) => [v.plate, `月卡 ${v.valid_until} 已过期`, '在场'])]
  fill('#parking-arrears', rows, (row) => row)
}
async function parkingSetup() {
  if (!can('manage')) return
  const r = await call('GET', `/lots/${state.lot}/parking`)
  $('#fee-rules').textContent = r.rules.length
    ? '价格历史：' + r.rules.map((x) => `${x.from} 起 免费 ${x.free_minutes} 分钟，每 ${x.period_minutes} 分钟 ${yuan(x.price_fen)} 元${x.cap_fen_per_24h == null ? '' : `，24 小时封顶 ${yuan(x.cap_fen_per_24h)} 元`}`).join('；')
    : '尚未设置临时车收费：临时车免费。'
  state.parkingRules = r.rules
  // The forms are filled once per lot: a refresh after a save must not undo what someone is editing meanwhile.
  if (state.parkingFilled === state.lot) return
  state.parkingFilled = state.lot
  const form = $('#visitor-fee-form'); const last = r.rules[r.rules.length - 1]
  if (last) {  // the form starts from the rule in force (or to come), so a save changes only what is edited
    form.querySelector('[name=free_minutes]').value = last.free_minutes
    form.querySelector('[name=period_minutes]').value = last.period_minutes
    form.querySelector('[name=price]').value = yuan(last.price_fen)
    form.querySelector('[name=cap]').value = last.cap_fen_per_24h == null ? '' : yuan(last.cap_fen_per_24h)
  }
  if (!form.querySelector('[name=from]').value) form.querySelector('[name=from]').value = r.today
  $('#spaces-form [name=total]').value = r.spaces.total == null ? '' : r.spaces.total
  $('#spaces-form [name=visitor]').value = r.spaces.visitor == null ? '' : r.spaces.visitor
  $('#barrier-form [name=expired_card]').value = r.policy.expired_card
  $('#barrier-form [name=unpaid_visit]').value = r.policy.unpaid_visit
  $('#barrier-form [name=leave_minutes]').value = r.policy.leave_minutes
}
function addPass(kind) {
  const blacklist = kind === 'blacklist'
  openForm({
    title: blacklist ? '加入黑名单' : '新增免费车辆',
    note: blacklist ? '黑名单车辆在所有道闸禁止通行，操作记入审计。' : '免费车辆进出不收费（救护、残障、员工、访客），到期自动失效。',
    fields: [{ name: 'plate', label: '车牌', required: true, maxlength: 32 }, { name: 'reason', label: '原因', required: true, maxlength: 200 },
      ...(blacklist ? [] : [{ name: 'until', label: '截止日期（可空：长期）', type: 'date' }])],
    submit: blacklist ? '加入黑名单' : '新增',
    run: async (f, key) => {
      const body = { plate: f.get('plate').trim(), reason: f.get('reason').trim(), idempotency_key: key }
      if (!blacklist) body.until = f.get('until') || null
      const made = await call('POST', `/lots/${state.lot}/${blacklist ? 'blacklist' : 'exemptions'}`, body)
      notify(`已${blacklist ? '加入黑名单' : '新增免费车辆'} ${made.plate}`)
      await passes()
    },
  })
}
function liftPass(p) {
  openForm({
    title: `解除${p.kind_label}：${p.plate}`, submit: '确认解除',
    fields: [{ name: 'reason', label: '解除原因', required: true, maxlength: 200 }],
    run: async (f, key) => {
      const path = p.kind === 'blacklisted' ? 'blacklist' : 'exemptions'
      await call('POST', `/lots/${state.lot}/${path}/${encodeURIComponent(p.plate)}/lift`, { reason: f.get('reason').trim(), idempotency_key: key })
      notify(`已解除 ${p.plate}`)
      await passes()
    },
  })
}
function countCars() {
  openForm({
    title: '人工盘点在场车辆', note: '以盘点结果为准，此后按进出记录继续计数；操作记入审计。', submit: '确认盘点',
    fields: [{ name: 'inside', label: '在场车辆', type: 'number', min: 0, required: true }, { name: 'visitors', label: '其中临时车', type: 'number', min: 0, required: true },
      { name: 'reason', label: '原因', required: true, maxlength: 200 }],
    run: async (f, key) => {
      const done = await call('POST', `/lots/${state.lot}/occupancy/counts`, { inside: Number(f.get('inside')), visitors: Number(f.get('visitors')), reason: f.get('reason').trim(), idempotency_key: key })
      notify(`已盘点：在场 ${done.inside} 辆，其中临时车 ${done.visitors} 辆`)
      await parkingView()
    },
  })
}
async function saveVisitorFee(event) {
  const f = new FormData(event.target)
  const cap = String(f.get('cap') || '').trim()
  const body = { from: f.get('from'), free_minutes: Number(f.get('free_minutes')), period_minutes: Number(f.get('period_minutes')),
    price_fen: fen(f.get('price'), '每周期价格'), cap_fen_per_24h: cap ? fen(cap, '封顶金额') : null,
    night: ((state.parkingRules || []).slice(-1)[0] || {}).night || null }  // a night price set by API is kept
  await call('PUT', `/lots/${state.lot}/visitor-fee`, body)
  notify('已保存临时车收费规则'); await parkingSetup()
}
async function saveSpaces(event) {
  const f = new FormData(event.target)
  const n = (name) => (String(f.get(name) || '').trim() === '' ? null : Number(f.get(name)))
  const done = await call('PUT', `/lots/${state.lot}/spaces`, { total: n('total'), visitor: n('visitor') })
  notify(`已保存车位：总车位 ${done.total == null ? '不限' : done.total}，访客车位 ${done.visitor == null ? '不限' : done.visitor}`)
  await parkingView()
}
async function saveBarrier(event) {
  const f = new FormData(event.target)
  await call('PUT', `/lots/${state.lot}/barrier-policy`, { expired_card: f.get('expired_card'), unpaid_visit: f.get('unpaid_visit'), property_arrears: 'remind', leave_minutes: Number(f.get('leave_minutes')) })
  notify('已保存道闸策略')
}

// --- 上门收费: a community's day of door-to-door visits. The open bookings in walking order (派单, 取消 with a
// reason), each collector's day (visits, cash, QR, why unpaid, handed over, counted, the difference, cash still in
// hand) with its CSV, a paid visit's evidence (the owner's signature and the check-in; each opening is audited), and
// the cashier's handover (交接). The handover changes money: its key is made when the view first opens and renewed
// only after a handover is recorded, so a double click or a retry of the same form records one handover.
async function doorView() {
  const found = (await call('GET', '/communities')).communities
  state.communities = found
  if (!found.some((c) => c.id === state.doorCommunity)) {
    state.doorCommunity = found.some((c) => c.id === state.community) ? state.community : found.length ? found[0].id : ''
  }
  $('#door-community').replaceChildren(...found.map((c) => option(c.id, c.name)))
  $('#door-community').value = state.doorCommunity
  $('#door-no-community').hidden = found.length > 0
  $('#door-body').hidden = !state.doorCommunity
  state.keys.handover = state.keys.handover || newKey()
  if (state.doorCommunity) await openDoor()
}

async function serverToday() {
  // The day as the server's clock has it (the lot's count of cars answers it); offline from it, the browser's.
  try { return state.lot ? (await call('GET', `/lots/${state.lot}/occupancy`)).day : today() } catch (e) { return today() }
}

async function openDoor() {
  const c = state.doorCommunity; const day = $('#door-form [name=day]')
  const [units, shown] = await Promise.all([call('GET', `/communities/${c}/units`), day.value || serverToday()])
  if (c !== state.doorCommunity) return  // another community was chosen meanwhile
  state.doorUnits = Object.fromEntries(units.units.map((u) => [u.id, u]))
  if (!day.value) day.value = shown
  await doorDay()
}

function doorUnit(id) { const u = (state.doorUnits || {})[id]; return u ? `${u.building} ${u.number}` : id }

async function doorDay() {
  const c = state.doorCommunity; const day = $('#door-form [name=day]').value
  const query = day ? `?day=${day}` : ''
  const [booked, report] = await Promise.all([call('GET', `/communities/${c}/collection-bookings${query}`),
    call('GET', `/communities/${c}/collection-report${query}`)])
  if (c !== state.doorCommunity || day !== $('#door-form [name=day]').value) return  // a later choice fills the page
  showBookings(booked.bookings, day)
  showDoorReport(report.collectors, day)
  const known = new Set([...booked.bookings.map((b) => b.collector), ...report.collectors.map((r) => r.collector)].filter(Boolean))
  $('#door-collectors').replaceChildren(...[...known].sort().map((email) => option(email, email)))
}

function showBookings(list, day) {
  $('#door-bookings-none').hidden = list.length > 0
  fill('#door-bookings', list, (b) => {
    const when = b.slot_local.startsWith(`${day} `) ? b.slot_local.slice(day.length + 1) : b.slot_local
    return [when, doorUnit(b.unit_id), b.notes, b.state_label, b.collector || '未派单',
      tdWith(...(can('manage') ? [button('派单', () => assignBooking(b, when)), button('取消', () => cancelBooking(b, when), 'secondary')] : []))]
  })
}

function assignBooking(b, when) {
  const where = doorUnit(b.unit_id)
  openForm({
    title: `派单：${where} ${when}`, note: b.notes ? `备注：${b.notes}` : '', submit: '确认派单',
    fields: [{ name: 'collector', label: '收费员（登录邮箱）', type: 'email', list: 'door-collectors', required: true, maxlength: 254, value: b.collector || '' }],
    run: async (f) => {
      const done = await call('POST', `/collection-bookings/${encodeURIComponent(b.id)}/assign`, { collector: f.get('collector').trim().toLowerCase() })
      notify(`已派单：${where} ${when} 由 ${done.collector} 上门`)
      await doorDay()
    },
  })
}

function cancelBooking(b, when) {
  const where = doorUnit(b.unit_id)
  openForm({
    title: `取消预约：${where} ${when}`, note: '取消后收费员不再上门，账单仍待缴（业主可线上缴或到物业缴）。', submit: '确认取消',
    fields: [{ name: 'reason', label: '取消原因', required: true, maxlength: 200 }],
    run: async (f, key) => {
      const done = await call('POST', `/collection-bookings/${encodeURIComponent(b.id)}/cancel`, { reason: f.get('reason').trim(), idempotency_key: key })
      notify(`已取消 ${where} ${when} 的上门预约（${done.state_label}）`)
      await doorDay()
    },
  })
}

// A handover short of what was expected is shown red (短款); more than expected is 长款.
function difference(fen) {
  const td = cell(fen < 0 ? `${yuan(fen)}（短款）` : fen > 0 ? `${yuan(fen)}（长款）` : yuan(fen))
  if (fen < 0) td.className = 'short'
  return td
}

function showDoorReport(rows, day) {
  const cash = rows.reduce((n, r) => n + r.cash_fen, 0); const qr = rows.reduce((n, r) => n + r.qr_fen, 0)
  $('#door-report-summary').textContent = rows.length
    ? `${day}：${rows.length} 位收费员，现金 ${yuanText(cash)}，扫码 ${yuanText(qr)}`
    : `${day} 没有派给收费员的上门预约`
  fill('#door-report', rows, (r) => [r.collector, r.visits, r.collected, yuan(r.cash_fen), yuan(r.qr_fen),
    r.unpaid.map((u) => `${doorUnit(u.unit_id)} ${u.reason}`).join('；'), yuan(r.handed_over_fen), yuan(r.counted_fen),
    difference(r.difference_fen), yuan(r.in_hand_fen)])
  const paid = rows.flatMap((r) => r.paid.map((p) => ({ ...p, collector: r.collector })))
  fill('#door-paid', paid, (p) => [p.collector, doorUnit(p.unit_id), p.channel_label, yuan(p.amount_fen), p.order_id,
    tdWith(...(can('manage') ? [button('查看凭证', () => showEvidence(p), 'secondary')] : []))])
}

async function showEvidence(p) {
  const e = await call('GET', `/collection-evidence/${encodeURIComponent(p.order_id)}`)
  const box = document.createElement('div'); box.className = 'evidence'
  const line = (text, cls) => Object.assign(document.createElement('p'), { textContent: text, className: cls || '' })
  if (e.signature_png) {
    const img = document.createElement('img'); img.alt = '业主签名'; img.src = `data:image/png;base64,${e.signature_png}`
    box.append(img)
  } else box.append(line('签名图像缺失', 'warn'))
  box.append(line(`收费员：${e.collector}`), line(`签到时间：${e.checked_in_local}`),
    line(`签到位置：纬度 ${Number(e.latitude).toFixed(6)}，经度 ${Number(e.longitude).toFixed(6)}（定位精度 ±${e.accuracy_m} 米）`))
  if (e.away_m != null) box.append(line(`距楼栋：${e.away_m} 米`))
  if (e.far) box.append(line('距楼栋较远', 'warn'))
  box.append(line(`签名指纹（SHA-256）：${e.signature_sha256}`, 'hint'))
  look(`上门收款凭证：${doorUnit(p.unit_id)}（订单 ${e.order_id}）`, box)
}

async function cashInHand() {
  const input = $('#handover-form [name=collector]'); const email = input.value.trim().toLowerCase()
  $('#handover-hand').textContent = ''
  if (!email || !input.checkValidity()) return
  const r = await call('GET', `/collectors/${encodeURIComponent(email)}/cash`)
  if (email === input.value.trim().toLowerCase()) {
    state.handoverSeen = { collector: r.collector, fen: r.in_hand_fen }  // sent along: cash that came in since is counted again
    $('#handover-hand').textContent = `${r.collector} 手中现金 ${yuanText(r.in_hand_fen)}（尚未交接）`
  }
}

async function handOver(event) {
  const form = event.target; const f = new FormData(form)
  const body = { collector: String(f.get('collector')).trim().toLowerCase(), counted_fen: fen(f.get('counted'), '实点金额'), idempotency_key: state.keys.handover }
  const seen = state.handoverSeen
  if (seen && seen.collector === body.collector) body.expected_fen = seen.fen
  const done = await call('POST', '/collection-handovers', body)
  state.keys.handover = newKey(); form.reset(); $('#handover-hand').textContent = ''; state.handoverSeen = null  // the next handover is a new form
  notify(`已交接：${done.collector} 应交 ${yuan(done.expected_fen)} 元，实点 ${yuan(done.counted_fen)} 元，差额 ${yuan(done.difference_fen)} 元`)
  await doorDay()
}

function onSubmit(sel, handler) {
  const form = $(sel)
  form.addEventListener('submit', (e) => { e.preventDefault(); busy(form.querySelector('button:not([type=button])') || form, () => handler(e)) })
}

$('#login-form').addEventListener('submit', login)
$('#logout').addEventListener('click', () => busy($('#logout'), signOut))
$('#lot').addEventListener('change', (e) => { state.lot = e.target.value; view('dashboard') })
for (const b of document.querySelectorAll('header nav button')) b.addEventListener('click', () => view(b.dataset.view))
$('#search').addEventListener('submit', (e) => { e.preventDefault(); moveOn(); search(new FormData(e.target).get('q')).catch(show) })
$('#cards-csv').addEventListener('click', (e) => { e.preventDefault(); download(`/lots/${state.lot}/cards?format=csv&q=${encodeURIComponent($('#search [name=q]').value)}`, 'cards.csv').catch(show) })
onSubmit('#cash', cash)
$('#cash-again').addEventListener('click', cashAgain)
onSubmit('#fix', fix)
$('#cancel-card').addEventListener('click', () => cardState('注销', 'cancel'))
$('#restore-card').addEventListener('click', () => cardState('恢复', 'restore'))
$('#claim-slip').addEventListener('click', () => busy($('#claim-slip'), claimSlip))
onSubmit('#policy-form', savePolicy)
onSubmit('#package-form', addPackage)
$('#gates-refresh').addEventListener('click', () => { moveOn(); gates().catch(show) })
onSubmit('#staff-form', addStaff)
$('#dialog-form').addEventListener('submit', submitDialog)
$('#dialog-cancel').addEventListener('click', closeDialog)
$('#dialog-form').addEventListener('input', () => { $('#dialog-error').textContent = '' })
// An error is for what was just tried: editing any form moves on from it.
$('#app').addEventListener('input', () => show())
$('#report-form').addEventListener('submit', (e) => report(e).catch(show))
$('#report-csv').addEventListener('click', (e) => { e.preventDefault(); const p = $('#report-csv').dataset.period || thisMonth(); download(`/lots/${state.lot}/reports/${p}?format=csv`, `report-${p}.csv`).catch(show) })
onSubmit('#import-form', importFile)
$('#community').addEventListener('change', (e) => { state.community = e.target.value; leaveCommunity(); moveOn(); openCommunity().catch(show) })
$('#community-add').addEventListener('click', addCommunity)
setUpFeeForms()
onSubmit('#fee-item-form', addFeeItem)
onSubmit('#meter-form', addMeter)
$('#vacancy-add').addEventListener('click', () => { try { moveOn(); applyVacancy(null) } catch (e) { show(e) } })
onSubmit('#unit-import', (e) => importTable(e, 'unit', 'units'))
onSubmit('#reading-import', (e) => importTable(e, 'reading', 'readings'))
onSubmit('#run-form', runBills)
$('#run-publish').addEventListener('click', () => busy($('#run-publish'), publishRun))
$('#run-resume').addEventListener('click', () => busy($('#run-resume'), resumeRun))
onSubmit('#bills-form', bills)
onSubmit('#collection-form', collection)
$('#arrears-csv').addEventListener('click', (e) => { e.preventDefault(); download(`/communities/${state.community}/arrears?format=csv`, `欠费-${state.community}.csv`).catch(show) })
onSubmit('#visits-form', (e) => visits(new FormData(e.target).get('day')))
$('#visits-csv').addEventListener('click', (e) => { e.preventDefault(); const d = $('#visits-form [name=day]').value || lotToday(); download(`/lots/${state.lot}/visits?day=${d}&format=csv`, `进出记录-${d}.csv`).catch(show) })
$('#exempt-add').addEventListener('click', () => addPass('exempt'))
$('#blacklist-add').addEventListener('click', () => addPass('blacklist'))
$('#parking-count').addEventListener('click', countCars)
onSubmit('#visitor-fee-form', saveVisitorFee)
onSubmit('#spaces-form', saveSpaces)
onSubmit('#barrier-form', saveBarrier)
$('#door-community').addEventListener('change', (e) => { state.doorCommunity = e.target.value; moveOn(); openDoor().catch(show) })
onSubmit('#door-form', doorDay)
$('#door-csv').addEventListener('click', (e) => {
  e.preventDefault(); const d = $('#door-form [name=day]').value
  download(`/communities/${state.doorCommunity}/collection-report?${d ? `day=${d}&` : ''}format=csv`, `上门收费-${state.doorCommunity}-${d}.csv`).catch(show)
})
$('#handover-form [name=collector]').addEventListener('change', () => cashInHand().catch(show))
onSubmit('#handover-form', handOver)
if (state.token) start().catch(logout)
