/**
 * How cost grows (issue 12), Switchyard's Node queue beside BullMQ in one run on one redis-server
 * that this bench starts (and flushes between runs). Three cases, each run for both queues in turn:
 *
 * - backlog: with 1k, 100k and 1M no-op tasks waiting, the drain rate of the first MEASURED of them
 *   by one worker at CONCURRENCY, and Redis's used_memory per waiting task;
 * - worker processes: PROCESS_TASKS waiting tasks drained by 1, 2 and 4 worker child processes
 *   (bench/lib/drain-worker.ts, one worker each at CONCURRENCY), started on a paused queue that is
 *   then resumed, so the clock runs from resume until nothing is left;
 * - active: ACTIVE tasks held active (Switchyard: claimed under a token of their own with a long
 *   lease; BullMQ: a worker whose processor waits until the end, with a long lock) while another
 *   worker drains ACTIVE_TASKS, against the same with none active. Redis's own EVALSHA µs per call
 *   (both queues run their Lua with EVALSHA: claim and acknowledge are most of those calls) and CPU µs
 *   per task say whether claiming and acknowledging get dearer with a long active set (an O(N) scan
 *   such as LREM on the active list would).
 *
 *   npm run build && node --import tsx bench/cost-growth.ts
 *   BACKLOGS=1000,5000 MEASURED=2000 PROCESSES=1,2 PROCESS_TASKS=2000 ACTIVE=200 ACTIVE_TASKS=2000 node ...
 *   CASES=active PEERS=switchyard node ...
 *
 * Writes bench/results/cost-growth.json (chart.ts draws it). Exits non-zero if a run failed or ran
 * over its time limit, after the others ran.
 */
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { startRedisServer } from '../tests/support/redis-server.js';
import { deadlineIn, until } from './lib/deadline.js';
import { cpuMicros, startProcess, type BenchProcess } from './lib/processes.js';
import {
  isSystem,
  newQueueName,
  openQueue,
  type HeldTasks,
  type RunningWorker,
  type System,
} from './lib/queues-under-test.js';
import { countersBetween, redisCounters, usedMemory } from './lib/redis-counters.js';
import { markdownTable, saveResults, type Cell, type ChartBar } from './lib/report.js';

function wholeNumbers(name: string, fallback: string, max: number): number[] {
  const text = process.env[name] ?? fallback;
  const values = text.split(',').map(Number);
  if (values.some((value) => !Number.isInteger(value) || value < 1 || value > max))
    throw new Error(`${name} must be whole numbers from 1 to ${max}, comma-separated; got "${text}"`);
  return values;
}

function wholeNumber(name: string, fallback: number, max: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1 || value > max)
    throw new Error(`${name} must be a whole number from 1 to ${max}; got "${process.env[name]}"`);
  return value;
}

function names<T extends string>(name: string, known: readonly T[], isKnown: (value: string) => value is T): T[] {
  const values = (process.env[name] ?? known.join(',')).split(',');
  const unknown = values.filter((value) => !isKnown(value));
  if (unknown.length > 0) throw new Error(`${name}: unknown ${unknown.join(', ')}; known: ${known.join(', ')}`);
  return values.filter(isKnown);
}

const CASE_NAMES = ['backlog', 'processes', 'active'] as const;
type CaseName = (typeof CASE_NAMES)[number];
const isCase = (name: string): name is CaseName => (CASE_NAMES as readonly string[]).includes(name);

const BACKLOGS = wholeNumbers('BACKLOGS', '1000,100000,1000000', 2_000_000);
const MEASURED = wholeNumber('MEASURED', 20_000, 1_000_000);
const PROCESSES = wholeNumbers('PROCESSES', '1,2,4', 16);
const PROCESS_TASKS = wholeNumber('PROCESS_TASKS', 20_000, 1_000_000);
const ACTIVE = wholeNumber('ACTIVE', 1_000, 100_000);
const ACTIVE_TASKS = wholeNumber('ACTIVE_TASKS', 20_000, 1_000_000);
const CONCURRENCY = wholeNumber('CONCURRENCY', 50, 1_000);
const PEERS = names('PEERS', ['switchyard', 'bullmq'], isSystem);
const CASES = names('CASES', CASE_NAMES, isCase);

/** A fill may take a minute plus 0.6 ms a task (1M: 11 min; both queues fill at ~3k/s here on a busy day). */
const fillLimitMs = (tasks: number) => 60_000 + tasks * 0.6;
const DRAIN_LIMIT_MS = 180_000;
const WORKER_START_LIMIT_MS = 60_000;
/** Held tasks' leases (locks) outlast a whole case, so no renewal runs while the drain is measured. */
const HOLD_LEASE_MS = 15 * 60_000;
/** Redis memory left to everyone else on the machine when a backlog is estimated to need more. */
const MEMORY_HEADROOM_BYTES = 2 * 1024 ** 3;

interface Run {
  level: number;
  system: System;
  figures?: Record<string, number>;
  error?: string;
}

/** Worker processes running now, stopped also when run-all.ts ends this bench over its time limit. */
const liveChildren = new Set<BenchProcess>();

const seconds = (startedAt: bigint) => Number(process.hrtime.bigint() - startedAt) / 1e9;

function availableMemory(): number {
  const kib = /MemAvailable:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1];
  return kib === undefined ? Infinity : Number(kib) * 1024;
}

async function backlog(url: string, admin: Redis, system: System, waiting: number): Promise<Record<string, number>> {
  const queue = openQueue(system, url, newQueueName());
  const memoryBefore = await usedMemory(admin);
  const every = waiting >= 100_000 ? waiting / 10 : Infinity;
  const fillStart = process.hrtime.bigint();
  let worker: RunningWorker | undefined;
  try {
    await queue.fill(waiting, deadlineIn(`${system}: filling ${waiting}`, fillLimitMs(waiting)), (filled) => {
      if (filled % every === 0)
        console.log(`  ${system}: ${filled} of ${waiting} waiting (${(filled / seconds(fillStart)).toFixed(0)}/s)`);
    });
    const fillPerSecond = waiting / seconds(fillStart);
    const bytesPerTask = ((await usedMemory(admin)) - memoryBefore) / waiting;
    const measured = Math.min(waiting, MEASURED);
    const drainStart = process.hrtime.bigint();
    const running = await queue.startWorker(CONCURRENCY);
    worker = running;
    await until(() => running.finished() >= measured, deadlineIn(`${system}: draining ${measured}`, DRAIN_LIMIT_MS));
    return { fillPerSecond, bytesPerTask, measured, drainPerSecond: measured / seconds(drainStart) };
  } finally {
    await worker?.stop();
    await queue.close();
  }
}

async function workerProcesses(
  url: string,
  admin: Redis,
  system: System,
  processes: number,
): Promise<Record<string, number>> {
  const name = newQueueName();
  const queue = openQueue(system, url, name);
  const children: BenchProcess[] = [];
  try {
    await queue.setPaused(true);
    await queue.fill(PROCESS_TASKS, deadlineIn(`${system}: filling ${PROCESS_TASKS}`, fillLimitMs(PROCESS_TASKS)));
    const env = {
      SYSTEM: system,
      REDIS_URL: url,
      NAME: name,
      CONCURRENCY: String(CONCURRENCY),
      MAX_SECONDS: String((WORKER_START_LIMIT_MS + DRAIN_LIMIT_MS) / 1_000 + 60),
    };
    for (let i = 0; i < processes; i++) {
      const child = startProcess(process.execPath, ['--import', 'tsx', 'bench/lib/drain-worker.ts'], env);
      children.push(child);
      liveChildren.add(child);
    }
    await until(
      () => {
        const gone = children.find((child) => child.process.exitCode !== null);
        if (gone) throw new Error(`${system}: a worker process exited before it was ready:\n${gone.output()}`);
        return children.every((child) => child.output().includes('ready'));
      },
      deadlineIn(`${system}: starting ${processes} worker processes`, WORKER_START_LIMIT_MS),
      50,
    );
    const groupCpu = () => children.reduce((sum, child) => sum + cpuMicros(child.process.pid ?? -1), 0);
    const [workerCpuBefore, redisBefore] = [groupCpu(), await redisCounters(admin)];
    const drainStart = process.hrtime.bigint();
    await queue.setPaused(false);
    const drainDeadline = deadlineIn(`${system}: ${processes} processes draining ${PROCESS_TASKS}`, DRAIN_LIMIT_MS);
    await until(async () => (await queue.unfinished()) === 0, drainDeadline, 20);
    const drainPerSecond = PROCESS_TASKS / seconds(drainStart);
    const redis = countersBetween(redisBefore, await redisCounters(admin));
    return {
      drainPerSecond,
      workerCpuMicrosPerTask: (groupCpu() - workerCpuBefore) / PROCESS_TASKS,
      redisCpuMicrosPerTask: redis.cpuMicros / PROCESS_TASKS,
    };
  } finally {
    await Promise.all(children.map((child) => child.stop().then(() => liveChildren.delete(child))));
    await queue.close();
  }
}

async function drainWithActive(
  url: string,
  admin: Redis,
  system: System,
  active: number,
): Promise<Record<string, number>> {
  const queue = openQueue(system, url, newQueueName());
  const setUp = deadlineIn(`${system}: filling and holding ${active} active`, fillLimitMs(active + ACTIVE_TASKS));
  let held: HeldTasks | undefined;
  let worker: RunningWorker | undefined;
  try {
    if (active > 0) {
      await queue.fill(active, setUp);
      held = await queue.hold(active, HOLD_LEASE_MS, setUp);
    }
    await queue.fill(ACTIVE_TASKS, setUp);
    const before = await redisCounters(admin);
    const drainStart = process.hrtime.bigint();
    const running = await queue.startWorker(CONCURRENCY);
    worker = running;
    const drainDeadline = deadlineIn(`${system}: draining ${ACTIVE_TASKS} beside ${active} active`, DRAIN_LIMIT_MS);
    await until(() => running.finished() >= ACTIVE_TASKS, drainDeadline);
    const drainPerSecond = ACTIVE_TASKS / seconds(drainStart);
    const redis = countersBetween(before, await redisCounters(admin));
    return {
      drainPerSecond,
      evalshaMicrosPerTask: redis.evalshaMicros / ACTIVE_TASKS,
      evalshaMicrosPerCall: redis.evalshaMicros / redis.evalshaCalls,
      evalshaCallsPer100Tasks: (100 * redis.evalshaCalls) / ACTIVE_TASKS,
      redisCpuMicrosPerTask: redis.cpuMicros / ACTIVE_TASKS,
      stillActive: held ? await held.stillActive() : 0,
    };
  } finally {
    await worker?.stop();
    await held?.release();
    await queue.close();
  }
}

/** One run on a flushed Redis; an error or a time limit ends that run only, and is reported. */
async function attempt(
  runs: Run[],
  admin: Redis,
  level: number,
  system: System,
  work: () => Promise<Record<string, number>>,
): Promise<void> {
  await admin.flushall();
  try {
    const figures = await work();
    runs.push({ level, system, figures });
    const shown = Object.entries(figures).map(([key, value]) => `${key} ${value.toFixed(value < 100 ? 2 : 0)}`);
    console.log(`  ${level} ${system}: ${shown.join(', ')}`);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    runs.push({ level, system, error: message });
    console.log(`  ${level} ${system}: not measured: ${message}`);
  }
}

async function backlogCase(url: string, admin: Redis): Promise<Run[]> {
  const runs: Run[] = [];
  for (const waiting of BACKLOGS) {
    for (const system of PEERS) {
      // The largest backlog is estimated from the last one's bytes per task before Redis is filled.
      const last = runs.findLast((run) => run.system === system && run.figures)?.figures?.bytesPerTask;
      const needed = last === undefined ? 0 : last * waiting * 1.25;
      if (needed > availableMemory() - MEMORY_HEADROOM_BYTES) {
        const gb = (bytes: number) => (bytes / 1024 ** 3).toFixed(1);
        const error = `skipped: needs ~${gb(needed)} GB of Redis memory, ${gb(availableMemory())} GB available`;
        runs.push({ level: waiting, system, error });
        console.log(`  ${waiting} ${system}: ${error}`);
        continue;
      }
      await attempt(runs, admin, waiting, system, () => backlog(url, admin, system, waiting));
    }
  }
  return runs;
}

async function processesCase(url: string, admin: Redis): Promise<Run[]> {
  const runs: Run[] = [];
  for (const processes of PROCESSES)
    for (const system of PEERS)
      await attempt(runs, admin, processes, system, () => workerProcesses(url, admin, system, processes));
  return runs;
}

async function activeCase(url: string, admin: Redis): Promise<Run[]> {
  const runs: Run[] = [];
  for (const active of [0, ACTIVE])
    for (const system of PEERS)
      await attempt(runs, admin, active, system, () => drainWithActive(url, admin, system, active));
  return runs;
}

/** A run's figure, or a dash where the run failed. */
function cell(run: Run, key: string): Cell {
  const value = run.figures?.[key];
  return value === undefined ? '—' : value;
}

/** `key` of `run` divided by the same figure of `reference` (another run), as "1.23×". */
function ratio(run: Run, reference: Run | undefined, key: string): Cell {
  const value = run.figures?.[key];
  const base = reference?.figures?.[key];
  return value === undefined || base === undefined || base === 0 ? '—' : `${(value / base).toFixed(2)}×`;
}

const bullmqAt = (runs: Run[], level: number) => runs.find((r) => r.system === 'bullmq' && r.level === level);

function printBacklog(runs: Run[]): void {
  console.log(
    `\nBacklog: drain of the first min(waiting, ${MEASURED}) tasks, one worker at concurrency ${CONCURRENCY}`,
  );
  const headers = ['waiting', 'queue', 'fill (tasks/s)', 'Redis bytes / waiting task', 'drain (jobs/s)', 'vs BullMQ'];
  const rows = runs.map((run) => [
    run.level,
    run.system,
    cell(run, 'fillPerSecond'),
    cell(run, 'bytesPerTask'),
    cell(run, 'drainPerSecond'),
    ratio(run, bullmqAt(runs, run.level), 'drainPerSecond'),
    ratio(
      run,
      runs.find((r) => r.system === run.system && r.level === BACKLOGS[0]),
      'drainPerSecond',
    ),
  ]);
  console.log(markdownTable([...headers, `vs ${BACKLOGS[0]} waiting`], rows));
}

function printProcesses(runs: Run[]): void {
  console.log(
    `\nWorker processes: ${PROCESS_TASKS} waiting tasks, each process one worker at concurrency ${CONCURRENCY}` +
      `\n(this machine has 2 cores: beyond 2 processes the workers share them with each other, Redis and this bench)`,
  );
  const headers = ['processes', 'queue', 'drain (jobs/s)', 'vs BullMQ', 'vs 1 process', 'worker CPU µs/task'];
  const rows = runs.map((run) => [
    run.level,
    run.system,
    cell(run, 'drainPerSecond'),
    ratio(run, bullmqAt(runs, run.level), 'drainPerSecond'),
    ratio(
      run,
      runs.find((r) => r.system === run.system && r.level === 1),
      'drainPerSecond',
    ),
    cell(run, 'workerCpuMicrosPerTask'),
    cell(run, 'redisCpuMicrosPerTask'),
  ]);
  console.log(markdownTable([...headers, 'Redis CPU µs/task'], rows));
}

function printActive(runs: Run[]): void {
  console.log(
    `\nActive: ${ACTIVE_TASKS} no-op tasks drained by one worker at concurrency ${CONCURRENCY} while 0 or ${ACTIVE}` +
      ` others stay active; Redis figures over the drain\n(EVALSHA: every script call, claims and acknowledgements most of them; per task, as calls may batch)`,
  );
  const headers = ['active', 'queue', 'drain (jobs/s)', 'vs BullMQ', 'EVALSHA µs/task', 'vs 0 active'];
  const more = ['EVALSHA µs/call', 'EVALSHA calls/100 tasks', 'Redis CPU µs/task', 'still active after'];
  const rows = runs.map((run) => {
    const idle = runs.find((r) => r.system === run.system && r.level === 0);
    return [
      run.level,
      run.system,
      cell(run, 'drainPerSecond'),
      ratio(run, bullmqAt(runs, run.level), 'drainPerSecond'),
      cell(run, 'evalshaMicrosPerTask'),
      ratio(run, idle, 'evalshaMicrosPerTask'),
      cell(run, 'evalshaMicrosPerCall'),
      cell(run, 'evalshaCallsPer100Tasks'),
      cell(run, 'redisCpuMicrosPerTask'),
      cell(run, 'stillActive'),
    ];
  });
  console.log(markdownTable([...headers, ...more], rows));
}

const CASES_RUN = { backlog: backlogCase, processes: processesCase, active: activeCase } as const;
const PRINT = { backlog: printBacklog, processes: printProcesses, active: printActive } as const;
const GROUP = { backlog: 'waiting', processes: 'processes', active: 'active' } as const;

async function main(): Promise<void> {
  console.log(
    `cost-growth: ${PEERS.join(' vs ')}, cases ${CASES.join(', ')}; backlogs ${BACKLOGS.join('/')}, measured ${MEASURED};` +
      ` processes ${PROCESSES.join('/')} on ${PROCESS_TASKS}; ${ACTIVE} active beside ${ACTIVE_TASKS}; node ${process.version}`,
  );
  const server = await startRedisServer();
  const admin = new Redis(server.url);
  const results: Partial<Record<CaseName, Run[]>> = {};
  process.once('SIGTERM', () => {
    console.error('cost-growth: stopped (SIGTERM); stopping its worker processes and redis-server');
    void Promise.all([...liveChildren].map((child) => child.stop()))
      .then(() => server.stop())
      .finally(() => process.exit(1));
  });
  try {
    for (const name of CASES) {
      console.log(`\n${name}:`);
      results[name] = await CASES_RUN[name](server.url, admin);
    }
  } finally {
    admin.disconnect();
    await server.stop();
  }
  const bars: ChartBar[] = [];
  for (const name of CASES) {
    const runs = results[name] ?? [];
    PRINT[name](runs);
    for (const run of runs) {
      const value = run.figures?.drainPerSecond;
      if (value !== undefined) bars.push({ group: `${run.level} ${GROUP[name]}`, system: run.system, value });
    }
  }
  saveResults({
    bench: 'cost-growth',
    unit: 'drain jobs/s by tasks waiting, worker processes and tasks active (higher is better)',
    bars,
    details: {
      settings: { BACKLOGS, MEASURED, PROCESSES, PROCESS_TASKS, ACTIVE, ACTIVE_TASKS, CONCURRENCY },
      node: process.version,
      ...results,
    },
  });
  const failed = Object.values(results).flatMap((runs) => runs.filter((run) => run.error));
  process.exit(failed.length > 0 ? 1 : 0);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
