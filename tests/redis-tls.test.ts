/**
 * The gateway and the Node worker against Redis over TLS (rediss://), trusting a private CA through
 * NODE_EXTRA_CA_CERTS as a deployment would. (The R worker speaks TLS only through redux, which
 * Debian does not package; without it, it refuses rediss:// at start with a clear message.)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startRedisServer, type RedisServer, type TlsFiles } from './support/redis-server.js';
import { startService, type ServiceProcess } from './support/services.js';
import { startStack, type Stack } from './support/stack.js';
import { waitFor } from './support/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'switchyard-tls-'));
let redis: RedisServer;
let tls: TlsFiles;
let stack: Stack;
let untrusting: ServiceProcess | undefined;

/** A private CA and a server certificate for 127.0.0.1 signed by it. */
function makeCertificates(): TlsFiles {
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=switchyard-test-ca',
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.pem'),
  );
  openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=127.0.0.1',
    '-keyout',
    file('server.key'),
    '-out',
    file('server.csr'),
  );
  execFileSync('sh', ['-c', `printf 'subjectAltName=IP:127.0.0.1' > ${file('san.ext')}`]);
  openssl(
    'x509',
    '-req',
    '-in',
    file('server.csr'),
    '-CA',
    file('ca.pem'),
    '-CAkey',
    file('ca.key'),
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    file('san.ext'),
    '-out',
    file('server.pem'),
  );
  return { certFile: file('server.pem'), keyFile: file('server.key'), caFile: file('ca.pem') };
}

beforeAll(async () => {
  tls = makeCertificates();
  redis = await startRedisServer({ tls });
  expect(redis.url.startsWith('rediss://')).toBe(true);
  stack = await startStack(redis, { label: 'tls', env: { LONG_TASK_STEP_MS: '50', NODE_EXTRA_CA_CERTS: tls.caFile } });
});
afterAll(async () => {
  await stack?.stop();
  await untrusting?.stop('SIGKILL');
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('Redis over TLS', () => {
  it('the seed flow works with rediss://', async () => {
    const seen = await stack.client.runToCompletion('node', { total: 2 });
    expect(seen.at(-1)).toMatchObject({ state: 'SUCCESS', result: 2 });
  });

  it('a gateway that does not trust the CA is not ready', async () => {
    const port = await freePort();
    untrusting = startService('gateway', { REDIS_URL: redis.url, HOST: '127.0.0.1', PORT: String(port) });
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.ok, {
      what: 'listen',
    });
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(503);
  });
});
