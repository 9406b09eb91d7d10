// The sign-in and consent pages in a real browser: headless Chromium (Debian's
// /usr/bin/chromium, driven by playwright-core; no browser is downloaded).
//
// usage: node consent_browser.mjs --server-bin PATH --fake-bin PATH --data-dir DIR --out DIR
//                                 [--chromium /usr/bin/chromium]
//
// Starts the fake Gumloop and `gumloop-mcp serve --auth oauth` on 127.0.0.1, with
// http://localhost:<port> as the public URL (a loopback origin, where Chromium keeps the
// `__Host-` Secure session cookie over plain http). Through the admin API it connects an
// account, adds a local user allowed to use it and a public client whose redirect URI is
// loopback (any port, RFC 8252). Then, in Chromium:
//  1. the authorization URL (PKCE S256) shows the sign-in page; a wrong password shows
//     the error; the right one the consent page (client name, redirect host, account,
//     scope checkboxes); unticking a scope and approving lands on the redirect URI with
//     code, state and iss, and the code exchanged at /oauth/token calls /mcp with only the
//     ticked scope;
//  2. a second request, already signed in: deny lands with error=access_denied;
//  3. the consent and grants pages do not render inside a frame of another origin (a
//     frameable page beside them does);
//  4. the grants page lists the grant; Revoke says so, and the access token gets 401;
//     Sign out ends the session.
// A screenshot of each page state goes to --out (listed at the end). Exits 1 with a
// FAILED line on the first failed check.

import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { chromium } from 'playwright-core';

const { values: args } = parseArgs({
  options: {
    'server-bin': { type: 'string' },
    'fake-bin': { type: 'string' },
    'data-dir': { type: 'string' },
    out: { type: 'string' },
    chromium: { type: 'string', default: '/usr/bin/chromium' },
  },
});
for (const a of ['server-bin', 'fake-bin', 'data-dir', 'out']) {
  if (!args[a]) {
    console.error(`usage: consent_browser.mjs --server-bin PATH --fake-bin PATH --data-dir DIR --out DIR (missing --${a})`);
    process.exit(2);
  }
}

const PASSWORD = 'correct horse battery staple';
const CLIENT_NAME = 'Browser Test Client';
const ACCOUNT_NAME = 'Ops team';
const started = Date.now();

class Failed extends Error {}
function check(cond, msg) {
  if (!cond) throw new Failed(msg);
}
function log(msg) {
  console.log(`  consent-browser: ${msg}`);
}

// --- processes

const children = [];
const logs = {};

function start(name, cmd, argv, env) {
  const child = spawn(cmd, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  logs[name] = { out: '', err: '' };
  child.stdout.on('data', (d) => (logs[name].out += d));
  child.stderr.on('data', (d) => (logs[name].err += d));
  children.push(child);
  return child;
}

async function until(what, ms, probe) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    check(Date.now() < deadline, `${what} within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// --- HTTP from the test itself (not the browser)

async function call(method, url, { headers = {}, json, form } = {}) {
  let body;
  if (json !== undefined) {
    body = JSON.stringify(json);
    headers = { 'content-type': 'application/json', ...headers };
  } else if (form !== undefined) {
    body = new URLSearchParams(form).toString();
    headers = { 'content-type': 'application/x-www-form-urlencoded', ...headers };
  }
  const resp = await fetch(url, { method, headers, body, redirect: 'manual' });
  const text = await resp.text();
  let data = null;
  try {
    data = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: resp.status, headers: resp.headers, text, data };
}

function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

// --- the redirect URI (and the other-origin pages that try to frame the server's)

const callbacks = [];
function callbackServer() {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, `http://${req.headers.host}`);
    const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
    let html;
    if (url.pathname === '/callback') {
      callbacks.push(url);
      const rows = [...url.searchParams].map(([k, v]) => `<tr><th>${esc(k)}</th><td><code>${esc(k === 'code' ? `${v.slice(0, 12)}…` : v)}</code></td></tr>`);
      html = `<h1>The application's redirect URI</h1><p>${esc(url.origin + url.pathname)} received:</p><table id="params">${rows.join('')}</table>`;
    } else if (url.pathname === '/frameable') {
      html = '<p id="frameable">a page that allows framing</p>';
    } else if (url.pathname === '/frame') {
      const frames = url.searchParams.getAll('src').map((src, i) => `<h2>${esc(new URL(src).pathname)}</h2><iframe name="f${i}" src="${esc(src)}" width="640" height="220"></iframe>`);
      html = `<h1>Another origin framing the server's pages</h1><h2>control</h2><iframe name="control" src="/frameable" width="640" height="60"></iframe>${frames.join('')}`;
    } else {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><html><head><meta charset="utf-8"><style>body{font:15px system-ui,sans-serif;margin:2rem}th{text-align:left;padding-right:1rem}iframe{border:2px dashed #c33;display:block}</style></head><body>${html}</body></html>`);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// --- the run

const shots = [];
let page;
let browser;

async function shot(name) {
  const file = path.join(args.out, `${String(shots.length + 1).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  shots.push(file);
}

async function main() {
  rmSync(args.out, { recursive: true, force: true });
  mkdirSync(args.out, { recursive: true });
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GUMLOOP_')));

  // The fake Gumloop prints "api URL" and "ws URL".
  const fakeProc = start('fake', args['fake-bin'], ['--bind', '127.0.0.1:0'], env);
  const [api, ws] = await until('fake-gumloop prints its api and ws URLs', 10_000, () => {
    check(fakeProc.exitCode === null, `fake-gumloop exited (${fakeProc.exitCode}): ${logs.fake.err.slice(-500)}`);
    const api = /^api (\S+)$/m.exec(logs.fake.out);
    const ws = /^ws (\S+)$/m.exec(logs.fake.out);
    return api && ws && [api[1], ws[1]];
  });

  // The public URL names localhost: its origin is the issuer, and loopback is a secure
  // context for Chromium, so the `__Host-` cookie (which must be Secure) is kept over http.
  const port = await freePort();
  const base = `http://localhost:${port}`;
  const direct = `http://127.0.0.1:${port}`;
  const serverProc = start(
    'server',
    args['server-bin'],
    ['serve', '--bind', `127.0.0.1:${port}`, '--public-url', base, '--auth', 'oauth', '--data-dir', args['data-dir'], '--gumloop-base-url', api, '--gumloop-ws-base-url', ws],
    { ...env, GUMLOOP_MCP_LOG: 'info' },
  );
  await until('gumloop-mcp serve answers /livez', 20_000, async () => {
    check(serverProc.exitCode === null, `gumloop-mcp serve exited (${serverProc.exitCode})`);
    try {
      return (await fetch(`${direct}/livez`)).ok;
    } catch {
      return false;
    }
  });
  // The first start prints the admin API token on its second line.
  const adminToken = /^(\S+)$/m.exec(logs.server.out.split('\n').slice(1).join('\n'))?.[1];
  check(adminToken, `the first start printed no admin API token: ${logs.server.out}`);
  const admin = async (method, p, json, want = [200, 201]) => {
    const r = await call(method, `${direct}${p}`, { headers: { authorization: `Bearer ${adminToken}` }, json });
    check(want.includes(r.status), `admin ${method} ${p}: HTTP ${r.status}: ${r.text.slice(0, 500)}`);
    return r.data;
  };
  const account = await admin('POST', '/integrated-account', { name: ACCOUNT_NAME, gumloop: { api_key: 'test-key', user_id: 'user_test' } });
  await admin('POST', '/user', { username: 'alice', password: PASSWORD, access: [{ account_id: account.id }] });
  // Registered without a port: a loopback redirect URI matches on any port (RFC 8252 §7.3).
  const client = await admin('POST', '/oauth-client', { name: CLIENT_NAME, redirect_uris: ['http://127.0.0.1/callback'] });
  const cb = await callbackServer();
  const redirectUri = `http://127.0.0.1:${cb.address().port}/callback`;
  log(`fake Gumloop, gumloop-mcp at ${base}, account, user and client ready after ${Date.now() - started} ms`);

  const authorizeUrl = (challenge, state) => {
    const u = new URL(`${base}/oauth/authorize`);
    u.search = new URLSearchParams({
      response_type: 'code',
      client_id: client.client_id,
      redirect_uri: redirectUri,
      state,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      resource: `${base}/mcp`,
      scope: 'tools:read tools:write',
    }).toString();
    return u.toString();
  };
  const mcp = (token) =>
    call('POST', `${direct}/mcp`, {
      headers: { authorization: `Bearer ${token}`, accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/list' },
      json: {
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/list',
        params: { _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} } },
      },
    });

  const t = Date.now();
  browser = await chromium.launch({ executablePath: args.chromium });
  const context = await browser.newContext({ viewport: { width: 960, height: 720 } });
  page = await context.newPage();
  page.setDefaultTimeout(10_000);
  // Content Security Policy violations (the pages' own, outside the framing check) and
  // script errors; a 401 or a favicon's 404 is not one.
  const problems = [];
  let framing = false;
  page.on('console', (m) => m.type() === 'error' && !framing && /Content Security Policy|Refused to/.test(m.text()) && problems.push(`console: ${m.text()}`));
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  log(`Chromium ${browser.version()} (${args.chromium}) started in ${Date.now() - t} ms`);
  const session = async () => (await context.cookies(base)).find((c) => c.name === '__Host-gmcp_session');

  // 1. Sign in, consent, approve.
  const first = pkce();
  const state1 = randomBytes(12).toString('base64url');
  let resp = await page.goto(authorizeUrl(first.challenge, state1));
  check(resp.status() === 200, `the authorization URL answered ${resp.status()}`);
  const h = resp.headers();
  check(h['x-frame-options'] === 'DENY', `x-frame-options is ${h['x-frame-options']}`);
  check(/frame-ancestors 'none'/.test(h['content-security-policy'] ?? ''), `content-security-policy is ${h['content-security-policy']}`);
  check(await page.locator('#sign-in').isVisible(), 'the authorization URL shows no sign-in form');
  check((await page.locator('#client-name').textContent()) === CLIENT_NAME, 'the sign-in page does not name the client');
  check((await page.locator('#redirect-host').textContent()) === '127.0.0.1', 'the sign-in page does not name the redirect host');
  const anonymous = await session();
  check(anonymous, `Chromium did not keep the __Host-gmcp_session cookie (cookies: ${JSON.stringify(await context.cookies())})`);
  check(anonymous.secure && anonymous.httpOnly && anonymous.sameSite === 'Lax' && anonymous.path === '/' && !anonymous.domain.startsWith('.'), `the session cookie is ${JSON.stringify(anonymous)}`);
  check((await page.evaluate(() => document.activeElement?.id)) === 'username', 'the sign-in page does not put the focus in the user name');
  await shot('sign-in');
  log('sign-in page: client name and redirect host shown; Chromium keeps the __Host- Secure cookie on http://localhost');

  await page.fill('#username', 'alice');
  await page.fill('#password', 'not the password');
  await Promise.all([page.waitForEvent('load'), page.click('#sign-in')]);
  check((await page.locator('#error').textContent())?.includes('wrong user name or password'), `a wrong password shows no error: ${await page.content()}`);
  check(await page.locator('#sign-in').isVisible(), 'the sign-in form is gone after a wrong password');
  check((await page.inputValue('#username')) === 'alice', 'the user name typed is gone after a wrong password');
  check((await page.evaluate(() => document.activeElement?.id)) === 'password', 'after a wrong password the focus is not in the password field');
  await shot('sign-in-error');
  log('a wrong password: the sign-in page again, with the error, the name kept and the focus on the password');

  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForURL(/\/oauth\/authorize\?request=/), page.click('#sign-in')]);
  check(await page.locator('#approve').isVisible(), `no consent page after signing in: ${await page.content()}`);
  const signedIn = await session();
  check(signedIn && signedIn.value !== anonymous.value, 'signing in did not replace the session cookie');
  check((await page.locator('#user').textContent()) === 'alice', 'the consent page does not say who is signed in');
  check((await page.locator('#client-name').textContent()) === CLIENT_NAME, 'the consent page does not name the client');
  check((await page.locator('#redirect-host').textContent()) === '127.0.0.1', 'the consent page does not name the redirect host');
  const options = await page.locator('#account option').evaluateAll((os) => os.map((o) => [o.value, o.textContent]));
  check(options.length === 1 && options[0][0] === account.id && options[0][1].includes(ACCOUNT_NAME), `the account select offers ${JSON.stringify(options)}`);
  const scopes = await page.locator('input[name=scope]').evaluateAll((bs) => bs.map((b) => [b.value, b.checked]));
  check(JSON.stringify(scopes) === JSON.stringify([['tools:read', true], ['tools:write', true]]), `the scope checkboxes are ${JSON.stringify(scopes)}`);
  await shot('consent');
  log('consent page: user, client, redirect host, the account and both requested scopes (ticked)');

  await page.uncheck('input[name=scope][value="tools:write"]');
  await Promise.all([page.waitForURL((u) => u.href.startsWith(redirectUri)), page.click('#approve')]);
  const approved = new URL(page.url());
  check(approved.searchParams.get('code')?.startsWith('gmoc_'), `the redirect has no code: ${approved.search}`);
  check(approved.searchParams.get('state') === state1, `the redirect's state is ${approved.searchParams.get('state')}, not ${state1}`);
  check(approved.searchParams.get('iss') === base, `the redirect's iss is ${approved.searchParams.get('iss')}, not ${base}`);
  check(!approved.searchParams.has('error'), `the redirect has an error: ${approved.search}`);
  await shot('approved-callback');

  const tok = await call('POST', `${direct}/oauth/token`, {
    form: { grant_type: 'authorization_code', code: approved.searchParams.get('code'), code_verifier: first.verifier, client_id: client.client_id, redirect_uri: redirectUri, resource: `${base}/mcp` },
  });
  check(tok.status === 200, `the code exchange answered ${tok.status}: ${tok.text}`);
  check(tok.data.scope === 'tools:read', `the token's scope is ${tok.data.scope}: the unticked tools:write was granted`);
  const listed = await mcp(tok.data.access_token);
  check(listed.status === 200, `tools/list with the access token answered ${listed.status}: ${listed.text.slice(0, 300)}`);
  const names = listed.data.result.tools.map((x) => x.name);
  check(names.includes('list_all_gumloop_flows') && !names.some((n) => n.startsWith('create_')), `tools/list under tools:read lists ${names.join(', ')}`);
  log(`approve: redirect with code, state and iss; the code became a tools:read token; tools/list shows ${names.length} read tools`);

  // 2. Signed in already: a second request goes straight to consent; deny.
  const second = pkce();
  const state2 = randomBytes(12).toString('base64url');
  await page.goto(authorizeUrl(second.challenge, state2));
  check(await page.locator('#deny').isVisible(), 'a signed-in second request shows no consent page');
  const field = (name) => page.locator(`input[name=${name}]`).inputValue();
  const decidedForm = { csrf: await field('csrf'), request: await field('request'), decision: 'approve', account: account.id, scope: 'tools:read' };
  await Promise.all([page.waitForURL((u) => u.href.startsWith(redirectUri)), page.click('#deny')]);
  const denied = new URL(page.url());
  check(denied.searchParams.get('error') === 'access_denied', `deny redirected with ${denied.search}`);
  check(denied.searchParams.get('state') === state2 && denied.searchParams.get('iss') === base, `deny's state or iss is wrong: ${denied.search}`);
  check(!denied.searchParams.has('code'), 'deny sent a code');
  await shot('denied-callback');
  // Single use: the decided request's form, posted again with this browser's cookie, is refused.
  const replay = await context.request.post(`${base}/oauth/consent`, { form: decidedForm, maxRedirects: 0 });
  check(replay.status() === 400 && !replay.headers().location && /already decided|expired/.test(await replay.text()), `the denied request's form posted again answered ${replay.status()} ${replay.headers().location ?? ''}`);
  // Back re-fetches the authorization URL (no-store: nothing comes from the cache): today
  // a new request with a new handle, never the decided one.
  await page.goBack();
  const handles = await page.locator('input[name=request]').evaluateAll((is) => is.map((i) => i.value));
  check(!handles.includes(decidedForm.request), 'Back after deny showed the decided request from the cache');
  log('deny: redirect with error=access_denied, state and iss, no code; the decided form posted again is refused; Back never shows the decided request');

  // 3. Framing: a page of another origin on the same site (localhost, another port: the
  // SameSite=Lax cookie is sent, so the frame would show the real consent page) tries the
  // consent and grants pages beside a frameable control page.
  const third = pkce();
  await page.goto(authorizeUrl(third.challenge, 'framed'));
  check(await page.locator('#approve').isVisible(), 'no consent page for the framing check');
  const consentUrl = page.url();
  const frameUrl = new URL(`http://localhost:${cb.address().port}/frame`);
  for (const src of [consentUrl, `${base}/oauth/grants`]) frameUrl.searchParams.append('src', src);
  const framed = [];
  const onResponse = (r) => r.url().startsWith(base) && framed.push(r);
  framing = true;
  page.on('response', onResponse);
  await page.goto(frameUrl.toString());
  await page.waitForLoadState('load');
  page.off('response', onResponse);
  framing = false;
  const control = page.frame({ name: 'control' });
  check(control && (await control.locator('#frameable').count()) === 1, 'the control frame did not render: the framing check proves nothing');
  check(framed.length === 2 && framed.every((r) => r.status() === 200 && r.headers()['x-frame-options'] === 'DENY'), `the framed pages answered ${framed.map((r) => `${r.status()} ${r.url()}`).join(', ')}`);
  for (const name of ['f0', 'f1']) {
    const f = page.frame({ name });
    check(f, `no frame ${name}`);
    const shown = await f.evaluate(() => document.querySelectorAll('#approve, #deny, #sign-in, #grants, #user').length).catch(() => 0);
    check(shown === 0 && f.url().startsWith('chrome-error:'), `the server's page rendered inside a frame of another origin (${name}: ${f.url()})`);
  }
  await shot('framing-refused');
  log('framing: the consent and grants pages do not render in a frame of another origin (the control frame does)');

  // 4. The grants page lists the grant; revoke it; sign out.
  resp = await page.goto(`${base}/oauth/grants`);
  check(resp.status() === 200 && resp.headers()['x-frame-options'] === 'DENY', `the grants page answered ${resp.status()} ${JSON.stringify(resp.headers())}`);
  const grants = await admin('GET', '/oauth-grant');
  check(grants.result.length === 1, `the admin API lists ${grants.result.length} grants, not 1 (deny must create none)`);
  const grant = grants.result[0];
  const row = page.locator(`tr[id="${grant.id}"]`);
  check((await row.count()) === 1, `the grants page does not list ${grant.id}: ${await page.content()}`);
  const cells = await row.locator('td').allTextContents();
  check(cells[0] === CLIENT_NAME && cells[2] === ACCOUNT_NAME && cells[3] === 'tools:read', `the grant's row reads ${JSON.stringify(cells)}`);
  check((await page.locator('#user').textContent()) === 'alice', 'the grants page does not say who is signed in');
  await shot('grants');
  log(`grants page: ${grant.id} (${cells.join(' | ')})`);

  await Promise.all([page.waitForEvent('load'), page.click(`#revoke-${grant.id}`)]);
  check((await page.locator('#notice').textContent())?.startsWith('Revoked'), `no notice after Revoke: ${await page.content()}`);
  check((await page.locator(`#revoke-${grant.id}`).count()) === 0, 'the revoked grant still has a Revoke button');
  check((await row.textContent()).includes('revoked'), 'the revoked grant is not marked revoked');
  await shot('revoked');
  const after = await mcp(tok.data.access_token);
  check(after.status === 401, `tools/list with the revoked grant's token answered ${after.status}: ${after.text.slice(0, 300)}`);
  const refreshed = await call('POST', `${direct}/oauth/token`, { form: { grant_type: 'refresh_token', refresh_token: tok.data.refresh_token, client_id: client.client_id } });
  check(refreshed.status === 400 && refreshed.data?.error === 'invalid_grant', `refresh under the revoked grant answered ${refreshed.status}: ${refreshed.text}`);
  log('revoke: the page says so; the access token gets 401 on /mcp and the refresh token invalid_grant');

  await Promise.all([page.waitForEvent('load'), page.click('#sign-out')]);
  check((await page.locator('#message').textContent()).includes('signed out'), 'Sign out did not say so');
  check(!(await session()), 'the session cookie survived Sign out');
  await shot('signed-out');
  await Promise.all([page.waitForURL(`${base}/oauth/grants`), page.click('#grants-link')]);
  check(await page.locator('#sign-in').isVisible(), 'after Sign out the grants page does not ask to sign in');
  log('sign out: the cookie is gone and the grants page asks to sign in again');

  check(problems.length === 0, `the pages logged errors (a CSP violation is one): ${problems.join('; ')}`);
  await browser.close();
  browser = null;
  cb.close();
}

let rc = 0;
const timer = setTimeout(() => {
  console.error('FAILED: consent_browser.mjs did not finish within 90 s');
  for (const c of children) c.kill('SIGKILL');
  process.exit(1);
}, 90_000);
try {
  await main();
  console.log(`  consent-browser: screenshots (${shots.length}) in ${args.out}:`);
  for (const s of shots) console.log(`    ${s}`);
  console.log(`  consent-browser: all passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
} catch (e) {
  rc = 1;
  console.error(`FAILED: ${e instanceof Failed ? e.message : e.stack}`);
  if (page) {
    const file = path.join(args.out, 'failure.png');
    await page.screenshot({ path: file, fullPage: true }).catch(() => {});
    console.error(`  (the page at the failure: ${page.url()}, screenshot ${file})`);
  }
  for (const [name, l] of Object.entries(logs)) {
    console.error(`--- last lines of ${name}'s stderr:\n${l.err.split('\n').slice(-25).join('\n')}`);
  }
} finally {
  clearTimeout(timer);
  if (browser) await browser.close().catch(() => {});
  for (const c of children) c.kill('SIGTERM');
}
process.exit(rc);
