// ParkPass admin page: plain JS against /admin/api/v1 (no build step, works offline from the function).
'use strict'
const API = '/admin/api/v1'
const $ = (sel) => document.querySelector(sel)
const state = { token: sessionStorage.getItem('parkpass-admin') || '', lot: '', lots: [], card: null }
const yuan = (fen) => (fen / 100).toFixed(2)
const STATES = { active: '有效', paused: '暂停', expired: '过期', cancelled: '注销', pending: '待付款', submitted: '待审批', waitlisted: '候补' }
const CHANNELS = { wechat: '微信', alipay: '支付宝', cash: '现金', pos: '刷卡', transfer: '转账' }

async function call(method, path, body, raw) {
  const headers = { Authorization: `Bearer ${state.token}` }
  let payload = body
  if (body && !(body instanceof FormData)) { headers['Content-Type'] = 'application/json'; payload = JSON.stringify(body) }
  const res = await fetch(API + path, { method, headers, body: payload })
  if (res.status === 401 && path !== '/auth/login') { logout(); throw new Error('请重新登录') }
  if (raw) return res
  const data = await res.json()
  if (!res.ok) throw new Error(data.error ? data.error.message : res.statusText)
  return data
}

function show(error) { $('#error').textContent = error ? String(error.message || error) : '' }
function cell(text) { const td = document.createElement('td'); td.textContent = text == null ? '' : text; return td }
function button(label, onClick, cls) {
  const b = document.createElement('button'); b.type = 'button'; b.textContent = label
  if (cls) b.className = cls
  b.addEventListener('click', async () => { try { show(); await onClick() } catch (e) { show(e) } })
  return b
}
function fill(table, rows, render) {
  const body = $(table + ' tbody'); body.replaceChildren()
  for (const row of rows) { const tr = document.createElement('tr'); for (const c of render(row)) tr.append(c && c.nodeType ? c : cell(c)); body.append(tr) }
}
function tdWith(...nodes) { const td = document.createElement('td'); td.append(...nodes); return td }

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

async function start() {
  const me = await call('GET', '/me')
  state.lots = me.lots
  $('#who').textContent = `${me.email}（${{ tenant_admin: '物业管理员', lot_manager: '车场经理', cashier: '收费员' }[me.role]}）`
  const select = $('#lot'); select.replaceChildren()
  for (const lot of me.lots) { const o = document.createElement('option'); o.value = lot.id; o.textContent = lot.name; select.append(o) }
  state.lot = me.lots.length ? me.lots[0].id : ''
  $('#login').hidden = true; $('#app').hidden = false
  view('dashboard')
}

function view(name) {
  for (const s of document.querySelectorAll('main > section')) s.hidden = s.dataset.view !== name
  for (const b of document.querySelectorAll('header nav button')) b.classList.toggle('active', b.dataset.view === name)
  const load = { dashboard, queues, cards: () => search(''), reports: () => {}, import: () => {} }[name]
  Promise.resolve(load()).catch(show)
}

function thisMonth() { return new Date().toISOString().slice(0, 7) }

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
    const label = document.createElementNS(ns, 'text'); label.setAttribute('x', i * width + 4); label.setAttribute('y', 210); label.setAttribute('font-size', '11'); label.textContent = `${day.slice(5)} ¥${yuan(byDay[day])}`
    svg.append(bar, label)
  })
}

async function queues() {
  const apps = (await call('GET', `/lots/${state.lot}/applications`)).applications
  fill('#applications', apps, (a) => [a.id, a.plates.join(' / '), a.note, STATES[a.state] || a.state, a.applied_at.slice(0, 16).replace('T', ' '),
    tdWith(button('批准', async () => { await call('POST', `/applications/${a.id}/approve`); await queues() }),
      button('拒绝', async () => { const reason = prompt('拒绝原因（车主可见）'); if (reason) { await call('POST', `/applications/${a.id}/reject`, { reason }); await queues() } }, 'secondary'))])
  const paused = (await call('GET', `/lots/${state.lot}/pauses`)).cards
  fill('#pauses', paused, (c) => { const p = c.pauses.find((x) => x.state === 'requested'); return [c.id, c.plates.join(' / '), `${p.from} 至 ${p.until}`,
    tdWith(button('批准', async () => { await call('POST', `/cards/${c.id}/pauses/${p.id}/approve`); await queues() }),
      button('拒绝', async () => { const reason = prompt('拒绝原因'); if (reason) { await call('POST', `/cards/${c.id}/pauses/${p.id}/reject`, { reason }); await queues() } }, 'secondary'))] })
  const invoices = (await call('GET', `/lots/${state.lot}/invoices`)).invoices
  fill('#invoices', invoices, (i) => [i.order_id, i.title, i.tax_id, yuan(i.amount_fen),
    tdWith(button('拒绝', async () => { const reason = prompt('原因'); if (reason) { await call('POST', `/orders/${i.order_id}/invoice/reject`, { reason }); await queues() } }, 'secondary'))])
}

async function search(q) {
  $('#cards-csv').href = '#'
  const rows = (await call('GET', `/lots/${state.lot}/cards?q=${encodeURIComponent(q)}`)).cards
  fill('#cards', rows, (c) => [c.id, c.plates.join(' / '), c.holder, c.owner_phone, c.valid_until, STATES[c.state] || c.state,
    tdWith(button('详情', () => openCard(c.id), 'secondary'))])
}

async function openCard(id) {
  const h = await call('GET', `/cards/${id}`)
  state.card = id
  $('#card-detail').hidden = false
  $('#detail-id').textContent = id
  $('#detail-summary').textContent = `${h.card.plates.join(' / ')}，有效期 ${h.card.valid_from || '-'} 至 ${h.card.valid_until || '-'}，${STATES[h.card.state] || h.card.state}（车场版本 ${h.lot_version}）`
  fill('#history', h.changes.slice().reverse(), (e) => [e.at.slice(0, 16).replace('T', ' '), e.actor, e.action, e.reason])
  fill('#orders', h.orders, (o) => [o.order_id, o.package, yuan(o.amount_fen), CHANNELS[o.channel] || o.channel, o.state, o.staff,
    tdWith(...(o.state === 'paid' ? [link('收据', `/orders/${o.order_id}/receipt.pdf`)] : []))])
  fill('#gates', h.gates, (g) => [g.gate_id, g.version == null ? '未同步' : g.version, g.at])
  const packages = (await call('GET', `/lots/${state.lot}/packages`)).packages.filter((p) => p.enabled)
  $('#cash-package').replaceChildren(...packages.map((p) => { const o = document.createElement('option'); o.value = p.id; o.textContent = `${p.name} ¥${yuan(p.price_fen)}`; return o }))
}

function link(label, path) {
  const b = button(label, async () => {
    const res = await call('GET', path, null, true)
    const url = URL.createObjectURL(await res.blob()); window.open(url, '_blank')
  }, 'secondary')
  b.dataset.href = path
  return b
}

async function download(path, name) {
  const res = await call('GET', path, null, true)
  if (!res.ok) throw new Error((await res.json()).error.message)
  const a = document.createElement('a'); a.href = URL.createObjectURL(await res.blob()); a.download = name; document.body.append(a); a.click(); a.remove()
}

async function cash(event) {
  event.preventDefault()
  const form = new FormData(event.target)
  const key = `cash-${state.card}-${Date.now()}`
  const order = await call('POST', `/cards/${state.card}/payments`, { package_id: form.get('package_id'), channel: form.get('channel'), idempotency_key: key })
  $('#cash-result').replaceChildren(`已收 ¥${yuan(order.amount_fen)}，有效期至 ${order.new_valid_until} `, link('打印收据', `/orders/${order.order_id}/receipt.pdf`))
  await openCard(state.card)
}

async function fix(event) {
  event.preventDefault()
  const form = new FormData(event.target)
  const body = { reason: form.get('reason') }
  if (form.get('valid_until')) body.valid_until = form.get('valid_until')
  if (form.get('state')) body.state = form.get('state')
  await call('POST', `/cards/${state.card}/fix`, body)
  event.target.reset(); await openCard(state.card)
}

async function report(event) {
  event.preventDefault()
  const period = new FormData(event.target).get('period')
  const r = await call('GET', `/lots/${state.lot}/reports/${period}`)
  const lines = [[`收入`, `¥${yuan(r.revenue_fen)}`], ['缴费/退款', `${r.payments} / ${r.refunds}`], ['线上占比', `${Math.round(r.online_share * 100)}%`],
    ['新月卡', r.new_cards], ...Object.entries(r.by_channel).map(([c, f]) => [`渠道 ${CHANNELS[c] || c}`, `¥${yuan(f)}`]),
    ...Object.entries(r.by_package).map(([p, f]) => [`套餐 ${p}`, `¥${yuan(f)}`]), ...Object.entries(r.reminders).map(([s, n]) => [`提醒 ${s}`, n])]
  const table = document.createElement('table'); table.id = 'report-table'
  for (const [k, v] of lines) { const tr = document.createElement('tr'); tr.append(cell(k), cell(v)); table.append(tr) }
  $('#report').replaceChildren(table)
  $('#report-csv').dataset.period = period
}

async function importFile(event) {
  event.preventDefault()
  const form = new FormData(event.target)
  const parsed = await call('POST', `/lots/${state.lot}/imports/parse`, form)
  const rows = parsed.rows; const errors = []; let created = 0; let existing = 0
  const progress = $('#import-progress'); progress.max = rows.length || 1; progress.value = 0
  for (let start = 0; start < rows.length; start += 500) {
    const r = await call('POST', `/lots/${state.lot}/imports/rows`, { first_row: start + 2, rows: rows.slice(start, start + 500) })
    created += r.created; existing += r.existing; errors.push(...r.errors)
    progress.value = Math.min(start + 500, rows.length)
    $('#import-status').textContent = `${progress.value} / ${rows.length} 行：新增 ${created}，已存在 ${existing}，错误 ${errors.length}`
  }
  fill('#import-errors', errors, (e) => [e.row, e.message])
}

$('#login-form').addEventListener('submit', login)
$('#logout').addEventListener('click', logout)
$('#lot').addEventListener('change', (e) => { state.lot = e.target.value; view('dashboard') })
for (const b of document.querySelectorAll('header nav button')) b.addEventListener('click', () => view(b.dataset.view))
$('#search').addEventListener('submit', (e) => { e.preventDefault(); search(new FormData(e.target).get('q')).catch(show) })
$('#cards-csv').addEventListener('click', (e) => { e.preventDefault(); download(`/lots/${state.lot}/cards?format=csv&q=${encodeURIComponent($('#search [name=q]').value)}`, 'cards.csv').catch(show) })
$('#cash').addEventListener('submit', (e) => cash(e).catch(show))
$('#fix').addEventListener('submit', (e) => fix(e).catch(show))
$('#report-form').addEventListener('submit', (e) => report(e).catch(show))
$('#report-csv').addEventListener('click', (e) => { e.preventDefault(); const p = $('#report-csv').dataset.period || thisMonth(); download(`/lots/${state.lot}/reports/${p}?format=csv`, `report-${p}.csv`).catch(show) })
$('#import-form').addEventListener('submit', (e) => importFile(e).catch(show))
if (state.token) start().catch(logout)
