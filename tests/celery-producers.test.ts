/**
 * Python Celery code, unchanged from the seeds' style, calling Switchyard's Node and R workers
 * (CELERY_BROKER_URL): `send_task(..., queue="node").get()` returns the Node worker's result,
 * `queue="r"` R's; keyword arguments, progress seen from Python, a failure `.get()` raises, an
 * unknown task, a countdown. Real Celery (Debian's python3-celery) as the producer.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './support/services.js';
import { useStack } from './support/stack.js';
import { waitFor } from './support/wait.js';
import { createRedis } from '@switchyard/shared';

const ctx = useStack({
  label: 'celery-producers',
  nodeWorkers: 1,
  withR: true,
  env: { LONG_TASK_STEP_MS: '200', LEASE_MS: '1500' },
  gatewayEnv: (redis) => ({ CELERY_BROKER_URL: `${redis.url}/1` }),
});

/** Debian's Python, where python3-celery is installed (another python3 may come first on PATH). */
const DEBIAN_PYTHON = '/usr/bin/python3';

async function produce(what: string, onLine: (line: string) => void = () => {}): Promise<Record<string, unknown>> {
  const child = spawn(DEBIAN_PYTHON, ['producer.py', `${ctx.redis.url}/1`, what], {
    cwd: `${REPO_ROOT}/tests/celery`,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', PYTHONUNBUFFERED: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    for (const line of chunk.toString().split('\n')) if (line.startsWith('{')) onLine(line);
  });
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  const line = out.trim().split('\n').at(-1) ?? '';
  if (code !== 0 || !line.startsWith('{')) throw new Error(`producer ${what} exited ${code}:\n${out}\n${err}`);
  return JSON.parse(line) as Record<string, unknown>;
}

describe('Celery producers calling Switchyard workers', () => {
  it('send_task("add", args=[4, 6], queue="node").get() returns 10; kwargs map onto the arguments', async () => {
    expect(await produce('add')).toEqual({ result: 10 });
    expect(await produce('kwargs')).toEqual({ result: 3 });
  }, 60_000);

  it('send_task("summary_stats", ..., queue="r").get() returns R\'s result', async () => {
    expect(await produce('summary_stats')).toMatchObject({ result: { n: 5, mean: 3, min: 1, max: 5 } });
  }, 60_000);

  it.each(['progress', 'r_progress'])(
    'Python sees long_task progress (%s: state PROGRESS, info.current rising) and then the result',
    async (what) => {
      const seen = await produce(what);
      expect(seen.result).toBe(6);
      const progress = seen.progress as number[];
      expect(progress.length).toBeGreaterThan(1);
      expect(progress).toEqual([...progress].sort((a, b) => a - b));
    },
    60_000,
  );

  it("Celery's time_limit becomes the task's hard time limit", async () => {
    expect(await produce('time_limit')).toMatchObject({
      raised: 'RuntimeError',
      message: 'time limit exceeded (1000 ms)',
    });
  }, 60_000);

  it('a message that cannot be read is dead-lettered with the reason, and the bridge goes on', async () => {
    const broker = createRedis(`${ctx.redis.url}/1`, 'worker');
    try {
      await broker.lpush('node', '{"not": "a celery message"}', 'garbage{');
      const prefix = ctx.stack.env.KEY_PREFIX!;
      const dead = await waitFor(async () => {
        const letters = await broker.lrange(`${prefix}:celery-bridge:dead`, 0, -1);
        return letters.length >= 2 ? letters.map((l) => JSON.parse(l) as { reason: string; list: string }) : null;
      });
      expect(dead.map((d) => d.reason).sort()).toEqual([
        'it is neither a protocol v2 nor a protocol v1 task message',
        'the message is not JSON',
      ]);
      expect(dead.every((d) => d.list === 'node')).toBe(true);
      expect(await produce('add')).toEqual({ result: 10 });
    } finally {
      broker.disconnect();
    }
  }, 60_000);

  it('a failing task raises from .get() with its message; an unknown task fails naming the task and queue', async () => {
    expect(await produce('failure')).toMatchObject({
      raised: 'RuntimeError',
      message: expect.stringMatching(/as many values as y/),
    });
    expect(await produce('unknown')).toMatchObject({
      raised: 'RuntimeError',
      message: expect.stringMatching(/no node task "no_such_task" \(Celery queue node\)/),
    });
  }, 60_000);

  it("Celery's retries count as earlier attempts: the record shows the delivery after them", async () => {
    const seen = await produce('retried');
    expect(seen.result).toBe(2);
    const record = await ctx.stack.client.collect('node', seen.task_id as string);
    expect(record).toMatchObject({ state: 'SUCCESS', attempts: 3 });
  }, 60_000);

  it('a countdown is honoured: the task runs no earlier', async () => {
    const seen = await produce('countdown');
    expect(seen.result).toBe(4);
    expect(seen.waited).toBeGreaterThanOrEqual(1.4);
  }, 60_000);

  it('a Celery chain runs on Switchyard workers to the end, Node to R to Node included', async () => {
    expect(await produce('chain')).toEqual({ result: 18 });
    expect(await produce('polyglot_chain')).toMatchObject({
      result: expect.stringMatching(/^y = 2(\.\d+)?·x \+ [01](\.\d+)? \(R² (0\.99\d*|1), n = 20\)$/),
    });
  }, 90_000);

  it('a Celery group runs as separate Switchyard tasks and its results come back in order', async () => {
    expect(await produce('group')).toEqual({ result: [2, 4] });
  }, 60_000);

  it('a Switchyard worker SIGKILLed while running a Celery task: the task still ends SUCCESS in Celery', async () => {
    const [worker] = ctx.stack.workers;
    let taskId = '';
    const done = produce('slow', (line) => {
      const parsed = JSON.parse(line) as { task_id?: string };
      if (parsed.task_id) taskId = parsed.task_id;
    });
    await waitFor(() => taskId !== '' && worker!.output().includes(`"task started","task_id":"${taskId}"`), {
      timeoutMs: 20_000,
      what: 'the Celery task to start on the Node worker',
    });
    worker!.process.kill('SIGKILL');
    await worker!.exited;
    ctx.stack.startWorker();
    expect(await done).toMatchObject({ result: 15, state: 'SUCCESS' });
  }, 90_000);

  it('a protocol v1 message (task and id in the body) runs too', async () => {
    const broker = createRedis(`${ctx.redis.url}/1`, 'worker');
    try {
      const id = randomUUID();
      const body = Buffer.from(JSON.stringify({ task: 'add', id, args: [2, 3], kwargs: {} })).toString('base64');
      await broker.lpush(
        'node',
        JSON.stringify({
          body,
          'content-type': 'application/json',
          'content-encoding': 'utf-8',
          headers: {},
          properties: { body_encoding: 'base64', delivery_info: { exchange: '', routing_key: 'node' } },
        }),
      );
      const meta = await waitFor(async () => {
        const stored = await broker.get(`celery-task-meta-${id}`);
        const parsed = stored === null ? null : (JSON.parse(stored) as { status: string; result: unknown });
        return parsed?.status === 'SUCCESS' ? parsed : null;
      });
      expect(meta.result).toBe(5);
    } finally {
      broker.disconnect();
    }
  }, 30_000);
});
