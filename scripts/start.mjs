// `npm start`: the whole local stack in one command. Installs what is missing, compiles, then runs
// and supervises Redis (unless REDIS_URL points at one), the gateway, NODE_WORKERS Node workers and
// the R worker, restarting any that crashes (like compose's restart policy) and saying "up" once each
// is. Ctrl-C (or SIGTERM) stops them in order: the gateway and the workers first, which finish or
// hand back their running tasks, then Redis (scripts/lib/stop-order.mjs). docs/local-stack.md says
// more. Unless QUEUES is set, the workers take `default` plus every queue TASK_ROUTES routes their
// kind's tasks to; the gateway and the R service share an R_SERVICE_TOKEN made for this run.
import { randomBytes } from 'node:crypto';
import { createConnection, createServer } from 'node:net';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT, buildTypeScript, ensureNodeModules, ensureSystemPackages } from './lib/prerequisites.mjs';
import { createSupervisor } from './lib/supervisor.mjs';

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
// The services' own default grace is at most 25 s; set, it is every service's.
const graceMs = wholeNumberEnv('SHUTDOWN_GRACE_MS', 25_000, 0, 600_000);
// Where Redis keeps its append-only file, so tasks survive a restart of the stack.
const dataDir = resolve(process.env.SWITCHYARD_DATA_DIR || `${ROOT}/.switchyard`);
// A Redis of the caller's (REDIS_URL, or a Cluster or Sentinels: docs/scaling.md) replaces the local one;
// the services read those settings from the environment they inherit.
const ownRedis = !['REDIS_URL', 'REDIS_CLUSTER_NODES', 'REDIS_SENTINELS'].some((name) => process.env[name]);
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
  ...(ownRedis ? [['REDIS_PORT', redisPort, 'Redis']] : []),
];
for (const [variable, port, what] of ports) {
  if (await portTaken(port)) {
    console.error(
      `[switchyard] port ${port}, for ${what}, is already in use: stop what uses it, or set ${variable} to another port`,
    );
    process.exit(2);
  }
}

try {
  ensureNodeModules();
} catch {
  console.error('[switchyard] npm install failed: see its errors above, fix the cause and run npm start again');
  process.exit(1);
}
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

let stopRequestedAt = 0;
const supervisor = createSupervisor({
  cwd: ROOT,
  say,
  graceMs,
  onRefused: () => void shutdown('bad configuration', 2),
});

/** Whether `url` answers 2xx within 2 s. */
async function answersOk(url) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), 2_000);
  try {
    return (await fetch(url, { signal: abort.signal })).ok;
  } finally {
    clearTimeout(timer);
  }
}

/** Whether Redis on `port` answers PING. */
function redisAnswers(port) {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const done = (answer) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(2_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (reply) => done(reply.toString().startsWith('+PONG')));
  });
}

const common = {
  ...(ownRedis || process.env.REDIS_URL ? { REDIS_URL: redisUrl } : {}),
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
  R_SERVICE_TOKEN: rServiceToken,
};
const started = [];

if (ownRedis) {
  const dir = `${dataDir}/redis`;
  mkdirSync(dir, { recursive: true });
  say(`Redis keeps its data in ${dir} (an append-only file, kept between starts; delete it to start empty)`);
  started.push(
    supervisor.supervise({
      name: 'redis',
      command: 'redis-server',
      args: ['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', ''],
      env: {},
      stage: 'redis',
      readyProbe: () => redisAnswers(redisPort),
    }),
  );
}
started.push(
  supervisor.supervise({
    name: 'gateway',
    command: process.execPath,
    args: ['gateway/dist/main.js'],
    env: {
      ...common,
      PORT: String(gatewayPort),
      HOST: process.env.HOST ?? '127.0.0.1',
      R_SERVICE_URL: process.env.R_SERVICE_URL ?? `http://127.0.0.1:${rPort}`,
    },
    readyProbe: () => answersOk(`http://127.0.0.1:${gatewayPort}/readyz`),
  }),
);
// METRICS_PORT (a Node worker's own /metrics) is the first worker's; the next ones take the ports after it.
const metricsPort = Number(process.env.METRICS_PORT ?? 0);
const metricsPortOf = (i) =>
  Number.isInteger(metricsPort) && metricsPort > 0 ? { METRICS_PORT: String(metricsPort + i - 1) } : {};
for (let i = 1; i <= nodeWorkers; i++) {
  started.push(
    supervisor.supervise({
      name: nodeWorkers > 1 ? `node-worker-${i}` : 'node-worker',
      command: process.execPath,
      args: ['node-worker/dist/main.js'],
      env: { ...common, QUEUES: queuesOf('node'), ...metricsPortOf(i) },
      // Printed once it takes tasks and is in the worker registry.
      readyLine: /"msg":"worker started"/,
    }),
  );
}
if (withR) {
  started.push(
    supervisor.supervise({
      name: 'r-worker',
      command: 'Rscript',
      args: ['r-worker/main.R'],
      env: { ...common, PORT: String(rPort), HOST: '127.0.0.1', QUEUES: queuesOf('r') },
      // SIGINT is R's own interrupt: a graceful stop even where the SIGTERM handler could not be built.
      stopSignal: 'SIGINT',
      readyProbe: () => answersOk(`http://127.0.0.1:${rPort}/health`),
    }),
  );
}

async function shutdown(reason, exitCode = 0) {
  if (supervisor.isStopping()) {
    // npm passes a terminal's Ctrl-C on too, so one press can arrive twice: only later ones are news.
    if (Date.now() - stopRequestedAt > 2_000) say(`already stopping: waiting for running tasks (see above)`);
    return;
  }
  stopRequestedAt = Date.now();
  say(
    `${reason}: stopping the gateway and the workers (running tasks finish or go back to their queue, within ${graceMs / 1000} s)${ownRedis ? ', then Redis' : ''}`,
  );
  await supervisor.stopAll();
  say('stopped');
  process.exit(exitCode);
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => void shutdown(signal));

const base = `http://localhost:${gatewayPort}`;
const allUp = Promise.all(started.map((service) => supervisor.whenReady(service)));
const slow = await Promise.race([allUp.then(() => false), sleep(60_000).then(() => true)]);
if (slow && !supervisor.isStopping()) {
  const waiting = started.filter((service) => !service.ready).map((service) => service.name);
  say(`not up after 60 s: ${waiting.join(', ')} (see the lines above); still waiting`);
}
await allUp;
say(
  `up: gateway ${base}  docs ${base}/docs  dashboard ${base}/ui  (${nodeWorkers} Node worker${nodeWorkers === 1 ? '' : 's'}${withR ? `, R worker on :${rPort}` : ''})`,
);
say(`queues: Node ${queuesOf('node')}${withR ? `; R ${queuesOf('r')}` : ''}  (see ${base}/queues and ${base}/workers)`);
say(`try: curl -s -X POST ${base}/node/execute -H 'content-type: application/json' -d '{"total": 5}'`);
say('Ctrl-C stops everything.');
