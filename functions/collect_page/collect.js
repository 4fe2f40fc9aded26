// ParkPass collector's page (上门收费): plain JS on a phone with a weak signal, against /admin/api/v1/collect.
// A cash collection is kept on the phone (IndexedDB) with its evidence and its idempotency key until the server
// has it: shown as 待同步, sent again whenever the signal returns; the key makes every resend the same payment.
// One key per opened visit (a double tap sends the same key); a QR code needs the signal.
'use strict'
const API = '/admin/api/v1'
const $ = (sel) => document.querySelector(sel)
const TOKEN = 'parkpass-collect'
const ROUTE = 'parkpass-collect-route'
const state = { token: localStorage.getItem(TOKEN) || '', stops: [], visit: null, checkIn: null, drawn: false,
  cashKey: '', qrKey: '', polling: null, syncing: null }
const yuan = (fen) => (fen / 100).toFixed(2)

function newKey() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID().replace(/-/g, '')
  return `k${Date.now().toString(36)}${Math.random().toString(36).slice(2, 14)}`
}

class Offline extends Error {}

const WAIT_MS = 20000  // a request hanging on a weak signal counts as no signal, so the outbox moves on

async function call(method, path, body) {
  const headers = { Authorization: `Bearer ${state.token}`, 'Accept-Language': 'zh-CN' }
  if (body) headers['Content-Type'] = 'application/json'
  const stop = new AbortController()
  const timer = setTimeout(() => stop.abort(), WAIT_MS)
  let res
  try {
    res = await fetch(API + path, { method, headers, body: body ? JSON.stringify(body) : undefined, signal: stop.signal })
  } catch (e) {
    throw new Offline('没有网络信号')
  } finally {
    clearTimeout(timer)
  }
  let data
  try { data = await res.json() } catch (e) { data = null }
  if (res.status === 401 && path !== '/auth/login') { logout(); throw new Error('请重新登录') }
  if (!res.ok || data === null) {
    const error = new Error(data && data.error ? data.error.message : '服务器暂时无法处理，请稍后再试')
    error.code = data && data.error ? data.error.code : ''
    error.status = res.status
    throw error
  }
  return data
}

function show(error) { $('#error').textContent = error ? String(error.message || error) : '' }
function notify(text) { $('#notice').textContent = text || '' }

// --- the outbox (IndexedDB): cash collections waiting for the signal
function outboxDb() {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open('parkpass-collect', 2)
    open.onupgradeneeded = () => {
      const db = open.result
      if (!db.objectStoreNames.contains('outbox')) db.createObjectStore('outbox', { keyPath: 'key' })
      // Uploads the server refused for good: kept (never dropped) until the collector settles them with the office.
      if (!db.objectStoreNames.contains('attention')) db.createObjectStore('attention', { keyPath: 'key' })
    }
    open.onsuccess = () => resolve(open.result)
    open.onerror = () => reject(open.error)
  })
}

async function outbox(mode, fn, store = 'outbox') {
  const db = await outboxDb()
  return new Promise((resolve, reject) => {
    const tx = db.transaction(store, mode)
    const request = fn(tx.objectStore(store))
    tx.oncomplete = () => { db.close(); resolve(request ? request.result : undefined) }
    tx.onerror = () => { db.close(); reject(tx.error) }
  })
}
const waiting = () => outbox('readonly', (store) => store.getAll())
const keep = (item) => outbox('readwrite', (store) => store.put(item))
const drop = (key) => outbox('readwrite', (store) => store.delete(key))
const refused = () => outbox('readonly', (store) => store.getAll(), 'attention')
const setAside = (item) => outbox('readwrite', (store) => store.put(item), 'attention')

function worthRetrying(error) {
  // No signal, signed out (sent again after the next login), the server or a provider down, busy, or a race the
  // server asks to retry: the upload stays on the phone.
  return error instanceof Offline || !error.status || error.status === 401 || error.status === 429 ||
    error.status >= 500 || ['kept_changing', 'custody_changed'].includes(error.code)
}

async function sync() {
  // One upload loop at a time; each item is sent with its own key, so a resend after a lost answer (or another
  // tab) is the same payment on the server.
  if (state.syncing) return state.syncing
  let moved = 0
  state.syncing = (async () => {
    for (const item of await waiting()) {
      try {
        await call('POST', `/collect/visits/${item.booking_id}/cash`, item.body)
        await drop(item.key); moved += 1
        notify(`已同步：${item.title} 现金 ${yuan(item.body.amount_fen)} 元`)
      } catch (e) {
        if (worthRetrying(e)) break
        // Refused for good (paid by QR meanwhile, the visit given to someone else, ...): set aside with the
        // reason, shown until the collector settles the cash with the office; never silently lost.
        await setAside({ ...item, reason: e.message })
        await drop(item.key); moved += 1
      }
    }
  })()
  try { await state.syncing } finally { state.syncing = null }
  await showOutbox()
  if (moved && !$('#route-view').hidden) await loadRoute().catch(() => {})
}
window.parkpassSync = sync

async function showOutbox() {
  const items = await waiting()
  const note = $('#outbox-note')
  note.hidden = items.length === 0
  note.textContent = items.length ? `待同步 ${items.length} 笔现金收款（有信号时自动上传）` : ''
  const problems = await refused()
  const attention = $('#attention')
  attention.hidden = problems.length === 0
  attention.textContent = problems.length
    ? `需交物业处理 ${problems.length} 笔现金：` + problems.map((p) => `${p.title} ${yuan(p.body.amount_fen)} 元（${p.reason}）`).join('；')
    : ''
  for (const li of document.querySelectorAll('#stops li')) {
    const pending = items.some((i) => i.booking_id === li.dataset.booking)
    const chip = li.querySelector('.state')
    if (pending) { chip.textContent = '待同步'; chip.classList.add('waiting') }
  }
  return items
}

function network() {
  const off = !navigator.onLine
  $('#net').textContent = off ? '无信号' : ''
  $('#net').classList.toggle('off', off)
  if (!off) sync().catch(show)
}
window.addEventListener('online', network)
window.addEventListener('offline', network)
setInterval(() => { if (navigator.onLine && state.token) sync().catch(() => {}) }, 5000)

// --- signing in
async function login(event) {
  event.preventDefault()
  const form = new FormData(event.target)
  try {
    const { token } = await call('POST', '/auth/login', { email: form.get('email'), password: form.get('password') })
    state.token = token; localStorage.setItem(TOKEN, token); $('#login-error').textContent = ''
    await start()
  } catch (e) { $('#login-error').textContent = e.message }
}

function logout() { state.token = ''; localStorage.removeItem(TOKEN); $('#app').hidden = true; $('#login').hidden = false }

async function start() {
  $('#login').hidden = true; $('#app').hidden = false
  network()
  await loadRoute()
}

// --- the evening's route
async function loadRoute() {
  show('')
  try {
    const day = $('#day').value
    const answer = await call('GET', day ? `/collect/route?day=${day}` : '/collect/route')
    $('#day').value = answer.day  // the server's today by default (the community's clock, not the phone's)
    state.stops = answer.stops
    $('#in-hand').textContent = `手中现金 ${yuan(answer.in_hand_fen)} 元`
  } catch (e) {
    if (!(e instanceof Offline)) throw e
    notify('没有网络信号：显示上次的路线')
    if (!state.stops.length) {  // a reload with no signal: the route this phone saw last
      const kept = JSON.parse(localStorage.getItem(ROUTE) || 'null')
      if (kept) { state.stops = kept.stops; $('#day').value = kept.day }
    }
  }
  if (state.stops.length) localStorage.setItem(ROUTE, JSON.stringify({ day: $('#day').value, stops: state.stops }))
  const list = $('#stops'); list.replaceChildren()
  for (const stop of state.stops) {
    const li = document.createElement('li')
    li.dataset.booking = stop.booking_id
    const chip = document.createElement('span'); chip.className = 'state'; chip.textContent = stop.state_label
    const what = document.createElement('div')
    what.textContent = `${stop.slot_local.slice(11, 16)} ${stop.building} ${stop.number} · 应收 ${yuan(stop.due_fen)} 元`
    const notes = document.createElement('div'); notes.className = 'notes'; notes.textContent = stop.notes
    const go = document.createElement('button'); go.type = 'button'; go.textContent = '上门'
    go.addEventListener('click', () => openVisit(stop))
    li.append(chip, what, notes, go)
    list.append(li)
  }
  $('#no-stops').hidden = state.stops.length > 0
  await showOutbox()
}

// --- a visit
function openVisit(stop) {
  state.visit = stop; state.checkIn = null; state.drawn = false
  state.cashKey = newKey(); state.qrKey = newKey()  // one key per opened visit: a double tap is one payment
  stopPolling()
  $('#route-view').hidden = true; $('#visit-view').hidden = false
  $('#visit-title').textContent = `${stop.building} ${stop.number}（${stop.slot_local.slice(11, 16)}）`
  $('#visit-notes').textContent = stop.notes ? `业主备注：${stop.notes}` : ''
  const items = $('#visit-items'); items.replaceChildren()
  for (const item of stop.items) {
    const li = document.createElement('li')
    li.textContent = `${item.name}：${yuan(item.fen)} 元${item.late_fee_fen ? `（含滞纳金 ${yuan(item.late_fee_fen)} 元）` : ''}`
    items.append(li)
  }
  $('#visit-due').textContent = `${yuan(stop.due_fen)} 元`
  $('#check-in-text').textContent = '尚未签到'
  $('#cash-amount').value = ''
  $('#qr').hidden = true; $('#visit-result').textContent = ''
  for (const b of document.querySelectorAll('#visit-view button')) b.disabled = false
  clearSignature()
  show(''); notify('')
}

function backToRoute() {
  stopPolling()
  $('#visit-view').hidden = true; $('#route-view').hidden = false
  loadRoute().catch(show)
}

function checkIn() {
  if (!navigator.geolocation) { show('此设备无法定位'); return }
  $('#check-in-text').textContent = '正在定位…'
  navigator.geolocation.getCurrentPosition((p) => {
    state.checkIn = { latitude: p.coords.latitude, longitude: p.coords.longitude,
      accuracy_m: Math.round(p.coords.accuracy), at: new Date().toISOString() }
    $('#check-in-text').textContent =
      `已签到：${p.coords.latitude.toFixed(5)}, ${p.coords.longitude.toFixed(5)}（精度约 ${Math.round(p.coords.accuracy)} 米）`
  }, (e) => { $('#check-in-text').textContent = `定位失败：${e.message}`; show('请允许定位后重新签到') },
  { enableHighAccuracy: true, timeout: 15000 })
}

// --- the owner's signature
function canvasPoint(canvas, event) {
  const box = canvas.getBoundingClientRect()
  return [(event.clientX - box.left) * canvas.width / box.width, (event.clientY - box.top) * canvas.height / box.height]
}

function setUpSignature() {
  const canvas = $('#signature'); const pen = canvas.getContext('2d')
  let down = false
  canvas.addEventListener('pointerdown', (e) => {
    down = true; canvas.setPointerCapture(e.pointerId)
    const [x, y] = canvasPoint(canvas, e); pen.beginPath(); pen.moveTo(x, y)
  })
  canvas.addEventListener('pointermove', (e) => {
    if (!down) return
    const [x, y] = canvasPoint(canvas, e); pen.lineTo(x, y); pen.stroke(); state.drawn = true
  })
  canvas.addEventListener('pointerup', () => { down = false })
}

function clearSignature() {
  const canvas = $('#signature'); const pen = canvas.getContext('2d')
  pen.fillStyle = '#fff'; pen.fillRect(0, 0, canvas.width, canvas.height)
  pen.strokeStyle = '#000'; pen.lineWidth = 3; pen.lineCap = 'round'
  state.drawn = false
}

function evidence() {
  if (!state.checkIn) throw new Error('请先签到（获取定位）')
  if (!state.drawn) throw new Error('请业主在屏幕上签名')
  return { check_in: state.checkIn, signature_png: $('#signature').toDataURL('image/png').split(',')[1] }
}

// --- taking cash: online at once, else kept and uploaded when the signal returns
async function takeCash(event) {
  event.preventDefault()
  show('')
  const stop = state.visit
  let body
  try {
    const fen = Math.round(Number($('#cash-amount').value) * 100)
    if (!Number.isFinite(fen) || fen !== stop.due_fen) throw new Error(`现金金额应等于应收 ${yuan(stop.due_fen)} 元`)
    body = { amount_fen: fen, ...evidence(), idempotency_key: state.cashKey }
  } catch (e) { show(e); return }
  const button = $('#cash-submit'); button.disabled = true
  const title = `${stop.building} ${stop.number}`
  try {
    const paid = await call('POST', `/collect/visits/${stop.booking_id}/cash`, body)
    $('#visit-result').textContent = `已收款 ${paid.amount_yuan} 元，电子收据已发给业主（${paid.receipt_id}）`
  } catch (e) {
    if (worthRetrying(e)) {  // no signal, signed out, the server down: kept on the phone, sent again later
      await keep({ key: state.cashKey, booking_id: stop.booking_id, title, body })
      $('#visit-result').textContent = `待同步：现金 ${yuan(body.amount_fen)} 元已记在手机上，有信号时自动上传`
      await showOutbox()
      return
    }
    button.disabled = false
    show(e)
  }
}

// --- a QR code: a new order each time (the previous one closed), paid by the owner scanning it
async function showQr(channel) {
  show('')
  if (!navigator.onLine) { show('收款码需要网络：请到有信号处再试，或收取现金'); return }
  const stop = state.visit
  let body
  try { body = { channel, ...evidence(), idempotency_key: state.qrKey } } catch (e) { show(e); return }
  const buttons = document.querySelectorAll('.qr-buttons button')
  for (const b of buttons) b.disabled = true
  try {
    const shown = await call('POST', `/collect/visits/${stop.booking_id}/qr`, body)
    state.qrKey = newKey()  // the next tap is a new code (this one is closed then)
    $('#qr-image').src = `data:image/svg+xml;base64,${btoa(unescape(encodeURIComponent(shown.qr_svg)))}`
    $('#qr-image').dataset.code = shown.code
    $('#qr').dataset.order = shown.order_id
    $('#qr-text').textContent = `请业主用${channel === 'wechat' ? '微信' : '支付宝'}扫码支付 ${shown.amount_yuan} 元`
    $('#qr').hidden = false
    poll(shown.order_id)
  } catch (e) {
    show(e instanceof Offline ? new Error('收款码需要网络：请到有信号处再试，或收取现金') : e)
  } finally {
    for (const b of buttons) b.disabled = false
  }
}

function stopPolling() { if (state.polling) { clearInterval(state.polling); state.polling = null } }

function poll(orderId) {
  stopPolling()
  state.polling = setInterval(async () => {
    try {
      const order = await call('GET', `/collect/orders/${orderId}`)
      if (order.state === 'paid') {
        stopPolling()
        $('#qr').hidden = true
        $('#visit-result').textContent = `已收款 ${order.amount_yuan} 元（扫码），电子收据已发给业主（${order.receipt_id}）`
      } else if (order.state === 'closed') {
        stopPolling()
        $('#qr').hidden = true
        $('#visit-result').textContent = '收款码已失效：请重新生成，或收取现金'
      }
    } catch (e) {
      if (e instanceof Offline) return  // a weak signal: ask again next time
      stopPolling()
      $('#qr').hidden = true
      show(e)  // the visit was given to someone else, ...
    }
  }, 1000)
}

async function notHome(event) {
  event.preventDefault()
  show('')
  const stop = state.visit
  try {
    await call('POST', `/collect/visits/${stop.booking_id}/not-home`,
      { reason: $('#not-home-reason').value, check_in: state.checkIn })
    $('#visit-result').textContent = `已记录：${$('#not-home-reason').value}`
  } catch (e) { show(e) }
}

$('#login-form').addEventListener('submit', login)
$('#logout').addEventListener('click', logout)
$('#day').addEventListener('change', () => loadRoute().catch(show))
$('#back').addEventListener('click', backToRoute)
$('#check-in').addEventListener('click', checkIn)
$('#clear-signature').addEventListener('click', clearSignature)
$('#cash-form').addEventListener('submit', takeCash)
$('#not-home-form').addEventListener('submit', notHome)
for (const b of document.querySelectorAll('.qr-buttons button')) b.addEventListener('click', () => showQr(b.dataset.channel))
setUpSignature()
if (state.token) start().catch(logout)
