/**
 * What workers report about the tasks they ran, counted by the scripts that end them (finish, retry,
 * cancel; shared/lua/includes/stats.lua) into each queue's stats hash, and read back here: outcome
 * counts, run-time histograms and per-minute throughput. Counted in Redis, so every gateway replica
 * reports the same numbers whichever worker (Node or R) ran the task.
 */
import type { Redis } from './redis.js';
import type { KeyLayout } from './keys.js';
import type { TaskRecord } from './status.js';

/** Upper bounds (seconds) of the run-time histogram buckets; the last bucket, `+Inf`, is implied. */
export const RUNTIME_BUCKETS_SECONDS = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800] as const;

export const COUNTED_OUTCOMES = ['SUCCESS', 'FAILURE', 'REVOKED', 'RETRY'] as const;
export type CountedOutcome = (typeof COUNTED_OUTCOMES)[number];

/** How long a finished task ran (seconds), or null when it never started. */
export function runTimeOf(record: TaskRecord): number | null {
  if (record.started_at === null) return null;
  const end = record.finished_at ?? record.updated_at;
  return Math.max(0, (Date.parse(end) - Date.parse(record.started_at)) / 1000);
}

/** The bucket (its upper bound as the scripts store it) that a run time of `seconds` falls in. */
export function runTimeBucket(seconds: number): string {
  const bound = RUNTIME_BUCKETS_SECONDS.find((le) => seconds <= le);
  return bound === undefined ? '+Inf' : String(bound);
}

/** The run-time arguments finish-claim-10 takes per finished task: seconds ('' if it never ran) and bucket. */
export function runTimeArguments(record: TaskRecord): [string, string] {
  const seconds = runTimeOf(record);
  return seconds === null ? ['', ''] : [String(seconds), runTimeBucket(seconds)];
}

export interface TaskMetrics {
  outcomes: { task: string; state: CountedOutcome; count: number }[];
  /** Per task: cumulative buckets (`le` ascending, Infinity last), the sum of run times and their count. */
  runtimes: { task: string; buckets: { le: number; count: number }[]; sum: number; count: number }[];
}

export interface ThroughputMinute {
  /** The minute's start, ISO 8601. */
  minute: string;
  succeeded: number;
  failed: number;
}

function isOutcome(state: string): state is CountedOutcome {
  return (COUNTED_OUTCOMES as readonly string[]).includes(state);
}

async function statsOf(redis: Redis, keys: KeyLayout, kind: string, queue: string): Promise<Map<string, string>> {
  return new Map(Object.entries(await redis.hgetall(keys.queue(kind, queue).stats)));
}

/** The outcome counts and run-time histograms of one queue. */
export async function readTaskMetrics(
  redis: Redis,
  keys: KeyLayout,
  kind: string,
  queue: string,
): Promise<TaskMetrics> {
  const stats = await statsOf(redis, keys, kind, queue);
  const outcomes: TaskMetrics['outcomes'] = [];
  const perBucket = new Map<string, Map<string, number>>();
  const sums = new Map<string, number>();
  for (const [field, value] of stats) {
    const [what, task = '', detail = ''] = field.split('|');
    if (what === 'outcome' && isOutcome(detail)) outcomes.push({ task, state: detail, count: Number(value) });
    else if (what === 'runtime') {
      const buckets = perBucket.get(task) ?? new Map<string, number>();
      buckets.set(detail, Number(value));
      perBucket.set(task, buckets);
    } else if (what === 'runtime_sum') sums.set(task, Number(value));
  }
  const runtimes = [...perBucket].map(([task, buckets]) => {
    let running = 0;
    const cumulative = [...RUNTIME_BUCKETS_SECONDS, Infinity].map((le) => {
      running += buckets.get(le === Infinity ? '+Inf' : String(le)) ?? 0;
      return { le, count: running };
    });
    return { task, buckets: cumulative, sum: sums.get(task) ?? 0, count: running };
  });
  return { outcomes, runtimes };
}

/** Tasks that succeeded and failed in each of the last `minutes` minutes (oldest first, this one last). */
export async function readThroughput(
  redis: Redis,
  keys: KeyLayout,
  kind: string,
  queue: string,
  minutes = 15,
  now = Date.now(),
): Promise<ThroughputMinute[]> {
  const current = Math.floor(now / 60_000);
  const wanted = Array.from({ length: minutes }, (_, i) => current - minutes + 1 + i);
  const fields = wanted.flatMap((minute) => [`minute|${minute}|SUCCESS`, `minute|${minute}|FAILURE`]);
  const values = await redis.hmget(keys.queue(kind, queue).stats, ...fields);
  return wanted.map((minute, i) => ({
    minute: new Date(minute * 60_000).toISOString(),
    succeeded: Number(values[2 * i] ?? 0),
    failed: Number(values[2 * i + 1] ?? 0),
  }));
}
