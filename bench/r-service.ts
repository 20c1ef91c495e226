/**
 * The R service's POST /tasks as the gateway calls it (one connection per request, bearer token,
 * JSON submission), side by side with a plumber endpoint that does nothing (bench/peers/noop_plumber.R,
 * plumbed the same way): the ceiling plumber and httpuv set on this machine.
 *
 * - steady: CONCURRENCY (10) callers each POST one task after another for SECONDS (10): accepted
 *   tasks/s and POST latency p50/p99;
 * - burst: BURST (1,000) POSTs all at once: how many were accepted, how many refused or failed,
 *   and how long the last one took.
 *
 * The R service runs its tasks meanwhile (`long_task(1)` with LONG_TASK_STEP_MS=0, MAX_CONCURRENT_TASKS=4),
 * as it would in use; a second R case submits to a paused queue (`held`), so the request path is
 * measured alone. Between cases the service is given time to settle (GET /health quick again). Last,
 * bench/r/submit-profile.R times the steps of an accepted submission in-process (no HTTP) with Rprof.
 *
 *   npm run bench:r
 *   CONCURRENCY=20 SECONDS=5 BURST=500 npm run bench:r
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { request } from 'node:http';
import { TaskQueues, createKeyLayout, createRedis } from '@switchyard/shared';
import { ensureSystemPackages } from '../scripts/lib/prerequisites.mjs';
import { freePort, startRedisServer } from '../tests/support/redis-server.js';
import {
  PEERS_DIR,
  REPO_ROOT,
  cpuMicros,
  runBench,
  startProcess,
  waitForHttp,
  type BenchProcess,
} from './lib/processes.js';
import { markdownTable, saveResults } from './lib/report.js';

const CONCURRENCY = Math.min(Number(process.env.CONCURRENCY ?? 10), 200);
const SECONDS = Math.min(Number(process.env.SECONDS ?? 10), 120);
const BURST = Math.min(Number(process.env.BURST ?? 1_000), 5_000);
const TOKEN = `bench-token-${randomUUID()}`;
/** A single POST that takes longer than this counts as failed. */
const REQUEST_TIMEOUT_MS = 30_000;

type Service = 'noop-plumber' | 'r-service' | 'r-service, queue paused';

interface Reply {
  status: number;
  ms: number;
}

/** One POST on a connection of its own (no keep-alive, as the gateway's R client sends them). */
function post(port: number, body: string): Promise<Reply> {
  const started = process.hrtime.bigint();
  const ms = () => Number(process.hrtime.bigint() - started) / 1e6;
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/tasks',
        method: 'POST',
        agent: false,
        timeout: REQUEST_TIMEOUT_MS,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          authorization: `Bearer ${TOKEN}`,
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: ms() }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0, ms: ms() }));
    req.end(body);
  });
}

const submission = (queue: string) => JSON.stringify({ task_id: randomUUID(), task: 'long_task', args: [1], queue });

/** The queue of the paused case: the service serves it, but it stays paused, so nothing it holds runs. */
const HELD_QUEUE = 'held';

/** Waits (at most 90 s) until GET /health answers within 200 ms: the previous case's backlog is worked off. */
async function settle(port: number): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    const started = Date.now();
    const ok = await fetch(`http://127.0.0.1:${port}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok && Date.now() - started < 200) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

const percentile = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

async function steady(port: number, pid: number, queue: string) {
  const replies: Reply[] = [];
  const cpuBefore = cpuMicros(pid);
  const started = Date.now();
  const until = started + SECONDS * 1_000;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < until) replies.push(await post(port, submission(queue)));
    }),
  );
  const seconds = (Date.now() - started) / 1_000;
  const latencies = replies.map((r) => r.ms).sort((a, b) => a - b);
  const accepted = replies.filter((r) => r.status === 202).length;
  return {
    acceptedPerSecond: accepted / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    notAccepted: replies.length - accepted,
    cpuUsPerPost: (cpuMicros(pid) - cpuBefore) / replies.length,
  };
}

async function burst(port: number, queue: string) {
  const started = Date.now();
  const replies = await Promise.all(Array.from({ length: BURST }, () => post(port, submission(queue))));
  const statuses = new Map<number, number>();
  for (const reply of replies) statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
  return {
    accepted: statuses.get(202) ?? 0,
    refusedOrFailed: BURST - (statuses.get(202) ?? 0),
    statuses: Object.fromEntries(
      [...statuses].map(([status, count]) => [
        status === 0 ? `no answer within ${REQUEST_TIMEOUT_MS / 1000} s` : status,
        count,
      ]),
    ),
    lastAnsweredMs: Date.now() - started,
  };
}

const processes: BenchProcess[] = [];

async function main(): Promise<void> {
  const missing = ensureSystemPackages(['redis', 'r']);
  if (missing.length > 0) throw new Error(`cannot run without: ${missing.join(', ')}`);
  const redis = await startRedisServer();
  const [rPort, noopPort] = [await freePort(), await freePort()];
  try {
    const prefix = `bench-r-${randomUUID().slice(0, 8)}`;
    const rService = startProcess('Rscript', ['r-worker/main.R'], {
      REDIS_URL: redis.url,
      KEY_PREFIX: prefix,
      HOST: '127.0.0.1',
      PORT: String(rPort),
      LOG_LEVEL: 'warn',
      R_SERVICE_TOKEN: TOKEN,
      LONG_TASK_STEP_MS: '0',
      QUEUES: `default,${HELD_QUEUE}`,
    });
    const noop = startProcess(
      'Rscript',
      [
        '-e',
        `plumber::pr_run(plumber::pr("noop_plumber.R"), host = "127.0.0.1", port = ${noopPort}, docs = FALSE, quiet = TRUE)`,
      ],
      {},
      PEERS_DIR,
    );
    processes.push(rService, noop);
    await waitForHttp(`http://127.0.0.1:${rPort}/health`, 'the R service', 60_000);
    await waitForHttp(`http://127.0.0.1:${noopPort}/health`, 'the no-op plumber app', 60_000);
    const client = createRedis(redis.url, 'worker');
    const queues = new TaskQueues(client, createKeyLayout(prefix), 'r', 3_600);
    // The paused case shows the request path alone: its tasks wait, so no child is forked meanwhile.
    await queues.setPaused(HELD_QUEUE, true);
    const services: { service: Service; port: number; pid: number; queue: string }[] = [
      { service: 'noop-plumber', port: noopPort, pid: noop.process.pid ?? 0, queue: 'default' },
      { service: 'r-service, queue paused', port: rPort, pid: rService.process.pid ?? 0, queue: HELD_QUEUE },
      { service: 'r-service', port: rPort, pid: rService.process.pid ?? 0, queue: 'default' },
    ];
    for (const { port, queue } of services) {
      await Promise.all(Array.from({ length: 50 }, () => post(port, submission(queue))));
    }
    await settle(rPort);

    const measured = [];
    for (const { service, port, pid, queue } of services) {
      const steadily = await steady(port, pid, queue);
      await settle(port);
      measured.push({ service, steady: steadily, burst: await burst(port, queue) });
      await settle(port);
    }
    client.disconnect();
    const results = Object.fromEntries(measured.map((m) => [m.service, m]));
    const ceiling = measured[0]?.steady.acceptedPerSecond ?? NaN;
    console.log(
      `\nPOST /tasks: ${CONCURRENCY} concurrent callers for ${SECONDS} s, then a burst of ${BURST} at once (one connection per request)`,
    );
    console.log(
      markdownTable(
        [
          ...['service', 'accepted/s', 'vs no-op', 'p50 (ms)', 'p99 (ms)', 'not 202', 'CPU µs/POST'],
          ...[`burst of ${BURST}: accepted`, 'refused or failed', 'last answer (ms)'],
        ],
        measured.map(({ service, steady: s, burst: b }) => {
          return [
            ...[service, s.acceptedPerSecond, `${(s.acceptedPerSecond / ceiling).toFixed(2)}×`, s.p50Ms, s.p99Ms],
            ...[s.notAccepted, s.cpuUsPerPost, b.accepted, b.refusedOrFailed, b.lastAnsweredMs],
          ];
        }),
      ),
    );
    for (const { service, burst: b } of measured) {
      if (b.refusedOrFailed > 0) console.log(`${service} burst answers: ${JSON.stringify(b.statuses)}`);
    }
    console.log(
      execFileSync('Rscript', [`${REPO_ROOT}bench/r/submit-profile.R`, redis.url, '300'], {
        encoding: 'utf8',
        timeout: 120_000,
      }),
    );
    saveResults({
      bench: 'r-service',
      unit: `accepted POST /tasks per second, ${CONCURRENCY} concurrent (higher is better)`,
      bars: measured.map(({ service, steady: s }) => ({
        group: 'POST /tasks',
        system: service,
        value: s.acceptedPerSecond,
      })),
      details: { concurrency: CONCURRENCY, seconds: SECONDS, burst: BURST, results },
    });
  } finally {
    await Promise.all(processes.map((p) => p.stop()));
    await redis.stop();
  }
}

runBench('r-service.ts', (3 * SECONDS + 600) * 1_000, main, processes);
