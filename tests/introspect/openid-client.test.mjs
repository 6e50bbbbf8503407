// openid-client.test.mjs - POST /v4/auth/introspect as a real OAuth 2.0
// client library calls it: openid-client (v6, pinned in package-lock.json)
// over HTTPS, authenticating with client_secret_basic where client_id is the
// caller's personal token id and client_secret its secret.
//
// run-tls makes the certificates and sets NODE_EXTRA_CA_CERTS; TESSERAD names
// the tesserad to test, which serves TLS with --tls-cert and --tls-key.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';

import * as client from 'openid-client';

const ADMIN = { email: 'admin@localhost', password: 'introspect-tests-password' };

// Starts tesserad serve over TLS on 127.0.0.1:0; stop() sends SIGTERM and
// checks that it exits 0.
async function startServer() {
  const bin = process.env.TESSERAD;
  assert.ok(bin, 'the environment variable TESSERAD must name the tesserad to test');
  const { TSR_TLS_CERT: cert, TSR_TLS_KEY: key } = process.env;
  assert.ok(cert && key, 'run this test through run-tls, which makes its certificates');
  const dir = mkdtempSync(path.join(tmpdir(), 'tessera-introspect-'));
  const child = spawn(
    bin,
    ['serve', '--listen', '127.0.0.1:0', '--db', path.join(dir, 'tessera.db'), '--tls-cert', cert, '--tls-key', key],
    { env: { ...process.env, TESSERA_ADMIN_PASSWORD: ADMIN.password }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d) => {
    log += d;
  });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tesserad did not start within 30 s:\n${log}`)), 30000);
    const look = () => {
      const m = log.match(/listening on (https?:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        child.stderr.off('data', look);
        resolve(m[1]);
      }
    };
    child.stderr.on('data', look);
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`tesserad exited (${code ?? signal}) before it listened:\n${log}`));
    });
  });
  return {
    url,
    dir,
    log: () => log,
    async stop() {
      child.kill('SIGTERM');
      let timer;
      const timeout = new Promise((resolve) => {
        timer = setTimeout(() => resolve(null), 30000);
      });
      const r = await Promise.race([exited, timeout]);
      clearTimeout(timer);
      if (!r) child.kill('SIGKILL');
      assert.ok(r, `tesserad did not stop within 30 s of SIGTERM:\n${log.slice(-4000)}`);
      assert.equal(r.code, 0, `tesserad must exit 0 on SIGTERM, not ${r.code ?? r.signal}:\n${log.slice(-4000)}`);
    },
  };
}

let server;
let session; // admin's session secret
let userId;
let caller; // the personal token that introspects: {id, key, ...}
const secrets = [];

async function api(method, pathname, body, secret = session) {
  const headers = { Authorization: `Token ${secret}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(`${server.url}${pathname}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

async function createToken(name) {
  const expires = new Date(Date.now() + 30 * 86400000).toISOString().replace(/\.\d+Z$/, 'Z');
  const r = await api('POST', '/v4/iam/personal_tokens', { name, expires_at: expires });
  assert.equal(r.status, 201, `create ${name}: ${JSON.stringify(r.json)}`);
  secrets.push(r.json.data.key);
  return r.json.data;
}

// An openid-client Configuration for the client id and secret, with
// client_secret_basic, against this server's introspection endpoint.
function configFor(clientId, clientSecret) {
  const metadata = { issuer: server.url, introspection_endpoint: `${server.url}/v4/auth/introspect` };
  return new client.Configuration(metadata, clientId, clientSecret, client.ClientSecretBasic(clientSecret));
}

const epoch = (rfc3339) => Date.parse(rfc3339) / 1000;

before(async () => {
  server = await startServer();
  const basic = Buffer.from(`${ADMIN.email}:${ADMIN.password}`).toString('base64');
  const res = await fetch(`${server.url}/v4/tokens`, { method: 'POST', headers: { Authorization: `Basic ${basic}` } });
  assert.equal(res.status, 201, 'log in with Basic');
  session = (await res.json()).token;
  secrets.push(session);
  userId = (await api('GET', '/v4/iam/users/me')).json.data.id;
  caller = await createToken('resource server');
});

after(async () => {
  if (!server) return;
  await server.stop();
  // No secret in anything the server wrote.
  for (const name of readdirSync(server.dir)) {
    const data = readFileSync(path.join(server.dir, name));
    for (const s of secrets) assert.ok(!data.includes(s), `a secret is in ${name}`);
  }
  for (const s of secrets) assert.ok(!server.log().includes(s), 'a secret is in the server log');
  rmSync(server.dir, { recursive: true, force: true });
});

test('the server speaks TLS, trusted through NODE_EXTRA_CA_CERTS', () => {
  assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  assert.ok(process.env.NODE_EXTRA_CA_CERTS, 'run-tls sets NODE_EXTRA_CA_CERTS');
});

test('a live personal token is active, with its user and id', async () => {
  const target = await createToken('introspected');
  const r = await client.tokenIntrospection(configFor(caller.id, caller.key), target.key);
  assert.deepEqual(
    { ...r },
    {
      active: true,
      sub: userId,
      username: ADMIN.email,
      exp: epoch(target.expires_at),
      iat: epoch(target.created),
      token_type: 'personal',
      jti: target.id,
      scope: 'global',
    },
  );
});

test('a session token is active too, and says it is a session', async () => {
  const r = await client.tokenIntrospection(configFor(caller.id, caller.key), session);
  assert.equal(r.active, true);
  assert.equal(r.sub, userId);
  assert.equal(r.username, ADMIN.email);
  assert.equal(r.token_type, 'session');
  assert.equal(r.exp - r.iat, 86400);
});

test('a revoked token is not active', async () => {
  const target = await createToken('to revoke');
  const config = configFor(caller.id, caller.key);
  assert.equal((await client.tokenIntrospection(config, target.key)).active, true);
  assert.equal((await api('DELETE', `/v4/iam/personal_tokens/${target.id}`)).status, 204);
  const r = await client.tokenIntrospection(config, target.key);
  assert.deepEqual({ ...r }, { active: false });
});

test('made-up and malformed tokens are not active', async () => {
  const config = configFor(caller.id, caller.key);
  for (const token of ['not-a-token', `${caller.key}x`, caller.key.replace(/^tsr_/, 'tss_')]) {
    assert.deepEqual({ ...(await client.tokenIntrospection(config, token)) }, { active: false }, token);
  }
});

test('a client whose id is not its secret token id is refused (401)', async () => {
  const other = await createToken('other');
  const target = await createToken('target');
  for (const [id, secret] of [
    [other.id, caller.key],
    [caller.id, other.key.replace(/.$/, (c) => (c === 'a' ? 'b' : 'a'))],
  ]) {
    await assert.rejects(client.tokenIntrospection(configFor(id, secret), target.key), (err) => {
      const status = err.status ?? err.response?.status ?? err.cause?.status;
      assert.equal(status, 401, `${err.name}: ${err.message}`);
      return true;
    });
  }
});

test('a revoked client is refused (401)', async () => {
  const gone = await createToken('gone client');
  const target = await createToken('still here');
  const config = configFor(gone.id, gone.key);
  assert.equal((await client.tokenIntrospection(config, target.key)).active, true);
  assert.equal((await api('DELETE', `/v4/iam/personal_tokens/${gone.id}`)).status, 204);
  await assert.rejects(client.tokenIntrospection(config, target.key), (err) => {
    assert.equal(err.status ?? err.response?.status ?? err.cause?.status, 401, `${err.name}: ${err.message}`);
    return true;
  });
});
