/**
 * Queue throughput, side by side in one run on one redis-server: Switchyard's Node queue and worker
 * against BullMQ and bee-queue, each draining the same number of no-op jobs at the same concurrency.
 * Two numbers per queue: how fast jobs are enqueued, and how fast one worker process drains them.
 *
 *   npm run bench                       # defaults: 20000 jobs, concurrency 50, 3 rounds
 *   JOBS=5000 CONCURRENCY=10 ROUNDS=1 npm run bench
 *
 * Switchyard's worker runs compiled (node-worker/dist, as production runs it; `npm run bench` builds
 * it, alone: `npm run build && node --import tsx bench/queue-throughput.ts`).
 *
 * Switchyard's worker does more per job than the peers: it writes a terminal record (the status a
 * caller collects) under a lease, where the peers only move the job.
 *
 * A second case mixes priorities and queues: jobs with priorities 0-9 spread over three queues that
 * one Switchyard worker serves, against BullMQ with the same priorities (BullMQ's prioritized set).
 */
import { randomUUID } from 'node:crypto';
import { Queue, Worker } from 'bullmq';
import BeeQueue from 'bee-queue';
import { Redis } from 'ioredis';
import {
  TaskQueues,
  createKeyLayout,
  createRecordReader,
  createRedis,
  planTask,
  silentLogger,
} from '@switchyard/shared';
import { createCpuPool } from '../node-worker/dist/tasks/cpu-pool.js';
import { NodeWorker } from '../node-worker/dist/worker.js';
import { startRedisServer } from '../tests/support/redis-server.js';
import { redisCounters } from './lib/redis-counters.js';

const JOBS = Number(process.env.JOBS ?? 20_000);
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 50);
/** The plain case also runs at these concurrencies (the mixed one at CONCURRENCY only). */
const CONCURRENCIES = (process.env.CONCURRENCIES ?? `1,10,${CONCURRENCY}`).split(',').map(Number);
/** Latency case: tasks submitted one at a time, LATENCY_GAP_MS apart, to a worker already waiting. */
const LATENCY_JOBS = Number(process.env.LATENCY_JOBS ?? 1_000);
const LATENCY_GAP_MS = Number(process.env.LATENCY_GAP_MS ?? 2);
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const TIME_LIMIT_MS = 120_000;

interface Measure {
  enqueuePerSecond: number;
  drainPerSecond: number;
  /** Redis CPU time (user + system) spent while draining, per job. */
  redisMicrosPerJob: number;
}

/** Redis's own CPU time so far, in µs (INFO cpu). */
async function redisCpuMicros(url: string): Promise<number> {
  const probe = new Redis(url);
  try {
    return (await redisCounters(probe)).cpuMicros;
  } finally {
    probe.disconnect();
  }
}

const perSecond = (count: number, startedAt: bigint) => count / (Number(process.hrtime.bigint() - startedAt) / 1e9);

async function withinTimeLimit<T>(what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${TIME_LIMIT_MS} ms`)), TIME_LIMIT_MS);
  });
  try {
    return await Promise.race([work, limit]);
  } finally {
    clearTimeout(timer);
  }
}

/** Switchyard: every job in `default`, or (mixed) priorities 0-9 over three queues. */
async function switchyardRun(url: string, mixed: boolean, concurrency: number): Promise<Measure> {
  const redis = createRedis(url, 'worker');
  const keys = createKeyLayout(`bench-${randomUUID().slice(0, 8)}`);
  const queues = new TaskQueues(redis, keys, 'node', 3_600);
  const names = mixed ? ['q0', 'q1', 'q2'] : ['default'];
  const enqueueStart = process.hrtime.bigint();
  for (let i = 0; i < JOBS; i += 1_000) {
    await Promise.all(
      Array.from({ length: Math.min(1_000, JOBS - i) }, (_, j) => {
        const n = i + j;
        const { record, payload } = planTask('node', randomUUID(), {
          task: 'add',
          args: [1, 2],
          queue: names[n % names.length]!,
          ...(mixed ? { options: { priority: n % 10 } } : {}),
        });
        return queues.enqueue(record, payload);
      }),
    );
  }
  const enqueuePerSecond = perSecond(JOBS, enqueueStart);
  const worker = switchyardWorker(url, queues, names, concurrency);
  const cpuBefore = await redisCpuMicros(url);
  const drainStart = process.hrtime.bigint();
  await worker.start();
  await succeeded(worker, JOBS, 'switchyard drain');
  const drainPerSecond = perSecond(JOBS, drainStart);
  const redisMicrosPerJob = ((await redisCpuMicros(url)) - cpuBefore) / JOBS;
  await worker.stop(0);
  redis.disconnect();
  return { enqueuePerSecond, drainPerSecond, redisMicrosPerJob };
}

/** Waits, within the time limit, until `worker` has run `count` tasks to SUCCESS. */
function succeeded(worker: NodeWorker, count: number, what: string): Promise<void> {
  return withinTimeLimit(
    what,
    (async () => {
      while (worker.stats.success < count) await new Promise((resolve) => setTimeout(resolve, 5));
    })(),
  );
}

function switchyardWorker(url: string, queues: TaskQueues, names: string[], concurrency: number): NodeWorker {
  return new NodeWorker(
    {
      queues,
      blocking: createRedis(url, 'blocking'),
      subscriber: createRedis(url, 'blocking'),
      cpuPool: createCpuPool(1),
    },
    { queues: names, concurrency, leaseMs: 30_000, longTaskStepMs: 0, maxDeliveries: 20, blockTimeoutSeconds: 1 },
    silentLogger,
  );
}

const switchyard = (url: string, concurrency: number) => switchyardRun(url, false, concurrency);
const switchyardMixed = (url: string, concurrency: number) => switchyardRun(url, true, concurrency);

async function bullmqRun(url: string, prioritized: boolean, concurrency: number): Promise<Measure> {
  const { port } = new URL(url);
  const connection = { host: '127.0.0.1', port: Number(port), maxRetriesPerRequest: null };
  const name = `bench-${randomUUID().slice(0, 8)}`;
  const queue = new Queue(name, { connection });
  const enqueueStart = process.hrtime.bigint();
  for (let i = 0; i < JOBS; i += 1_000) {
    await queue.addBulk(
      Array.from({ length: Math.min(1_000, JOBS - i) }, (_, j) => ({
        name: 'add',
        data: [1, 2],
        // BullMQ: 1 is the highest priority; Switchyard: 9 is.
        ...(prioritized ? { opts: { priority: 10 - ((i + j) % 10) } } : {}),
      })),
    );
  }
  const enqueuePerSecond = perSecond(JOBS, enqueueStart);
  let done = 0;
  const cpuBefore = await redisCpuMicros(url);
  const drainStart = process.hrtime.bigint();
  const worker = new Worker(name, async (job) => (job.data as number[])[0]! + (job.data as number[])[1]!, {
    connection,
    concurrency,
    autorun: false,
  });
  const finished = new Promise<void>((resolve) =>
    worker.on('completed', () => {
      if (++done === JOBS) resolve();
    }),
  );
  void worker.run();
  await withinTimeLimit('bullmq drain', finished);
  const drainPerSecond = perSecond(JOBS, drainStart);
  const redisMicrosPerJob = ((await redisCpuMicros(url)) - cpuBefore) / JOBS;
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  return { enqueuePerSecond, drainPerSecond, redisMicrosPerJob };
}

const bullmq = (url: string, concurrency: number) => bullmqRun(url, false, concurrency);
const bullmqPriorities = (url: string, concurrency: number) => bullmqRun(url, true, concurrency);

async function beeQueue(url: string, concurrency: number): Promise<Measure> {
  const { port } = new URL(url);
  const name = `bench-${randomUUID().slice(0, 8)}`;
  const redis = { host: '127.0.0.1', port: Number(port) };
  const producer = new BeeQueue(name, { redis, isWorker: false, getEvents: false, sendEvents: false });
  const enqueueStart = process.hrtime.bigint();
  for (let i = 0; i < JOBS; i += 1_000) {
    await producer.saveAll(Array.from({ length: Math.min(1_000, JOBS - i) }, () => producer.createJob([1, 2])));
  }
  const enqueuePerSecond = perSecond(JOBS, enqueueStart);
  const consumer = new BeeQueue(name, { redis, getEvents: false, sendEvents: false, storeJobs: false });
  let done = 0;
  const cpuBefore = await redisCpuMicros(url);
  const drainStart = process.hrtime.bigint();
  const finished = new Promise<void>((resolve) => {
    consumer.process(concurrency, async (job: { data: number[] }) => {
      const sum = job.data[0]! + job.data[1]!;
      if (++done === JOBS) setImmediate(resolve);
      return sum;
    });
  });
  await withinTimeLimit('bee-queue drain', finished);
  const drainPerSecond = perSecond(JOBS, drainStart);
  const redisMicrosPerJob = ((await redisCpuMicros(url)) - cpuBefore) / JOBS;
  await consumer.destroy();
  await consumer.close();
  await producer.close();
  return { enqueuePerSecond, drainPerSecond, redisMicrosPerJob };
}

/** Submit→SUCCESS in ms, from each queue's own stamps: when the job was created and when its worker finished it. */
type LatencyRun = (url: string) => Promise<number[]>;

const paced = () => new Promise((resolve) => setTimeout(resolve, LATENCY_GAP_MS));

const switchyardLatency: LatencyRun = async (url) => {
  const redis = createRedis(url, 'worker');
  const keys = createKeyLayout(`bench-${randomUUID().slice(0, 8)}`);
  const queues = new TaskQueues(redis, keys, 'node', 3_600);
  const worker = switchyardWorker(url, queues, ['default'], CONCURRENCY);
  await worker.start();
  const ids: string[] = [];
  for (let i = 0; i < LATENCY_JOBS; i++) {
    const { record, payload } = planTask('node', randomUUID(), { task: 'add', args: [1, 2], queue: 'default' });
    ids.push(record.task_id);
    await queues.enqueue(record, payload);
    await paced();
  }
  await succeeded(worker, LATENCY_JOBS, 'switchyard latency');
  await worker.stop(0);
  const reader = createRecordReader(redis, keys);
  const records = await Promise.all(ids.map((id) => reader.read(id)));
  redis.disconnect();
  return records.map((r) => Date.parse(r!.finished_at!) - Date.parse(r!.created_at));
};

const bullmqLatency: LatencyRun = async (url) => {
  const connection = { host: '127.0.0.1', port: Number(new URL(url).port), maxRetriesPerRequest: null };
  const name = `bench-${randomUUID().slice(0, 8)}`;
  const queue = new Queue(name, { connection });
  const latencies: number[] = [];
  const worker = new Worker(name, async (job) => (job.data as number[])[0]! + (job.data as number[])[1]!, {
    connection,
    concurrency: CONCURRENCY,
  });
  const finished = new Promise<void>((resolve) =>
    worker.on('completed', (job) => {
      latencies.push(job.finishedOn! - job.timestamp);
      if (latencies.length === LATENCY_JOBS) resolve();
    }),
  );
  await worker.waitUntilReady();
  for (let i = 0; i < LATENCY_JOBS; i++) {
    await queue.add('add', [1, 2]);
    await paced();
  }
  await withinTimeLimit('bullmq latency', finished);
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  return latencies;
};

const beeQueueLatency: LatencyRun = async (url) => {
  const redis = { host: '127.0.0.1', port: Number(new URL(url).port) };
  const name = `bench-${randomUUID().slice(0, 8)}`;
  const producer = new BeeQueue(name, { redis, isWorker: false, getEvents: false, sendEvents: false });
  const consumer = new BeeQueue(name, { redis, getEvents: false, sendEvents: false, storeJobs: false });
  const latencies: number[] = [];
  const finished = new Promise<void>((resolve) => {
    consumer.process(CONCURRENCY, async (job: { data: number[]; options: { timestamp: number } }) => {
      latencies.push(Date.now() - job.options.timestamp);
      if (latencies.length === LATENCY_JOBS) setImmediate(resolve);
      return job.data[0]! + job.data[1]!;
    });
  });
  await consumer.ready();
  for (let i = 0; i < LATENCY_JOBS; i++) {
    await producer.createJob([1, 2]).save();
    await paced();
  }
  await withinTimeLimit('bee-queue latency', finished);
  await consumer.close();
  await producer.close();
  return latencies;
};

const LATENCY_RUNS: Record<string, LatencyRun> = {
  switchyard: switchyardLatency,
  bullmq: bullmqLatency,
  'bee-queue': beeQueueLatency,
};

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};

const ALL_PEERS = {
  switchyard,
  bullmq,
  'bee-queue': beeQueue,
  'switchyard-mixed': switchyardMixed,
  'bullmq-priorities': bullmqPriorities,
} as const;
/** PEERS=switchyard,bullmq runs only those (BullMQ is the reference of the plain case, bullmq-priorities of the mixed one). */
const PEERS = Object.fromEntries(
  Object.entries(ALL_PEERS).filter(([name]) =>
    (process.env.PEERS ?? Object.keys(ALL_PEERS).join(',')).split(',').includes(name),
  ),
);

/** Which concurrencies a peer runs at: the mixed cases at CONCURRENCY only. */
const concurrenciesOf = (name: string) =>
  name.endsWith('mixed') || name.endsWith('priorities') ? [CONCURRENCY] : CONCURRENCIES;

async function main(): Promise<void> {
  const server = await startRedisServer();
  const results: Record<string, Measure[]> = {};
  const latencies: Record<string, number[]> = {};
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      // Interleaved, so a noisy moment on the shared machine does not land on one peer only.
      for (const concurrency of CONCURRENCIES) {
        for (const [name, run] of Object.entries(PEERS)) {
          if (!concurrenciesOf(name).includes(concurrency)) continue;
          const measure = await run(server.url, concurrency);
          (results[`${name}|${concurrency}`] ??= []).push(measure);
          console.log(
            `round ${round} ${name.padEnd(17)} c=${String(concurrency).padEnd(3)} enqueue ${measure.enqueuePerSecond.toFixed(0).padStart(7)} jobs/s   drain ${measure.drainPerSecond.toFixed(0).padStart(7)} jobs/s   Redis ${measure.redisMicrosPerJob.toFixed(1)} µs/job`,
          );
        }
      }
    }
    if (LATENCY_JOBS > 0) {
      for (const [name, run] of Object.entries(LATENCY_RUNS)) {
        if (!(name in PEERS)) continue;
        latencies[name] = await run(server.url);
        console.log(
          `latency ${name}: p50 ${percentile(latencies[name], 50)} ms, p99 ${percentile(latencies[name], 99)} ms`,
        );
      }
    }
    if (process.env.REDIS_STATS) {
      const stats = createRedis(server.url, 'worker');
      console.log(
        String(await stats.info('commandstats'))
          .split('\n')
          .filter((l) => /calls=\d{4,}/.test(l))
          .join('\n'),
      );
      console.log(String(await stats.info('cpu')));
      stats.disconnect();
    }
  } finally {
    await server.stop();
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const drainOf = (key: string) => (results[key] ? median(results[key].map((m) => m.drainPerSecond)) : NaN);
  console.log(`\n${JOBS} no-op jobs, one worker process, median of ${ROUNDS} rounds, node ${process.version}`);
  console.log(
    '| queue | concurrency | enqueue (jobs/s) | drain (jobs/s) | drain vs BullMQ (same case) | Redis CPU while draining (µs/job) |',
  );
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const [key, measures] of Object.entries(results)) {
    const [name = '', concurrency = ''] = key.split('|');
    const drain = median(measures.map((m) => m.drainPerSecond));
    const enqueue = median(measures.map((m) => m.enqueuePerSecond));
    const reference =
      name.endsWith('mixed') || name.endsWith('priorities')
        ? drainOf(`bullmq-priorities|${concurrency}`)
        : drainOf(`bullmq|${concurrency}`);
    const redisMicros = median(measures.map((m) => m.redisMicrosPerJob));
    console.log(
      `| ${name} | ${concurrency} | ${enqueue.toFixed(0)} | ${drain.toFixed(0)} | ${(drain / reference).toFixed(2)}× | ${redisMicros.toFixed(1)} |`,
    );
  }
  if (Object.keys(latencies).length > 0) {
    console.log(
      `\nsubmit → SUCCESS, ${LATENCY_JOBS} tasks submitted one at a time ${LATENCY_GAP_MS} ms apart to a waiting worker (concurrency ${CONCURRENCY}), from each queue's own ms stamps`,
    );
    console.log('| queue | p50 (ms) | p99 (ms) |');
    console.log('| --- | --- | --- |');
    for (const [name, values] of Object.entries(latencies))
      console.log(`| ${name} | ${percentile(values, 50)} | ${percentile(values, 99)} |`);
  }
  process.exit(0);
}

void main();
