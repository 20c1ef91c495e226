/**
 * One worker process of bench/cost-growth.ts's "worker processes" case: one Switchyard NodeWorker or
 * one BullMQ Worker on the bench's queue, set up as the bench sets up its in-process workers
 * (queues-under-test.ts). Prints `ready` once it waits for work; SIGTERM stops it. It exits by
 * itself after MAX_SECONDS, should the bench that started it be gone.
 *
 *   SYSTEM=switchyard|bullmq REDIS_URL=redis://127.0.0.1:PORT NAME=<prefix or queue> CONCURRENCY=50 MAX_SECONDS=600
 */
import { isSystem, openQueue } from './queues-under-test.js';

function setting(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} must be set (see the top of bench/lib/drain-worker.ts)`);
  return value;
}

function wholeNumber(name: string): number {
  const value = Number(setting(name));
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a whole number ≥ 1`);
  return value;
}

async function main(): Promise<void> {
  const system = setting('SYSTEM');
  if (!isSystem(system)) throw new Error(`SYSTEM must be switchyard or bullmq, got "${system}"`);
  const maxSeconds = wholeNumber('MAX_SECONDS');
  const queue = openQueue(system, setting('REDIS_URL'), setting('NAME'));
  const worker = await queue.startWorker(wholeNumber('CONCURRENCY'));
  const lifetime = setTimeout(() => {
    console.error(`drain-worker: still running after ${maxSeconds} s, exiting`);
    process.exit(1);
  }, maxSeconds * 1_000);
  process.once('SIGTERM', () => {
    clearTimeout(lifetime);
    void worker
      .stop()
      .then(() => queue.close())
      .finally(() => process.exit(0));
  });
  console.log('ready');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
