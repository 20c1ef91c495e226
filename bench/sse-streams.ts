/**
 * What idle live-event clients cost: STREAMS clients hold GET /tasks/{id}/events open on one gateway
 * process (each on a task of its own, all in one queue) while nothing happens; the gateway's resident
 * memory is read before and after, and Redis's client count shows how many reader connections the
 * gateway needed. Then every task ends and the time until the last client has its terminal event is
 * measured. Real gateway process, real redis-server on loopback; bounded in count and time.
 *
 *   npm run bench:sse                   # 1000 streams
 *   STREAMS=200 npm run bench:sse
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { TaskQueues, createKeyLayout, createRedis, planTask, started, succeeded } from '@switchyard/shared';
import { freePort, startRedisServer } from '../tests/support/redis-server.js';
import { startService } from '../tests/support/services.js';

const STREAMS = Math.min(Number(process.env.STREAMS ?? 1_000), 5_000);
const TIME_LIMIT_MS = 60_000;

const rssBytes = (pid: number) => {
  const line = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(line?.[1] ?? 0) * 1024;
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

async function main(): Promise<void> {
  const server = await startRedisServer();
  const port = await freePort();
  const prefix = `bench-sse-${randomUUID().slice(0, 8)}`;
  const gateway = startService('gateway', {
    REDIS_URL: server.url,
    KEY_PREFIX: prefix,
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'warn',
  });
  const redis = createRedis(server.url, 'worker');
  const deadline = Date.now() + TIME_LIMIT_MS;
  try {
    while (
      !(await fetch(`http://127.0.0.1:${port}/readyz`).then(
        (r) => r.ok,
        () => false,
      ))
    ) {
      if (Date.now() > deadline) throw new Error('the gateway did not start');
      await sleep(200);
    }
    const queues = new TaskQueues(redis, createKeyLayout(prefix), 'node', 3_600);
    const records = await Promise.all(
      Array.from({ length: STREAMS }, async () => {
        const { record, payload } = planTask('node', randomUUID(), { task: 'add', args: [1, 2], queue: 'default' });
        await queues.enqueue(record, payload);
        return record;
      }),
    );
    const pid = gateway.process.pid ?? 0;
    await sleep(1_000);
    const before = rssBytes(pid);
    let ended = 0;
    const responses: IncomingMessage[] = [];
    const allEnded = new Promise<void>((resolve) => {
      for (const record of records) {
        const req = request(
          { host: '127.0.0.1', port, path: `/tasks/${record.task_id}/events`, agent: false },
          (res) => {
            responses.push(res);
            res.resume();
            res.on('end', () => {
              ended += 1;
              if (ended === STREAMS) resolve();
            });
          },
        );
        req.end();
      }
    });
    while (responses.length < STREAMS) {
      if (Date.now() > deadline) throw new Error(`only ${responses.length} of ${STREAMS} streams opened`);
      await sleep(100);
    }
    await sleep(2_000); // idle: only keep-alives flow
    const after = rssBytes(pid);
    const clients = (await redis.client('LIST'))
      .split('\n')
      .filter((line) => line.includes('switchyard-events')).length;

    // Every task ends at once (as a worker would finish them): each stream gets its terminal event and ends.
    const endedAt = process.hrtime.bigint();
    await Promise.all(
      records.map(async (record) => {
        await queues.claim('default', 1, 'bench', 60_000);
        await queues.finish(succeeded(started(record, 1), 3), 'bench');
      }),
    );
    const finishedMs = Number(process.hrtime.bigint() - endedAt) / 1e6;
    await Promise.race([
      allEnded,
      sleep(Math.max(0, deadline - Date.now())).then(() => Promise.reject(new Error('streams did not end'))),
    ]);
    const fanOutMs = Number(process.hrtime.bigint() - endedAt) / 1e6;

    console.log(`Live events: ${STREAMS} idle SSE clients on one gateway process`);
    console.log(`  gateway RSS       ${mb(before)} before, ${mb(after)} with the streams open`);
    console.log(`  per stream        ${((after - before) / STREAMS / 1024).toFixed(1)} KiB`);
    console.log(`  Redis connections ${clients} event reader(s) for ${STREAMS} clients`);
    console.log(
      `  ${STREAMS} tasks ended → the last was acknowledged after ${finishedMs.toFixed(0)} ms, every client had its terminal event after ${fanOutMs.toFixed(0)} ms`,
    );
  } finally {
    redis.disconnect();
    await gateway.stop('SIGKILL');
    await server.stop();
  }
}

await main();
