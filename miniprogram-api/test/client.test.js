// Drives parkpass.js against a running ParkPass (the local stack) with a small stand-in for `wx`.
// Usage: node client.test.js <api-url> <openid>; exits non-zero on the first failed check.
const assert = require('node:assert/strict')
const parkpass = require('../parkpass.js')

const [apiUrl, firstOpenid] = process.argv.slice(2)
let openid = firstOpenid
const storage = {}
let logins = 0
const fakeWx = {
  login: ({ success }) => success({ code: `sim:${openid}:${++logins}` }),
  getStorageSync: (key) => storage[key],
  setStorageSync: (key, value) => { storage[key] = value },
  request: ({ url, method, data, header, success, fail }) => {
    fetch(url, { method, headers: header, body: data === undefined ? undefined : JSON.stringify(data) })
      .then(async (r) => {
        const text = await r.text()
        success({ statusCode: r.status, data: text ? JSON.parse(text) : '' })
      })
      .catch((e) => fail({ errMsg: String(e) }))
  },
}

async function main() {
  parkpass.configure({ baseUrl: apiUrl, wx: fakeWx })

  const owner = await parkpass.login()
  assert.match(owner.id, /^owner-/)
  assert.deepEqual(await parkpass.request('POST', '/api/v1/me/vehicles', { plate: '粤b 12345' }), { plate: '粤B12345' })
  assert.deepEqual((await parkpass.request('GET', '/api/v1/me/cards')).cards, [])

  await assert.rejects(parkpass.request('POST', '/api/v1/me/vehicles', { plate: '粤B1234O' }), (e) => {
    assert.equal(e.code, 'invalid_plate')
    assert.equal(e.status, 400)
    return true
  })

  // Two hours and a minute later the access token has expired: the client refreshes and retries.
  const later = new Date(Date.parse((await (await fetch(apiUrl + '/sim/clock')).json()).now) + 121 * 60 * 1000)
  await fetch(apiUrl + '/sim/clock', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ now: later.toISOString() }) })
  const before = storage['parkpass.tokens'].token
  assert.deepEqual((await parkpass.request('GET', '/api/v1/me/vehicles')).vehicles, ['粤B12345'])
  assert.notEqual(storage['parkpass.tokens'].token, before)
  assert.equal(logins, 1, 'refreshed, not logged in again')

  // Refresh tokens rotate: the one stored now is new, and three calls meeting an expired token together share
  // one refresh (sending the same refresh token twice would end the session).
  const rotated = storage['parkpass.tokens'].refresh_token
  const later2 = new Date(Date.parse((await (await fetch(apiUrl + '/sim/clock')).json()).now) + 121 * 60 * 1000)
  await fetch(apiUrl + '/sim/clock', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ now: later2.toISOString() }) })
  const together = await Promise.all([1, 2, 3].map(() => parkpass.request('GET', '/api/v1/me/vehicles')))
  assert.deepEqual(together.map((r) => r.vehicles), [['粤B12345'], ['粤B12345'], ['粤B12345']])
  assert.notEqual(storage['parkpass.tokens'].refresh_token, rotated)
  assert.equal(logins, 1, 'one refresh for the three, no reuse, no login')
  const reused = await fetch(apiUrl + '/api/v1/auth/refresh', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ refresh_token: rotated }) })
  assert.equal(reused.status, 401)
  assert.equal((await reused.json()).error.code, 'refresh_token_reused') // the old one again: the session ended
  assert.equal((await parkpass.request('GET', '/api/v1/me')).id, owner.id) // its access token lives on (2 h) ...
  assert.equal(logins, 1)
  storage['parkpass.tokens'].token = 'expired' // ... and when it ends, the ended session's refresh fails:
  assert.equal((await parkpass.request('GET', '/api/v1/me')).id, owner.id) // the client logs in again by itself
  assert.equal(logins, 2)

  // Logging out ends the session: its refresh token is refused after, and the next call logs in again.
  const ended = storage['parkpass.tokens'].refresh_token
  await parkpass.logout()
  assert.deepEqual(storage['parkpass.tokens'], {})
  const after = await fetch(apiUrl + '/api/v1/auth/refresh', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ refresh_token: ended }) })
  assert.equal((await after.json()).error.code, 'session_ended')
  assert.equal((await parkpass.request('GET', '/api/v1/me')).id, owner.id)
  assert.equal(logins, 3)

  // A refresh token that no longer works: the client logs in again with a new wx.login() code.
  storage['parkpass.tokens'] = { token: 'broken', refresh_token: 'broken' }
  assert.equal((await parkpass.request('GET', '/api/v1/me')).id, owner.id)
  assert.equal(logins, 4)

  // Orders: a new owner has none, and another owner's order (or none at all) is not found.
  assert.deepEqual(await parkpass.myOrders(), { orders: [], next_cursor: null })
  await assert.rejects(parkpass.cancelOrder('order-of-someone-else'), (e) => e.code === 'order_not_found' && e.status === 404)

  // The demo owner orders a renewal, does not pay, cancels it, and may renew again at once.
  openid = 'demo-owner'
  delete storage['parkpass.tokens']
  await parkpass.login()
  const renew = (key) => parkpass.request('POST', '/api/v1/cards/card-demo/renewals', { package_id: 'demo-3m', channel: 'wechat', idempotency_key: key })
  const order = await renew('js-client-renew-1')
  assert.equal(order.state, 'pending')
  await assert.rejects(renew('js-client-renew-2'), (e) => e.code === 'unpaid_order_exists')
  assert.equal((await parkpass.cancelOrder(order.order_id)).state, 'closed')
  assert.equal((await parkpass.cancelOrder(order.order_id)).state, 'closed') // a second tap answers the same
  const again = await renew('js-client-renew-2')
  const page = await parkpass.myOrders({ limit: 1 })
  assert.equal(page.orders[0].order_id, again.order_id) // newest first
  assert.equal(page.orders[0].links.cancel, `/api/v1/orders/${again.order_id}/cancel`)
  const rest = await parkpass.myOrders({ limit: 1, cursor: page.next_cursor })
  assert.deepEqual([rest.orders[0].order_id, rest.orders[0].state_text], [order.order_id, '已关闭'])

  // A wrong claim code is refused in Chinese; a phone set to English reads English.
  await assert.rejects(parkpass.claimCard('ZZZZ-ZZZZZZ'), (e) => e.code === 'claim_code_invalid' && /认领码不正确/.test(e.message))
  parkpass.configure({ language: 'en' })
  await assert.rejects(parkpass.claimCard('ZZZZ-ZZZZZZ'), (e) => e.code === 'claim_code_invalid' && /^no card waits/.test(e.message))
  parkpass.configure({ language: undefined })
  console.log('client ok')
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
