// A real `herald serve` for the browser tests: a temporary data directory, a free loopback
// port, a known admin key; it stops with the test process (and on any way out of it).

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const ARTEFACTS = join(ROOT, 'target', 'web-e2e');
export const CHROMIUM = process.env.HERALD_CHROMIUM || '/usr/bin/chromium';
export const ADMIN = 'web-e2e-admin-key';

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => ok(port)); });
  });
}

export async function startHerald(env = {}) {
  const bin = process.env.HERALD_BIN || join(ROOT, 'target', 'debug', 'herald');
  if (!existsSync(bin)) throw new Error(`no herald binary at ${bin}: build it with \`cargo build -p herald-local\` (or set HERALD_BIN)`);
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: \`apt-get install -y chromium\` (infra/web-e2e.sh does)`);
  mkdirSync(ARTEFACTS, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), 'herald-web-e2e-'));
  const port = await freePort();
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HERALD_')));
  const child = spawn(bin, ['serve', '--data', join(dir, 'data'), '--addr', `127.0.0.1:${port}`], {
    env: { ...clean, HERALD_ADMIN_KEY: ADMIN, HERALD_PUBLIC_URL: `http://127.0.0.1:${port}`, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  const stop = () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stop);
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`herald serve exited (${child.exitCode}):\n${log}`);
    try {
      const r = await fetch(`${base}/healthz`);
      if (r.ok) break;
    } catch { /* not listening yet */ }
    if (i > 300) throw new Error(`herald serve never answered /healthz:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const call = async (method, path, key, body) => {
    const r = await fetch(base + path, {
      method,
      headers: { Authorization: `Bearer ${key}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await r.text();
    const data = text ? JSON.parse(text) : null;
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
    return data;
  };
  return { base, stop, call, log: () => log };
}

/// A workspace with its key and one sandbox account.
export async function workspace(h, name = 'Acme', handle = 'acme') {
  const ws = await h.call('POST', '/v1/workspaces', ADMIN, { name });
  const acct = await h.call('POST', '/v1/accounts', ws.api_key, { platform: 'sandbox', handle });
  return { key: ws.api_key, id: ws.id, account: acct.id };
}
