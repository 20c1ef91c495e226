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
import {
  checkCompose,
  checkReadmeComposeVariables,
  parseCompose,
  readCompose,
  variableSources,
  type ComposeFile,
} from './support/compose.js';
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

  it('has every cross-reference right: builds, health checks, env names, addresses, ports, grace periods, worker groups, the R token', () => {
    expect(checkCompose(readCompose())).toEqual([]);
  });

  it("keeps README's promise: every variable passes through from the shell but the ones README names", () => {
    expect(checkReadmeComposeVariables(composeText, readRepoFile('README.md'))).toEqual([]);
    const sources = variableSources(composeText);
    // What README's Deploy section says compose fixes, and nothing else.
    const fixed = [...sources.values()].flatMap((s) =>
      [...s].filter(([, source]) => source === 'compose' || source === 'service-default').map(([v]) => v),
    );
    expect([...new Set(fixed)].sort()).toEqual(['HOST', 'PORT', 'QUEUES', 'REDIS_URL', 'R_SERVICE_URL']);
    expect(sources.get('r-worker')?.get('QUEUES')).toBe('shell');
    expect(sources.get('gateway')?.get('TASK_ROUTES')).toBe('shell-or-compose-default');
  });

  it('runs a dedicated cpu worker group for the tasks TASK_ROUTES sends to cpu, and one R token for both sides', () => {
    const compose = readCompose();
    const env = (service: string) => compose.services[service]!.environment as Record<string, string | null>;
    expect(env('gateway').TASK_ROUTES).toBe('factorial=cpu,matmul=cpu');
    expect(env('node-worker-cpu').QUEUES).toBe('cpu');
    expect(env('node-worker').QUEUES).toBe('default');
    expect(env('gateway').R_SERVICE_TOKEN).toBe(env('r-worker').R_SERVICE_TOKEN);
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

  it('a worker group on a queue nothing is routed to, and a routed queue no worker takes', () => {
    const compose = mutate((c) => {
      (c.services['node-worker-cpu']!.environment as Record<string, string>).QUEUES = 'cpus';
      (c.services.gateway!.environment as Record<string, string>).TASK_ROUTES =
        'factorial=cpu,matmul=cpu,r:lm_fit=models';
    });
    expect(checkCompose(compose)).toEqual(
      expect.arrayContaining([
        'gateway: node queue cpu (factorial, matmul tasks) is taken by no node worker service',
        "node-worker-cpu: takes from queue cpus, which the gateway's TASK_ROUTES sends no node task to",
        'gateway: r queue models (lm_fit tasks) is taken by no r worker service',
      ]),
    );
    const badRoutes = mutate((c) => {
      (c.services.gateway!.environment as Record<string, string>).TASK_ROUTES = 'factorial';
    });
    expect(checkCompose(badRoutes)).toContainEqual(
      expect.stringMatching(/^gateway: TASK_ROUTES must be task=queue pairs/),
    );
  });

  it('an R service without the token, a short token, or two different tokens', () => {
    const compose = mutate((c) => {
      delete (c.services['r-worker']!.environment as Record<string, string>).R_SERVICE_TOKEN;
      (c.services.gateway!.environment as Record<string, string>).R_SERVICE_TOKEN = 'short';
    });
    expect(checkCompose(compose)).toEqual(
      expect.arrayContaining([
        'r-worker: no R_SERVICE_TOKEN, and it listens on 0.0.0.0: the R service refuses to start',
        'r-worker: does not pass on R_SERVICE_TOKEN (add `R_SERVICE_TOKEN:`)',
        'gateway: R_SERVICE_TOKEN must be 32-256 printable characters without spaces',
        "gateway: its R_SERVICE_TOKEN is not r-worker's",
      ]),
    );
  });

  it('a second worker group built from the wrong Dockerfile, or reading variables its kind does not', () => {
    const compose = mutate((c) => {
      c.services['node-worker-cpu']!.build = { context: '.', dockerfile: 'gateway/Dockerfile' };
      (c.services['node-worker-cpu']!.environment as Record<string, string>).MAX_CONCURRENT_TASKS = '2';
    });
    expect(checkCompose(compose)).toEqual(
      expect.arrayContaining([
        'node-worker-cpu: builds gateway/Dockerfile instead of node-worker/Dockerfile',
        'node-worker-cpu: sets MAX_CONCURRENT_TASKS, which node-worker does not read',
      ]),
    );
  });

  it('a variable compose fixes, or gives a default, that README does not name', () => {
    const fixedLogLevel = composeText
      .replace(/^( {2}LOG_LEVEL:)$/m, '$1 debug')
      .replace('REDIS_RETRY_SECONDS:', 'REDIS_RETRY_SECONDS: ${REDIS_RETRY_SECONDS:-5}');
    expect(fixedLogLevel).not.toBe(composeText);
    expect(parseCompose(fixedLogLevel).services.gateway!.environment).toMatchObject({ LOG_LEVEL: 'debug' });
    expect(checkReadmeComposeVariables(fixedLogLevel, readRepoFile('README.md'))).toEqual([
      'README: compose fixes LOG_LEVEL (gateway, node-worker, node-worker-cpu, r-worker), but the Deploy section does not name it among those',
      'README: compose or the image gives REDIS_RETRY_SECONDS (r-worker) a value of its own, which the Deploy section does not mention',
    ]);
  });

  it('an unpublished gateway port', () => {
    const compose = mutate((c) => {
      c.services.gateway!.ports = ['127.0.0.1:9000:9001'];
    });
    expect(checkCompose(compose)).toContainEqual('gateway: its port 9000 is not published');
    expect(stringify(compose)).toContain('9001');
  });
});
