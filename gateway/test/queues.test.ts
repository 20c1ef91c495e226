/** Named queues, routing, priorities, delays, pause, and the operator's /queues and /workers, in-process. */
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkerHeartbeat } from '@switchyard/shared';
import { startRedisServer, type RedisServer } from '../../tests/support/redis-server.js';
import { waitFor } from '../../tests/support/wait.js';
import { buildGateway, type TestGateway } from './helpers.js';

let server: RedisServer;
let gateway: TestGateway;

beforeAll(async () => {
  server = await startRedisServer();
  gateway = buildGateway(server.url, { taskRoutes: 'factorial=cpu,matmul=cpu,r:lm_fit=models', maxQueueLength: 3 });
  await waitFor(() => gateway.redis.status === 'ready', { what: 'gateway redis connection' });
});
afterAll(async () => {
  await gateway.close();
  await server.stop();
});

const execute = (body: object, kind = 'node') => request(gateway.app).post(`/${kind}/execute`).send(body);

describe('routing', () => {
  it('puts a task in its request queue, else its TASK_ROUTES queue, else default; the record shows it', async () => {
    const named = await execute({ task: 'add', args: [1, 2], queue: 'adders' });
    const routed = await execute({ task: 'factorial', args: [5] });
    const fallback = await execute({ task: 'add', args: [1, 2] });
    const overridden = await execute({ task: 'matmul', args: [2, 2], queue: 'default' });
    expect((await gateway.read(named.body.task_id))?.queue).toBe('adders');
    expect((await gateway.read(routed.body.task_id))?.queue).toBe('cpu');
    expect((await gateway.read(fallback.body.task_id))?.queue).toBe('default');
    expect((await gateway.read(overridden.body.task_id))?.queue).toBe('default');
  });

  it.each(['has space', 'a:b', '{tag}', '', 'x'.repeat(65), 7])(
    'rejects the queue name %j naming queue',
    async (queue) => {
      const response = await execute({ total: 1, queue });
      expect(response.status).toBe(422);
      expect(response.body.error.fields).toContainEqual({
        field: 'queue',
        message: expect.stringMatching(/1-64 letters/),
      });
    },
  );

  it('shows priority and eta in the record', async () => {
    const countdown = await execute({
      task: 'add',
      args: [1, 1],
      queue: 'later',
      options: { priority: 8, countdown: 60 },
    });
    const record = await gateway.read(countdown.body.task_id);
    expect(record).toMatchObject({ priority: 8, queue: 'later', state: 'PENDING' });
    expect(Date.parse(record!.eta!) - Date.now()).toBeGreaterThan(55_000);
    const stats = await gateway.queues.node.stats('later');
    expect(stats).toMatchObject({ waiting: 0, delayed: 1 });
  });

  it('answers 429 queue_full once a queue holds MAX_QUEUE_LENGTH tasks, naming the queue', async () => {
    for (let i = 0; i < 3; i++) expect((await execute({ total: 1, queue: 'bounded' })).status).toBe(202);
    const refused = await execute({ total: 1, queue: 'bounded' });
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.body.error).toMatchObject({ code: 'queue_full', message: expect.stringContaining('bounded') });
  });

  it('cancels a delayed task at once: it never runs', async () => {
    const accepted = await execute({
      task: 'add',
      args: [1, 1],
      queue: 'later',
      options: { eta: new Date(Date.now() + 120_000).toISOString() },
    });
    const cancelled = await request(gateway.app).post('/node/cancel').send({ task_id: accepted.body.task_id });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ state: 'REVOKED', status: 'Cancelled before it started' });
    expect(await gateway.redis.zscore(gateway.keys.queue('node', 'later').delayed, accepted.body.task_id)).toBeNull();
  });

  it('says a task is of the other kind when collected at the wrong path', async () => {
    const accepted = await execute({ total: 1 });
    const response = await request(gateway.app).get(`/r/collect?task_id=${accepted.body.task_id}`);
    expect(response.status).toBe(404);
    expect(response.body.error.message).toMatch(/is a node task/);
  });
});

describe('GET /queues, /queues/{kind}/{name}, /workers; pause and resume', () => {
  it('lists every queue used, with waiting by priority, delayed, active, dead, paused and consumers', async () => {
    // MAX_QUEUE_LENGTH is 3 here.
    for (const options of [{ priority: 9 }, { priority: 2 }, { countdown: 30 }]) {
      expect((await execute({ task: 'add', args: [1, 1], queue: 'stats', options })).status).toBe(202);
    }
    const claimed = await gateway.queues.node.claim('stats', 1, 'tok', 10_000);
    expect(claimed.tasks[0]?.payload.options.priority).toBe(9);
    const heartbeat = startWorkerHeartbeat(gateway.redis, gateway.keys, () => ({
      id: 'node-test',
      kind: 'node',
      queues: ['stats', 'default'],
      concurrency: 3,
      running: claimed.tasks.map((t) => t.taskId),
    }));
    await heartbeat.beat();

    const listed = await request(gateway.app).get('/queues');
    expect(listed.status).toBe(200);
    const stats = listed.body.queues.find(
      (q: { kind: string; name: string }) => q.kind === 'node' && q.name === 'stats',
    );
    expect(stats).toMatchObject({
      waiting: 1,
      waiting_by_priority: { '2': 1 },
      delayed: 1,
      active: 1,
      dead: 0,
      paused: false,
      consumers: 1,
      oldest_waiting_age_ms: expect.any(Number),
    });
    expect(listed.body.queues.some((q: { name: string }) => q.name === 'cpu')).toBe(true);

    const one = await request(gateway.app).get('/queues/node/stats');
    expect(one.body).toMatchObject({ kind: 'node', name: 'stats', waiting: 1 });

    const workers = await request(gateway.app).get('/workers');
    expect(workers.body.workers).toContainEqual(
      expect.objectContaining({
        id: 'node-test',
        kind: 'node',
        queues: ['stats', 'default'],
        running: [claimed.tasks[0]!.taskId],
        pid: process.pid,
      }),
    );
    await heartbeat.stop();
    const gone = await request(gateway.app).get('/workers');
    expect(gone.body.workers.map((w: { id: string }) => w.id)).not.toContain('node-test');
  });

  it('answers 404 for a queue never used, 422 for a bad kind or name', async () => {
    expect((await request(gateway.app).get('/queues/node/never-used')).status).toBe(404);
    const badKind = await request(gateway.app).get('/queues/python/default');
    expect(badKind.status).toBe(422);
    expect(badKind.body.error.fields[0].field).toBe('kind');
  });

  it('pause keeps submissions coming but stops claims; resume lets them through', async () => {
    const paused = await request(gateway.app).post('/queues/node/pausable/pause');
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ name: 'pausable', paused: true });
    expect((await execute({ total: 1, queue: 'pausable' })).status).toBe(202);
    expect((await gateway.queues.node.claim('pausable', 5, 'tok', 10_000)).tasks).toHaveLength(0);
    const resumed = await request(gateway.app).post('/queues/node/pausable/resume');
    expect(resumed.body).toMatchObject({ paused: false, waiting: 1 });
    expect((await gateway.queues.node.claim('pausable', 5, 'tok', 10_000)).tasks).toHaveLength(1);
  });
});

describe('dead letters per queue', () => {
  it('lists the dead letters of one queue with ?queue=, of all queues without', async () => {
    const fail = async (queue: string) => {
      const accepted = await execute({ task: 'add', args: [1, 1], queue });
      const claimed = await gateway.queues.node.claim(queue, 1, 'tok', 10_000);
      const record = (await gateway.read(accepted.body.task_id))!;
      await gateway.queues.node.finish(
        { ...record, state: 'FAILURE', error: 'boom', finished_at: record.updated_at },
        'tok',
        true,
      );
      expect(claimed.tasks).toHaveLength(1);
      return accepted.body.task_id as string;
    };
    const a = await fail('dead-a');
    const b = await fail('dead-b');
    const onlyA = await request(gateway.app).get('/node/dead-letters?queue=dead-a');
    expect(onlyA.body.tasks.map((t: { task_id: string }) => t.task_id)).toEqual([a]);
    const all = await request(gateway.app).get('/node/dead-letters');
    expect(all.body.tasks.map((t: { task_id: string }) => t.task_id).slice(0, 2)).toEqual([b, a]);
  });
});
