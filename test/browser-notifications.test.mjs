// Per-user notifications in a real Chromium: two browser contexts, two users. Each page shows
// its own user's notes and never another's, live and after a dropped connection (replay); a
// visitor without a session gets the login form and a 401 from the stream.
import t0, { test } from 'tap'
import { launchBrowser, screenshot, startApp, trackErrors, waitInPage } from './helpers/browser.mjs'
import { until } from './helpers/wait.mjs'

const browser = await launchBrowser(t0)
const VIEWPORT = { width: 1000, height: 700 }

/** A fresh browser profile logged in as `name` through the page's own form. */
async function logIn (t, base, name) {
  const context = await browser.newContext({ viewport: VIEWPORT })
  t.teardown(() => context.close())
  const page = trackErrors(await context.newPage())
  await page.goto(base + '/notifications.html')
  await page.fill('#name', name)
  await page.click('#login-form button')
  await waitInPage(page, (user) => document.body.dataset.user === user, name, `${name}'s inbox`)
  await waitInPage(page, () => document.querySelector('#connection').dataset.state === 'live', undefined, `${name}'s stream to open`)
  const [cookie] = await context.cookies()
  return { page, cookie: `${cookie.name}=${cookie.value}` }
}

const notesOf = (page) => page.$$eval('#notes li', (items) => items.map((li) => ({ id: li.dataset.id, from: li.dataset.from, text: li.dataset.text })))

if (browser !== null) {
  test('without a session: the login form, and the stream answers 401', async (t) => {
    const { base } = await startApp(t)
    const context = await browser.newContext({ viewport: VIEWPORT })
    t.teardown(() => context.close())
    const page = trackErrors(await context.newPage())
    await page.goto(base + '/notifications.html')
    await waitInPage(page, () => !document.querySelector('#login').hidden, undefined, 'the login form')
    t.equal(await page.isVisible('#inbox'), false, 'no inbox')
    const status = await page.evaluate(async () => (await fetch('/api/notifications/stream')).status)
    t.equal(status, 401, 'the stream refuses a visitor without a session')
    await screenshot(t, page, 'notifications-login')
    t.same(page.errors, [], 'no script errors')
  })

  test('two users, two contexts: each sees only their own notes, live and on replay', async (t) => {
    const { app, base, post, drop } = await startApp(t)
    const alice = await logIn(t, base, 'alice')
    const bob = await logIn(t, base, 'bob')
    await until(() => app.sse.metrics().subscribers === 2, 'both inboxes to subscribe')

    // Sent through the pages' own forms, and through the API as each user.
    await alice.page.fill('#to', 'bob')
    await alice.page.fill('#text', 'hi bob, from alice')
    await alice.page.click('#send-form button')
    await bob.page.fill('#to', 'alice')
    await bob.page.fill('#text', 'hi alice, from bob')
    await bob.page.click('#send-form button')
    await waitInPage(bob.page, () => document.querySelectorAll('#notes li').length === 1, undefined, "alice's note in bob's inbox")
    await waitInPage(alice.page, () => document.querySelectorAll('#notes li').length === 1, undefined, "bob's note in alice's inbox")
    await post('/api/notifications', { to: 'alice', text: 'note to self' }, { cookie: alice.cookie })
    await post('/api/notifications', { to: 'carol', text: 'for carol only' }, { cookie: alice.cookie })
    await post('/api/notifications', { to: 'bob', text: 'bob, live 2' }, { cookie: alice.cookie })
    await waitInPage(alice.page, () => document.querySelectorAll('#notes li').length === 2, undefined, "alice's second note")
    await waitInPage(bob.page, () => document.querySelectorAll('#notes li').length === 2, undefined, "bob's second note")

    // Both connections cut; notes keep coming while they are away, for each of them and others.
    drop()
    await until(() => app.sse.metrics().subscribers === 0, 'the server to see both clients gone')
    await post('/api/notifications', { to: 'bob', text: 'bob, while away' }, { cookie: alice.cookie })
    await post('/api/notifications', { to: 'alice', text: 'alice, while away' }, { cookie: bob.cookie })
    await post('/api/notifications', { to: 'carol', text: 'carol, while away' }, { cookie: bob.cookie })
    await waitInPage(alice.page, () => document.querySelectorAll('#notes li').length === 3, undefined, "alice's note from while she was away")
    await waitInPage(bob.page, () => document.querySelectorAll('#notes li').length === 3, undefined, "bob's note from while he was away")
    await post('/api/notifications', { to: 'alice', text: 'alice, live again' }, { cookie: bob.cookie })
    await post('/api/notifications', { to: 'bob', text: 'bob, live again' }, { cookie: alice.cookie })
    await waitInPage(alice.page, () => document.querySelectorAll('#notes li').length === 4, undefined, "alice's last note")
    await waitInPage(bob.page, () => document.querySelectorAll('#notes li').length === 4, undefined, "bob's last note")
    // A last note each, as a barrier: delivery is in order, so a stray note (someone else's, or
    // a duplicate) would show up before it.
    await post('/api/notifications', { to: 'alice', text: 'alice, last' }, { cookie: bob.cookie })
    await post('/api/notifications', { to: 'bob', text: 'bob, last' }, { cookie: alice.cookie })
    const arrived = (text) => [...document.querySelectorAll('#notes li')].some((li) => li.dataset.text === text)
    await waitInPage(alice.page, arrived, 'alice, last', "alice's barrier note")
    await waitInPage(bob.page, arrived, 'bob, last', "bob's barrier note")

    const aliceNotes = await notesOf(alice.page)
    const bobNotes = await notesOf(bob.page)
    t.same(aliceNotes.map(({ from, text }) => ({ from, text })), [
      { from: 'bob', text: 'hi alice, from bob' },
      { from: 'alice', text: 'note to self' },
      { from: 'bob', text: 'alice, while away' },
      { from: 'bob', text: 'alice, live again' },
      { from: 'bob', text: 'alice, last' }
    ], "alice's inbox: hers only, in order, each once")
    t.same(bobNotes.map(({ from, text }) => ({ from, text })), [
      { from: 'alice', text: 'hi bob, from alice' },
      { from: 'alice', text: 'bob, live 2' },
      { from: 'alice', text: 'bob, while away' },
      { from: 'alice', text: 'bob, live again' },
      { from: 'alice', text: 'bob, last' }
    ], "bob's inbox: his only, in order, each once")
    t.equal(new Set(aliceNotes.map((n) => n.id)).size, 5, 'alice: distinct ids')
    t.ok(app.sse.metrics().replays >= 2, 'both reconnects were resumed from their ids')
    t.notOk(await alice.page.isVisible('#notice'), 'no reset notice for alice')
    t.notOk(await bob.page.isVisible('#notice'), 'no reset notice for bob')
    await screenshot(t, alice.page, 'notifications-alice')
    await screenshot(t, bob.page, 'notifications-bob')
    t.same([...alice.page.errors, ...bob.page.errors], [], 'no script errors')
  })
}
