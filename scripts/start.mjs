// `npm start`: the whole local stack in one command. Installs what is missing, compiles, then runs
// and supervises Redis (unless REDIS_URL points at one), the gateway, NODE_WORKERS Node workers and
// the R worker, restarting any that crashes (like compose's restart policy). Ctrl-C stops them all.
// Unless QUEUES is set, the workers take `default` plus every queue TASK_ROUTES routes their kind's
// tasks to; the gateway and the R service share an R_SERVICE_TOKEN made for this run.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { mkdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT, buildTypeScript, ensureNodeModules, ensureSystemPackages } from './lib/prerequisites.mjs';

const say = (line) => process.stdout.write(`[switchyard] ${line}\n`);

function wholeNumberEnv(name, fallback, min, max) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    console.error(`[switchyard] ${name} must be a whole number between ${min} and ${max} (got ${JSON.stringify(raw)})`);
    process.exit(2);
  }
  return value;
}

const gatewayPort = wholeNumberEnv('PORT', 9000, 1, 65_535);
const rPort = wholeNumberEnv('R_PORT', 8000, 1, 65_535);
const redisPort = wholeNumberEnv('REDIS_PORT', 6379, 1, 65_535);
const nodeWorkers = wholeNumberEnv('NODE_WORKERS', 1, 0, 32);
const ownRedis = !process.env.REDIS_URL;
const redisUrl = process.env.REDIS_URL ?? `redis://127.0.0.1:${redisPort}`;

/** Whether something already listens on 127.0.0.1:`port`. */
function portTaken(port) {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(true));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(false)));
  });
}

// A port already in use would make a service fail over and over: say which, and what moves it.
const ports = [
  ['PORT', gatewayPort, 'the gateway'],
  ['R_PORT', rPort, 'the R service'],
  ...(process.env.REDIS_URL ? [] : [['REDIS_PORT', redisPort, 'Redis']]),
];
for (const [variable, port, what] of ports) {
  if (await portTaken(port)) {
    console.error(
      `[switchyard] port ${port}, for ${what}, is already in use: stop what uses it, or set ${variable} to another port`,
    );
    process.exit(2);
  }
}

ensureNodeModules();
const missing = ensureSystemPackages(ownRedis ? ['redis', 'r'] : ['r']);
if (missing.includes('redis')) process.exit(1);
const withR = !missing.includes('r');
if (!withR) say('R is not available: the R worker is not started and /r routes answer 503.');
buildTypeScript();
await (await import('./lib/build-dashboard.mjs')).buildDashboard();

const { parseTaskRoutes, routedQueues } = await import('../shared/dist/index.js');
let routes;
try {
  routes = parseTaskRoutes(process.env.TASK_ROUTES ?? '');
} catch (error) {
  console.error(`[switchyard] TASK_ROUTES ${error.message}`);
  process.exit(2);
}
const queuesOf = (kind) => process.env.QUEUES ?? routedQueues(routes, kind).join(',');
const rServiceToken = process.env.R_SERVICE_TOKEN ?? randomBytes(24).toString('hex');

const services = [];
let stopping = false;

/** Runs a service, prefixing its output, and restarts it with backoff if it exits on its own. */
function supervise(name, command, args, env) {
  const service = { name, child: null, restarts: 0 };
  const launch = () => {
    const startedAt = Date.now();
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    service.child = child;
    for (const stream of [child.stdout, child.stderr]) {
      let partial = '';
      stream.on('data', (chunk) => {
        const lines = (partial + chunk.toString()).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) process.stdout.write(`${name.padEnd(13)}| ${line}\n`);
      });
    }
    child.on('exit', (code, signal) => {
      service.child = null;
      if (stopping) return;
      if (code === 2) {
        // Exit status 2 is a bad setting (the message is above): restarting cannot help.
        say(`${name} refused its configuration (exit status 2, see its message above): stopping everything`);
        void shutdown('bad configuration', 2);
        return;
      }
      service.restarts = Date.now() - startedAt > 30_000 ? 0 : service.restarts + 1;
      const delay = Math.min(1_000 * 2 ** service.restarts, 30_000);
      say(`${name} exited (${signal ?? `code ${code}`}); restarting in ${delay / 1000} s`);
      setTimeout(() => !stopping && launch(), delay);
    });
  };
  launch();
  services.push(service);
}

async function waitUntil(check, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return true;
    await sleep(200);
  }
  return false;
}

const common = { REDIS_URL: redisUrl, LOG_LEVEL: process.env.LOG_LEVEL ?? 'info', R_SERVICE_TOKEN: rServiceToken };

if (ownRedis) {
  const dir = `${ROOT}/.switchyard/redis`;
  mkdirSync(dir, { recursive: true });
  supervise(
    'redis',
    'redis-server',
    ['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', ''],
    {},
  );
}
supervise('gateway', process.execPath, ['gateway/dist/main.js'], {
  ...common,
  PORT: String(gatewayPort),
  HOST: process.env.HOST ?? '127.0.0.1',
  R_SERVICE_URL: process.env.R_SERVICE_URL ?? `http://127.0.0.1:${rPort}`,
});
for (let i = 1; i <= nodeWorkers; i++) {
  supervise(nodeWorkers > 1 ? `node-worker-${i}` : 'node-worker', process.execPath, ['node-worker/dist/main.js'], {
    ...common,
    QUEUES: queuesOf('node'),
  });
}
if (withR) {
  supervise('r-worker', 'Rscript', ['r-worker/main.R'], {
    ...common,
    PORT: String(rPort),
    HOST: '127.0.0.1',
    QUEUES: queuesOf('r'),
  });
}

async function shutdown(signal, exitCode = 0) {
  if (stopping) return;
  stopping = true;
  say(`${signal}: stopping`);
  // Workers and gateway first, so they can hand tasks back; Redis last.
  for (const group of [services.filter((s) => s.name !== 'redis'), services.filter((s) => s.name === 'redis')]) {
    await Promise.all(
      group.map(async (service) => {
        const child = service.child;
        if (!child) return;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }
  say('stopped');
  process.exit(exitCode);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));

const base = `http://localhost:${gatewayPort}`;
const ready = await waitUntil(async () => (await fetch(`http://127.0.0.1:${gatewayPort}/readyz`)).ok, 60_000);
if (ready) {
  say(
    `up: gateway ${base}  docs ${base}/docs  (${nodeWorkers} Node worker${nodeWorkers === 1 ? '' : 's'}${withR ? `, R worker on :${rPort}` : ''})`,
  );
  say(
    `queues: Node ${queuesOf('node')}${withR ? `; R ${queuesOf('r')}` : ''}  (see ${base}/queues and ${base}/workers)`,
  );
  say(`try: curl -s -X POST ${base}/node/execute -H 'content-type: application/json' -d '{"total": 5}'`);
  say('Ctrl-C stops everything.');
} else {
  say(`the gateway did not become ready at ${base}/readyz within 60 s; see the lines above`);
}
