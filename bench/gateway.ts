/**
 * The gateway under load, side by side in one run on one redis-server: Switchyard's gateway (a real
 * process from gateway/dist, LOG_LEVEL=warn, with a Node worker draining what it accepts) against
 * the seed-style FastAPI + Celery gateway in bench/peers/seed_gateway.py. wrk drives each with the
 * same connections for the same time, on the seed's paths:
 *
 *   execute  POST /celery/execute {"total":1}   (Switchyard without CELERY_BROKER_URL: a Node long_task)
 *   collect  GET  /celery/collect?task_id=...   (a task that has already succeeded)
 *
 * A bare node:http server with a fixed answer (bench/peers/bare_http.mjs) runs the same cases: the
 * ceiling of one Node process on this machine at that moment; and the same fixed answers through an
 * Express app with nothing but one route (bench/peers/bare_express.mjs): the floor of any Express gateway. Besides req/s and latency, the CPU each
 * gateway (and Redis) used per request is read from /proc, which a busy shared machine bends far
 * less; and the gateway's resident memory is read during and after the load.
 *
 *   npm run bench:gateway                      # 50 connections, 10 s per case, 1 round
 *   CONNECTIONS=100 SECONDS=5 ROUNDS=2 npm run bench:gateway
 *   PROFILE=1 npm run bench:gateway            # gateway under --cpu-prof, profile in bench/profiles/
 *   GATEWAY_PROCESSES=2 npm run bench:gateway  # the gateway's own setting, passed on
 *   GATEWAY_NODE_FLAGS=--max-semi-space-size=4 npm run bench:gateway   # a V8 flag for the gateway
 *   GATEWAYS=switchyard npm run bench:gateway  # Switchyard alone (the ratios read n/a); or seed-peer, bare-node-http, bare-express
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { Redis } from 'ioredis';
import { buildTypeScript, ensureSystemPackages } from '../scripts/lib/prerequisites.mjs';
import { freePort, startRedisServer } from '../tests/support/redis-server.js';
import {
  PEERS_DIR,
  REPO_ROOT,
  cpuMicros,
  rssBytes,
  runBench,
  sleep,
  startProcess,
  waitForHttp,
  type BenchProcess,
} from './lib/processes.js';
import { markdownTable, saveResults, type ChartBar } from './lib/report.js';
import { runWrk, type WrkResult } from './lib/wrk.js';

const CONNECTIONS = Math.min(Number(process.env.CONNECTIONS ?? 50), 1_000);
const SECONDS = Math.min(Number(process.env.SECONDS ?? 10), 120);
const ROUNDS = Math.min(Number(process.env.ROUNDS ?? 1), 10);
const WARM_UP_SECONDS = 2;
const PROFILE = process.env.PROFILE === '1';
const PROFILE_DIR = `${REPO_ROOT}bench/profiles`;

type System = 'switchyard' | 'seed-peer' | 'bare-node-http' | 'bare-express';
type Case = 'execute' | 'collect';
/**
 * bare-node-http: a node:http server with a fixed answer, the ceiling of one Node process here and now;
 * bare-express: the same answers through Express with one route, the ceiling of an Express gateway.
 */
const ALL_SYSTEMS: readonly System[] = ['seed-peer', 'switchyard', 'bare-node-http', 'bare-express'];
/** GATEWAYS=switchyard measures Switchyard alone (while trying a lever); the ratios then read n/a. */
const SYSTEMS = ALL_SYSTEMS.filter((system) =>
  (process.env.GATEWAYS ?? ALL_SYSTEMS.join(',')).split(',').includes(system),
);
const CASES: readonly Case[] = ['execute', 'collect'];

interface Target {
  base: string;
  collectId: string;
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
};
const mb = (bytes: number) => bytes / 1024 / 1024;
const ratio = (a: number, b: number) => (Number.isFinite(a / b) ? `${(a / b).toFixed(2)}×` : 'n/a');

async function postJson(url: string, body: unknown): Promise<{ task_id: string }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer: unknown = await response.json();
  if (response.status !== 202 || typeof answer !== 'object' || answer === null || !('task_id' in answer))
    throw new Error(`POST ${url} answered ${response.status}: ${JSON.stringify(answer)}`);
  return { task_id: String(answer.task_id) };
}

/** A Switchyard task that has run to SUCCESS, so collect reads a finished record. */
async function switchyardFinishedTask(base: string): Promise<string> {
  const { task_id } = await postJson(`${base}/celery/execute`, { total: 1 });
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const record: unknown = await (await fetch(`${base}/celery/collect?task_id=${task_id}`)).json();
    if (typeof record === 'object' && record !== null && 'state' in record && record.state === 'SUCCESS')
      return task_id;
    await sleep(100);
  }
  throw new Error(`Switchyard task ${task_id} did not succeed within 30 s (is the Node worker running?)`);
}

/**
 * A peer task with a finished result. No Celery worker runs in this bench, so the result is written
 * where Celery's Redis backend keeps it (celery-task-meta-<id>, JSON), in the shape long_task returns.
 */
async function peerFinishedTask(base: string, redisUrl: string): Promise<string> {
  const { task_id } = await postJson(`${base}/celery/execute`, { total: 1 });
  const redis = new Redis(redisUrl);
  const result = { current: 1, total: 1, status: 'Task completed!', result: 1 };
  const meta = {
    status: 'SUCCESS',
    result,
    traceback: null,
    children: [],
    date_done: new Date().toISOString(),
    task_id,
  };
  await redis.set(`celery-task-meta-${task_id}`, JSON.stringify(meta));
  redis.disconnect();
  const answer: unknown = await (await fetch(`${base}/celery/collect?task_id=${task_id}`)).json();
  if (JSON.stringify(answer) !== JSON.stringify(result))
    throw new Error(`the peer's collect answered ${JSON.stringify(answer)}`);
  return task_id;
}

function load(target: Target, which: Case, seconds: number): Promise<WrkResult> {
  return which === 'execute'
    ? runWrk({
        url: `${target.base}/celery/execute`,
        method: 'POST',
        body: '{"total":1}',
        connections: CONNECTIONS,
        seconds,
      })
    : runWrk({ url: `${target.base}/celery/collect?task_id=${target.collectId}`, connections: CONNECTIONS, seconds });
}

interface Measured {
  wrk: WrkResult;
  /** CPU the gateway's processes used per answered request, in µs: a figure less bent by other load on this machine than req/s. */
  gatewayCpuUs: number;
  /** Redis's CPU per request, in µs. */
  redisCpuUs: number;
  peakRssBytes: number;
}

async function redisCpuMicros(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const seconds = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return (seconds('used_cpu_user') + seconds('used_cpu_sys')) * 1e6;
}

/** One wrk run, with the CPU the gateway and Redis spent on it and the gateway's peak RSS (sampled every 100 ms). */
async function measure(pid: number, redis: Redis, work: () => Promise<WrkResult>): Promise<Measured> {
  let peakRssBytes = rssBytes(pid);
  const sampler = setInterval(() => (peakRssBytes = Math.max(peakRssBytes, rssBytes(pid))), 100);
  const [cpuBefore, redisBefore] = [cpuMicros(pid), await redisCpuMicros(redis)];
  try {
    const wrk = await work();
    const [cpuAfter, redisAfter] = [cpuMicros(pid), await redisCpuMicros(redis)];
    return {
      wrk,
      gatewayCpuUs: (cpuAfter - cpuBefore) / wrk.requests,
      redisCpuUs: (redisAfter - redisBefore) / wrk.requests,
      peakRssBytes,
    };
  } finally {
    clearInterval(sampler);
  }
}

/**
 * The bench runs the compiled gateway and worker; a build that fails (another change half-made in
 * the work tree) falls back to the dist/ already there, saying so, rather than measuring nothing.
 */
function buildOrKeepDist(): void {
  try {
    buildTypeScript();
  } catch (error) {
    if (!existsSync(`${REPO_ROOT}gateway/dist/main.js`)) throw error;
    console.error(`bench: tsc -b failed (${String(error)}); measuring the gateway/dist/ already built`);
  }
}

/** Everything started, so that the time limit too can stop it. */
const processes: BenchProcess[] = [];

async function main(): Promise<void> {
  const missing = ensureSystemPackages(['redis', 'benchPeers']);
  if (missing.length > 0) throw new Error(`cannot run without: ${missing.join(', ')}`);
  buildOrKeepDist();
  if (PROFILE) mkdirSync(PROFILE_DIR, { recursive: true });

  const redis = await startRedisServer();
  const [gatewayPort, peerPort, barePort, expressPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const prefix = `bench-gw-${randomUUID().slice(0, 8)}`;
  const common = { REDIS_URL: redis.url, KEY_PREFIX: prefix, LOG_LEVEL: 'warn' };
  const profileFlags = PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [];
  // Node flags for the gateway alone, to try a V8 setting: GATEWAY_NODE_FLAGS='--max-semi-space-size=4'.
  profileFlags.push(...(process.env.GATEWAY_NODE_FLAGS ?? '').split(' ').filter(Boolean));
  try {
    const gateway = startProcess(process.execPath, [...profileFlags, 'gateway/dist/main.js'], {
      ...common,
      HOST: '127.0.0.1',
      PORT: String(gatewayPort),
      ...(process.env.GATEWAY_PROCESSES ? { GATEWAY_PROCESSES: process.env.GATEWAY_PROCESSES } : {}),
    });
    processes.push(gateway);
    // Drains what the gateway accepts: long_task(1) without its one-second step, 50 at a time.
    processes.push(
      startProcess(process.execPath, ['node-worker/dist/main.js'], {
        ...common,
        LONG_TASK_STEP_MS: '0',
        WORKER_CONCURRENCY: '50',
      }),
    );
    const peer = startProcess(
      '/usr/bin/python3',
      [
        ...['-m', 'uvicorn', 'seed_gateway:app', '--host', '127.0.0.1', '--port', String(peerPort)],
        ...['--no-access-log', '--log-level', 'warning'],
      ],
      { REDIS_URL: `${redis.url}/0` },
      PEERS_DIR,
    );
    processes.push(peer);
    const bare = startProcess(process.execPath, ['bench/peers/bare_http.mjs', String(barePort)], {});
    processes.push(bare);
    const bareExpress = startProcess(process.execPath, ['bench/peers/bare_express.mjs', String(expressPort)], {});
    processes.push(bareExpress);
    const switchyardBase = `http://127.0.0.1:${gatewayPort}`;
    const peerBase = `http://127.0.0.1:${peerPort}`;
    await waitForHttp(`${switchyardBase}/readyz`, 'the Switchyard gateway');
    await waitForHttp(`${peerBase}/healthz`, 'the seed-style peer');
    const bareBase = `http://127.0.0.1:${barePort}`;
    await waitForHttp(`${bareBase}/`, 'the bare node:http server');
    const expressBase = `http://127.0.0.1:${expressPort}`;
    await waitForHttp(`${expressBase}/`, 'the bare Express app');
    const targets: Record<System, Target> = {
      switchyard: { base: switchyardBase, collectId: await switchyardFinishedTask(switchyardBase) },
      'seed-peer': { base: peerBase, collectId: await peerFinishedTask(peerBase, `${redis.url}/0`) },
      'bare-node-http': { base: bareBase, collectId: 'any' },
      'bare-express': { base: expressBase, collectId: 'any' },
    };
    const pids: Record<System, number> = {
      switchyard: gateway.process.pid ?? 0,
      'seed-peer': peer.process.pid ?? 0,
      'bare-node-http': bare.process.pid ?? 0,
      'bare-express': bareExpress.process.pid ?? 0,
    };
    const rssIdleBytes = rssBytes(pids.switchyard);
    const stats = new Redis(redis.url);

    for (const system of SYSTEMS) for (const which of CASES) await load(targets[system], which, WARM_UP_SECONDS);
    const runs: Record<System, Record<Case, Measured[]>> = {
      switchyard: { execute: [], collect: [] },
      'seed-peer': { execute: [], collect: [] },
      'bare-node-http': { execute: [], collect: [] },
      'bare-express': { execute: [], collect: [] },
    };
    // Rounds interleave the systems, so that a noisy moment on this shared machine lands on both.
    for (let round = 0; round < ROUNDS; round++) {
      for (const which of CASES) {
        for (const system of SYSTEMS) {
          runs[system][which].push(await measure(pids[system], stats, () => load(targets[system], which, SECONDS)));
        }
      }
    }
    const rssAfterBytes = rssBytes(pids.switchyard);
    const rssPeakBytes = Math.max(...CASES.flatMap((which) => runs.switchyard[which].map((m) => m.peakRssBytes)));
    stats.disconnect();

    const summary = (system: System, which: Case) => {
      const measured = runs[system][which];
      const med = (pick: (m: Measured) => number) => median(measured.map(pick));
      return {
        requestsPerSecond: med((m) => m.wrk.requestsPerSecond),
        p50Ms: med((m) => m.wrk.p50Ms),
        p99Ms: med((m) => m.wrk.p99Ms),
        failures: measured.reduce((sum, m) => sum + m.wrk.failures, 0),
        gatewayCpuUs: med((m) => m.gatewayCpuUs),
        redisCpuUs: med((m) => m.redisCpuUs),
      };
    };
    const rows = CASES.flatMap((which) =>
      SYSTEMS.map((system) => {
        const s = summary(system, which);
        const peer = summary('seed-peer', which);
        return [
          which,
          system,
          s.requestsPerSecond,
          ratio(s.requestsPerSecond, peer.requestsPerSecond),
          s.p50Ms,
          s.p99Ms,
          s.failures,
          s.gatewayCpuUs,
          ratio(peer.gatewayCpuUs, s.gatewayCpuUs),
          s.redisCpuUs,
        ];
      }),
    );
    const settings = process.env.GATEWAY_PROCESSES ? `, GATEWAY_PROCESSES=${process.env.GATEWAY_PROCESSES}` : '';
    console.log(
      `\ngateway under wrk: ${CONNECTIONS} connections, ${SECONDS} s per case, median of ${ROUNDS} round(s)${settings}`,
    );
    console.log(
      markdownTable(
        [
          ...['case', 'gateway', 'req/s', 'req/s vs peer', 'p50 (ms)', 'p99 (ms)', 'not 2xx'],
          ...['gateway CPU µs/req', 'CPU vs peer', 'Redis CPU µs/req'],
        ],
        rows,
      ),
    );
    console.log(
      `Switchyard gateway RSS: ${mb(rssIdleBytes).toFixed(1)} MB idle, ${mb(rssPeakBytes).toFixed(1)} MB peak under load, ${mb(rssAfterBytes).toFixed(1)} MB after`,
    );
    const bars: ChartBar[] = CASES.flatMap((which) =>
      SYSTEMS.map((system) => ({ group: which, system, value: summary(system, which).requestsPerSecond })),
    );
    saveResults({
      bench: process.env.GATEWAY_PROCESSES ? `gateway-${process.env.GATEWAY_PROCESSES}-processes` : 'gateway',
      unit: `requests/s at ${CONNECTIONS} connections (higher is better)`,
      bars,
      details: {
        connections: CONNECTIONS,
        seconds: SECONDS,
        rounds: ROUNDS,
        gatewayProcesses: process.env.GATEWAY_PROCESSES ?? '1',
        summary: Object.fromEntries(
          SYSTEMS.map((system) => [system, Object.fromEntries(CASES.map((which) => [which, summary(system, which)]))]),
        ),
        rssMb: { idle: mb(rssIdleBytes), peak: mb(rssPeakBytes), after: mb(rssAfterBytes) },
      },
    });
  } finally {
    await Promise.all(processes.map((p) => p.stop()));
    await redis.stop();
  }
}

runBench('gateway.ts', (ROUNDS * 6 * (SECONDS + 25) + 240) * 1_000, main, processes);
