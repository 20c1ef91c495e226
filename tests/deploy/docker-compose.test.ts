/**
 * docker-compose.yml, without a Docker engine: docker-compose 1.29's own `config -q` (undefined
 * services, missing build paths, bad values), dclint (the current Compose schema, and its rules), and
 * the cross-references no schema checks (checkCompose). Each check also gets a broken file, to prove
 * it notices.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ensureSystemPackages } from '../../scripts/lib/prerequisites.mjs';
import { checkCompose, readCompose, type ComposeFile } from './support/compose.js';
import { ROOT, readRepoFile } from './support/repo.js';

const composeText = readRepoFile('docker-compose.yml');
let scratch: string;

beforeAll(() => {
  // Installed with apt when missing (root on Debian); otherwise this fails, saying what to install.
  const missing = ensureSystemPackages(['dockerCompose']);
  if (missing.length > 0) {
    throw new Error('docker-compose (Debian package docker-compose) is needed to validate docker-compose.yml');
  }
  scratch = mkdtempSync(join(tmpdir(), 'switchyard-compose-'));
}, 180_000);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Writes `text` as a compose file whose relative paths resolve against the repository. */
function composeFile(text: string): string {
  const file = join(scratch, `docker-compose-${Math.random().toString(36).slice(2)}.yml`);
  writeFileSync(file, text);
  return file;
}

function dockerComposeConfig(file: string): { status: number | null; output: string } {
  const result = spawnSync('docker-compose', ['-f', file, '--project-directory', ROOT, 'config', '-q'], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

// Two dclint rules do not fit: a service may both build and name its image (Kubernetes runs that
// name), and docker-compose 1.29 rejects the top-level `name:` dclint asks for.
const DCLINT_DISABLED = ['no-build-and-image', 'require-project-name-field'];

function dclint(file: string): { status: number | null; output: string } {
  const args = [
    file,
    '--max-warnings',
    '0',
    '--color',
    'false',
    ...DCLINT_DISABLED.flatMap((r) => ['--disable-rule', r]),
  ];
  const result = spawnSync(process.execPath, [join(ROOT, 'node_modules/dclint/bin/dclint.cjs'), ...args], {
    encoding: 'utf8',
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

function mutate(change: (compose: ComposeFile) => void): ComposeFile {
  const compose = readCompose();
  change(compose);
  return compose;
}

describe('docker-compose.yml', () => {
  it('passes docker-compose config -q (docker-compose 1.29)', () => {
    const result = dockerComposeConfig(join(ROOT, 'docker-compose.yml'));
    expect(result.output).toBe('');
    expect(result.status).toBe(0);
  });

  it('passes dclint (Compose schema and rules)', () => {
    const result = dclint(join(ROOT, 'docker-compose.yml'));
    expect(result.output.trim()).toBe('');
    expect(result.status).toBe(0);
  });

  it('has every cross-reference right: builds, health checks, env names, addresses, ports, grace periods', () => {
    expect(checkCompose(readCompose())).toEqual([]);
  });
});

describe('the compose checks catch', () => {
  it('an undefined service and a missing build path (docker-compose config)', () => {
    const undefinedService = composeText.replace(/^( {6})r-worker:\n( {8}condition)/m, '$1r-wrker:\n$2');
    expect(undefinedService).not.toBe(composeText);
    const first = dockerComposeConfig(composeFile(undefinedService));
    expect(first.status).not.toBe(0);
    expect(first.output).toContain("depends on service 'r-wrker' which is undefined");

    const missingContext = composeText.replace(
      'context: .\n      dockerfile: r-worker/',
      'context: ./r\n      dockerfile: r-worker/',
    );
    expect(missingContext).not.toBe(composeText);
    const second = dockerComposeConfig(composeFile(missingContext));
    expect(second.status).not.toBe(0);
    expect(second.output).toContain('build path');
  });

  it('a key the Compose schema does not have (dclint)', () => {
    const typo = composeText.replace('stop_grace_period: 15s', 'stop_grace_periode: 15s');
    expect(typo).not.toBe(composeText);
    const result = dclint(composeFile(typo));
    expect(result.status).not.toBe(0);
    expect(result.output).toContain('instancePath="/services/gateway"');
    expect(result.output).toContain('must NOT have additional properties');
  });

  it('a missing Dockerfile and a wrongly named image', () => {
    const compose = mutate((c) => {
      c.services['node-worker']!.build = { context: '.', dockerfile: 'node-worker/Dockerfile.prod' };
      c.services['r-worker']!.image = 'switchyard/rworker:local';
    });
    expect(checkCompose(compose)).toEqual(
      expect.arrayContaining([
        'node-worker: build Dockerfile node-worker/Dockerfile.prod does not exist',
        expect.stringContaining('r-worker: image must be named switchyard/r-worker'),
      ]),
    );
  });

  it('a variable the service does not read, and one it reads that cannot be set', () => {
    const compose = mutate((c) => {
      const environment = c.services['node-worker']!.environment as Record<string, string | null>;
      environment.WORKER_CONCURENCY = '4';
      delete environment.LEASE_MS;
    });
    expect(checkCompose(compose)).toEqual(
      expect.arrayContaining([
        'node-worker: sets WORKER_CONCURENCY, which node-worker does not read',
        'node-worker: does not pass on LEASE_MS (add `LEASE_MS:`)',
      ]),
    );
  });

  it('a wrong R service address, a wrong Redis address or password', () => {
    const compose = mutate((c) => {
      const gateway = c.services.gateway!.environment as Record<string, string | null>;
      gateway.R_SERVICE_URL = 'http://r-worker:9000';
      const rWorker = c.services['r-worker']!.environment as Record<string, string | null>;
      rWorker.REDIS_URL = 'redis://:wrong@redis:6379/0';
      const nodeWorker = c.services['node-worker']!.environment as Record<string, string | null>;
      nodeWorker.REDIS_URL = 'redis://:switchyard-local@localhost:6379/0';
    });
    expect(checkCompose(compose)).toEqual(
      expect.arrayContaining([
        'gateway: R_SERVICE_URL points at r-worker:9000, but r-worker listens on r-worker:8000',
        "r-worker: REDIS_URL's password is not Redis' --requirepass",
        'node-worker: REDIS_URL points at localhost:6379, not redis:6379',
      ]),
    );
  });

  it('waiting for a health check that does not exist', () => {
    const compose = mutate((c) => {
      delete c.services.redis!.healthcheck;
    });
    expect(checkCompose(compose)).toContainEqual(
      'gateway: waits for redis to be healthy, but redis has no health check',
    );
  });

  it('Redis without a password or persistence, one Node worker, a stop shorter than the grace period', () => {
    const compose = mutate((c) => {
      c.services.redis!.command = ['redis-server'];
      c.services.redis!.volumes = ['/tmp/redis:/data'];
      c.services['node-worker']!.deploy = { replicas: 1 };
      c.services['r-worker']!.stop_grace_period = '25s';
    });
    expect(checkCompose(compose)).toEqual(
      expect.arrayContaining([
        'redis: no --requirepass (a password is required)',
        'redis: AOF persistence is off (--appendonly yes)',
        'redis: /data is not on a named volume declared under volumes:',
        'node-worker: 1 replica(s), not 2',
        'r-worker: stop_grace_period 25s does not exceed the 30s a graceful stop may take',
      ]),
    );
  });

  it('an unpublished gateway port', () => {
    const compose = mutate((c) => {
      c.services.gateway!.ports = ['127.0.0.1:9000:9001'];
    });
    expect(checkCompose(compose)).toContainEqual('gateway: its port 9000 is not published');
    expect(stringify(compose)).toContain('9001');
  });
});
