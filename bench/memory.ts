/**
 * Redis bytes per waiting task, side by side on one redis-server: TASKS (10,000) `long_task(1)`
 * submissions put in Switchyard's Node queue the way the gateway puts them (planTask, then
 * TaskQueues.enqueue: locator, record, job hash, queue entry, event stream entry), against BullMQ
 * with the same job (name long_task, data [1]). Nothing drains them.
 *
 * Two readings per system: INFO used_memory before and after, divided by TASKS; and MEMORY USAGE of
 * each kind of key (per-task keys averaged over a sample, shared keys such as the wait set and the
 * event stream divided by TASKS). Then the bytes of each field of Switchyard's record and job payload,
 * so that what costs what can be read off (bench/README.md).
 *
 *   npm run bench:memory
 *   TASKS=100000 npm run bench:memory
 */
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import {
  TaskQueues,
  codec,
  createKeyLayout,
  createRedis,
  encodeRecord,
  newTraceparent,
  planTask,
  storePayload,
} from '@switchyard/shared';
import { ensureSystemPackages } from '../scripts/lib/prerequisites.mjs';
import { startRedisServer } from '../tests/support/redis-server.js';
import { runBench } from './lib/processes.js';
import { markdownTable, saveResults } from './lib/report.js';

const TASKS = Math.min(Number(process.env.TASKS ?? 10_000), 1_000_000);
const SAMPLE = 200;
const BATCH = 500;

interface KeyCost {
  /** What the key is, e.g. "record (STRING task:<id>)". */
  kind: string;
  bytesPerTask: number;
}

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? NaN);
}

async function memoryUsage(redis: Redis, key: string): Promise<number> {
  const bytes = await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0');
  return typeof bytes === 'number' ? bytes : 0;
}

/** Keys matching `pattern`, grouped by what `kindOf` calls them; per-task kinds averaged over a sample. */
async function costsByKind(redis: Redis, pattern: string, kindOf: (key: string) => string): Promise<KeyCost[]> {
  const keys: string[] = [];
  let cursor = '0';
  for (let rounds = 0; rounds < 100_000; rounds++) {
    const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1_000);
    keys.push(...found);
    cursor = next;
    if (cursor === '0') break;
  }
  const groups = new Map<string, string[]>();
  for (const key of keys) groups.set(kindOf(key), [...(groups.get(kindOf(key)) ?? []), key]);
  const costs: KeyCost[] = [];
  for (const [kind, members] of groups) {
    const sample = members.slice(0, SAMPLE);
    const sizes = await Promise.all(sample.map((key) => memoryUsage(redis, key)));
    const average = sizes.reduce((a, b) => a + b, 0) / sample.length;
    // A kind with one key per task costs its average; a shared key (one for all) its size over TASKS.
    costs.push({ kind, bytesPerTask: members.length >= TASKS ? average : (average * members.length) / TASKS });
  }
  return costs.sort((a, b) => b.bytesPerTask - a.bytesPerTask);
}

async function switchyard(url: string, redis: Redis) {
  const prefix = `mem-${randomUUID().slice(0, 6)}`;
  const client = createRedis(url, 'worker');
  const queues = new TaskQueues(client, createKeyLayout(prefix), 'node', 86_400);
  const before = await usedMemory(redis);
  for (let i = 0; i < TASKS; i += BATCH) {
    await Promise.all(
      Array.from({ length: Math.min(BATCH, TASKS - i) }, async () => {
        // As the gateway plans a seed submission {"total": 1}, with the traceparent it always records.
        const submission = { task: 'long_task', args: [1], queue: 'default', traceparent: newTraceparent() };
        const { record, payload } = planTask('node', randomUUID(), submission);
        const outcome = await queues.enqueue(record, payload);
        if (outcome !== 'ok') throw new Error(`enqueue answered ${outcome}`);
      }),
    );
  }
  const after = await usedMemory(redis);
  const kinds = await costsByKind(redis, `${prefix}:*`, (key) => {
    const local = key.slice(prefix.length + 1).replace(/^\{[^}]+\}:/, '');
    const [name] = local.split(':');
    const described: Record<string, string> = {
      task: 'record (STRING task:<id>, MessagePack)',
      job: 'job (HASH job:<id>, payload)',
      locator: 'locator (STRING locator:<id>)',
      wait: 'queue entry (ZSET wait)',
      events: 'event stream entry (STREAM events)',
    };
    return described[name ?? ''] ?? `other (${name})`;
  });
  const job = await jobHashCosts(redis, prefix);
  const sample = planTask('node', randomUUID(), {
    task: 'long_task',
    args: [1],
    queue: 'default',
    traceparent: newTraceparent(),
  });
  client.disconnect();
  return { perTask: (after - before) / TASKS, kinds, sample, job };
}

async function bullmq(url: string, redis: Redis) {
  const { port } = new URL(url);
  const name = `mem-${randomUUID().slice(0, 6)}`;
  const queue = new Queue(name, { connection: { host: '127.0.0.1', port: Number(port), maxRetriesPerRequest: null } });
  await queue.waitUntilReady();
  await queue.add('warm-up', [0]);
  await queue.obliterate({ force: true });
  const before = await usedMemory(redis);
  for (let i = 0; i < TASKS; i += BATCH) {
    await Promise.all(Array.from({ length: Math.min(BATCH, TASKS - i) }, () => queue.add('long_task', [1])));
  }
  const after = await usedMemory(redis);
  const kinds = await costsByKind(redis, `bull:${name}:*`, (key) => {
    const local = key.slice(`bull:${name}:`.length);
    if (/^[0-9]+$/.test(local)) return 'job (HASH <id>)';
    const described: Record<string, string> = {
      wait: 'queue entry (LIST wait)',
      events: 'event stream entry (STREAM events)',
    };
    return described[local] ?? `other (${local})`;
  });
  await queue.close();
  return { perTask: (after - before) / TASKS, kinds };
}

/**
 * One job hash in detail: its encoding, each field's length, and what the same hash costs when Redis
 * may keep it as a listpack (hash-max-listpack-value raised above its longest field; the setting is
 * restored afterwards). A hash with a field over 64 bytes is a hashtable, with a dict entry per field.
 */
async function jobHashCosts(redis: Redis, prefix: string) {
  const [, [key]] = await redis.scan('0', 'MATCH', `${prefix}:*:job:*`, 'COUNT', 10_000);
  if (key === undefined) throw new Error('no job hash found');
  const fields = await redis.hgetallBuffer(key);
  const encoding = await redis.object('ENCODING', key);
  const asIs = await memoryUsage(redis, key);
  const longest = Math.max(...Object.values(fields).map((value) => value.length));
  const reply: unknown = await redis.config('GET', 'hash-max-listpack-value');
  const setting = Array.isArray(reply) ? String(reply[1]) : '64';
  await redis.config('SET', 'hash-max-listpack-value', String(longest + 1));
  const copy = `${key}:listpack-copy`;
  await redis.hset(copy, fields);
  const asListpack = await memoryUsage(redis, copy);
  await redis.del(copy);
  await redis.config('SET', 'hash-max-listpack-value', setting);
  return {
    encoding,
    bytes: asIs,
    listpackBytes: asListpack,
    fields: Object.entries(fields).map(([field, value]) => [field, value.length] as const),
  };
}

/** Bytes of each top-level field in a MessagePack map: its key and its value, as the codec writes them. */
function fieldBytes(value: object): [string, number, string][] {
  return Object.entries(value).map(([field, fieldValue]) => [
    field,
    codec.encode(field).length + codec.encode(fieldValue).length,
    JSON.stringify(fieldValue).slice(0, 40),
  ]);
}

async function main(): Promise<void> {
  const missing = ensureSystemPackages(['redis']);
  if (missing.length > 0) throw new Error(`cannot run without: ${missing.join(', ')}`);
  const server = await startRedisServer();
  const redis = new Redis(server.url);
  try {
    const version = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1];
    const sy = await switchyard(server.url, redis);
    const bq = await bullmq(server.url, redis);
    console.log(`\nRedis ${version}: bytes per waiting task, ${TASKS} long_task(1) tasks`);
    console.log(
      markdownTable(
        ['queue', 'used_memory delta / task', 'sum of MEMORY USAGE / task', 'vs BullMQ'],
        [
          [
            'switchyard',
            sy.perTask,
            sy.kinds.reduce((s, k) => s + k.bytesPerTask, 0),
            `${(sy.perTask / bq.perTask).toFixed(2)}×`,
          ],
          ['bullmq', bq.perTask, bq.kinds.reduce((s, k) => s + k.bytesPerTask, 0), '1.00×'],
        ],
      ),
    );
    console.log();
    console.log(
      markdownTable(
        ['queue', 'key', 'bytes / task (MEMORY USAGE)'],
        [
          ...sy.kinds.map((k) => ['switchyard', k.kind, k.bytesPerTask]),
          ...bq.kinds.map((k) => ['bullmq', k.kind, k.bytesPerTask]),
        ],
      ),
    );
    const storedRecord = encodeRecord(sy.sample.record);
    const recordBytes = storedRecord.length;
    const storedPayload = storePayload('node', sy.sample.payload);
    const payloadBytes = storedPayload.payload.length;
    console.log(
      `\nSwitchyard's record: ${recordBytes} bytes of MessagePack as stored, without its task id, null fields and an updated_at equal to created_at (twice: the record key and its event stream entry)`,
    );
    const storedFields = codec.decode(storedRecord) as Record<string, unknown>;
    console.log(markdownTable(['record field', 'bytes (key + value)', 'value'], fieldBytes(storedFields)));
    console.log(
      `\nSwitchyard's job payload field: ${payloadBytes} bytes of MessagePack (${codec.encode(sy.sample.payload).length} for the whole payload; created_at and traceparent are job fields of their own, and only the options that differ from the task's defaults are kept)`,
    );
    const payloadFields = codec.decode(storedPayload.payload) as Record<string, unknown>;
    console.log(markdownTable(['payload field', 'bytes (key + value)', 'value'], fieldBytes(payloadFields)));
    const { job } = sy;
    console.log(
      `\nA job hash: ${job.encoding}, ${job.bytes} bytes (MEMORY USAGE); the same fields as a listpack (hash-max-listpack-value above ${Math.max(...job.fields.map(([, n]) => n))}): ${job.listpackBytes} bytes`,
    );
    console.log(
      markdownTable(
        ['job hash field', 'bytes'],
        job.fields.map(([field, n]) => [field, n]),
      ),
    );
    saveResults({
      bench: 'memory',
      unit: `Redis bytes per waiting task, ${TASKS} tasks (lower is better)`,
      bars: [
        { group: 'bytes per waiting task', system: 'switchyard', value: sy.perTask },
        { group: 'bytes per waiting task', system: 'bullmq', value: bq.perTask },
      ],
      details: { tasks: TASKS, redis: version, switchyard: { ...sy, recordBytes, payloadBytes }, bullmq: bq },
    });
  } finally {
    redis.disconnect();
    await server.stop();
  }
}

runBench('memory.ts', 600_000, main);
