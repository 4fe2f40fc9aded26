// ParkPass client for a WeChat mini-program: copy this file into the mini-program.
//
//   const parkpass = require('./parkpass.js')
//   parkpass.configure({ baseUrl: 'https://api.example.com' })
//   const me = await parkpass.login()                       // wx.login() -> our tokens
//   const cards = await parkpass.request('GET', '/api/v1/me/cards')
//   const { orders, next_cursor } = await parkpass.myOrders({ limit: 20 })
//   await parkpass.cancelOrder(orderId)                       // an unpaid order, here and at WeChat Pay
//   const card = await parkpass.claimCard('7KQ2-MX4P9D')      // a card the office imported, by its slip's code
//
// Messages (error.message, order states) are in Chinese; a phone set to English gets English
// (Accept-Language from wx.getSystemInfoSync().language, or configure({ language: 'en' })).
//
// Tokens live in wx storage. An expired access token is refreshed once and the
// call retried; if refreshing fails too, the client logs in again with wx.login().
// A refresh token works once: each refresh stores the new one it answers, and only one refresh is in flight
// at a time (a refresh token sent twice ends the session on the server: 401 refresh_token_reused). Calls that
// meet an expired token together wait for that one refresh.
//   await parkpass.logout()                                   // ends the session here and on the server
// Failures reject with a ParkPassError carrying the API's stable `code` (and `details`, when the API shows
// what is there already).

const STORE_KEY = 'parkpass.tokens'
let config = { baseUrl: '', wx: typeof wx === 'undefined' ? undefined : wx }

class ParkPassError extends Error {
  constructor(status, code, message, details) {
    super(message)
    this.name = 'ParkPassError'
    this.status = status
    this.code = code
    this.details = details || {} // a few conflicts show what is there already: details.order, details.invoice
  }
}

function configure(options) {
  config = Object.assign({}, config, options)
}

function send(method, path, data, token) {
  return new Promise((resolve, reject) => {
    const header = { 'Content-Type': 'application/json', 'Accept-Language': language() }
    if (token) header.Authorization = 'Bearer ' + token
    config.wx.request({
      url: config.baseUrl + path,
      method,
      data,
      header,
      success: (res) => resolve(res),
      fail: (err) => reject(new ParkPassError(0, 'network_error', err.errMsg || 'network error')),
    })
  })
}

function language() {
  if (config.language) return config.language
  const info = config.wx.getSystemInfoSync ? config.wx.getSystemInfoSync() : {}
  return /^en/i.test(info.language || '') ? 'en' : 'zh-CN'
}

function failure(res) {
  const error = (res.data && res.data.error) || {}
  return new ParkPassError(res.statusCode, error.code || 'http_' + res.statusCode, error.message || '', error.details)
}

function wxLoginCode() {
  return new Promise((resolve, reject) =>
    config.wx.login({ success: (r) => resolve(r.code), fail: (e) => reject(new ParkPassError(0, 'wx_login_failed', e.errMsg)) })
  )
}

function saveTokens(body) {
  const tokens = { token: body.token, refresh_token: body.refresh_token }
  config.wx.setStorageSync(STORE_KEY, tokens)
  return tokens
}

async function login() {
  const res = await send('POST', '/api/v1/auth/login', { code: await wxLoginCode() })
  if (res.statusCode !== 200) throw failure(res)
  saveTokens(res.data)
  return res.data.owner
}

let refreshing = null // the one refresh in flight: every caller that needs it waits for it

function refresh() {
  if (!refreshing) {
    refreshing = refreshOnce().finally(() => {
      refreshing = null
    })
  }
  return refreshing
}

async function refreshOnce() {
  const stored = config.wx.getStorageSync(STORE_KEY)
  if (!stored || !stored.refresh_token) return false
  const res = await send('POST', '/api/v1/auth/refresh', { refresh_token: stored.refresh_token })
  if (res.statusCode !== 200) {
    config.wx.setStorageSync(STORE_KEY, {}) // used, ended or expired: it never works again
    return false
  }
  saveTokens(res.data) // the one sent works no more: keep the new one
  return true
}

// End the session: the stored tokens are dropped whatever the server answers (a session ended already is fine).
async function logout() {
  const stored = config.wx.getStorageSync(STORE_KEY) || {}
  config.wx.setStorageSync(STORE_KEY, {})
  if (!stored.refresh_token) return
  const res = await send('POST', '/api/v1/auth/logout', { refresh_token: stored.refresh_token })
  if (res.statusCode >= 400 && res.statusCode !== 401) throw failure(res)
}

async function request(method, path, data) {
  const token = () => (config.wx.getStorageSync(STORE_KEY) || {}).token
  let res = await send(method, path, data, token())
  if (res.statusCode === 401) {
    if (!(await refresh())) await login()
    res = await send(method, path, data, token())
  }
  if (res.statusCode >= 400) throw failure(res)
  return res.data
}

// The owner's orders, newest first: resolves { orders, next_cursor }; pass next_cursor back for the next page.
function myOrders(options) {
  const { limit, cursor } = options || {}
  const query = []
  if (limit) query.push('limit=' + encodeURIComponent(limit))
  if (cursor) query.push('cursor=' + encodeURIComponent(cursor))
  return request('GET', '/api/v1/me/orders' + (query.length ? '?' + query.join('&') : ''))
}

// Cancel an unpaid order: resolves the order, closed (again, if it was already). Rejects with code
// 'order_paid' when the payer had paid it after all (error.details.order is the paid order: the card is
// renewed), 'order_refunded', or 'order_not_found'.
function cancelOrder(orderId) {
  return request('POST', '/api/v1/orders/' + encodeURIComponent(orderId) + '/cancel')
}

// Claim a card the property office imported, with the code on the slip it printed (a slip's QR code opens the
// mini-program with the link <public URL>/c/<code>: pass the last part). Resolves the card, now the owner's.
// Rejects with code 'claim_code_invalid', 'claim_code_locked' (too many wrong tries: the office prints a new
// slip) or 'rate_limited'. Cards imported with the owner's phone need no code: binding the phone claims them.
function claimCard(code) {
  return request('POST', '/api/v1/cards/claims', { code })
}

module.exports = { configure, login, logout, request, myOrders, cancelOrder, claimCard, ParkPassError }
