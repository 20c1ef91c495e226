/**
 * Two real R services on one Redis and one key prefix share the R queue `default`: both run some of
 * the tasks and every task runs once to SUCCESS; both appear in the worker registry; and a cancel sent
 * through Redis the gateway's way (TaskQueues('r').cancel with a REVOKED record) reaches whichever of
 * the two runs the task. Every wait is bounded; no test asserts a speed.
 */
import { describe, expect, it } from 'vitest';
import { useRWorkerService, type RWorker } from '../support/r-worker.js';
import { waitFor } from '../support/wait.js';

const service = useRWorkerService({ LONG_TASK_STEP_MS: '100', MAX_CONCURRENT_TASKS: '2', LEASE_MS: '3000' });
const { submit, waitForState, claimedBy } = service;

let second: RWorker;

describe('two R services sharing one queue', () => {
  it('both take tasks from the queue, every task runs to SUCCESS once, and both are in the registry', async () => {
    second = await service.startAnother();
    const workers = await waitFor(async () => {
      const listed = await service.workers();
      return listed.length === 2 ? listed : null;
    }, { what: 'both services in the registry' });
    expect(workers.map((w) => w.kind)).toEqual(['r', 'r']);
    expect(workers.every((w) => Array.isArray(w.queues) && w.queues[0] === 'default' && w.concurrency === 2)).toBe(true);

    // Submitted alternately to each, and 4 steps long: neither service alone has the slots for all 8.
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) ids.push(await submit('long_task', [4], { target: i % 2 === 0 ? service.worker : second }));
    const finals = await Promise.all(ids.map((id) => waitForState(id, ['SUCCESS', 'FAILURE'], 30_000)));
    expect(finals.map((r) => [r.state, r.attempts])).toEqual(ids.map(() => ['SUCCESS', 1]));
    const ranOn = ids.map((id) => claimedBy(id, [service.worker, second]));
    expect(ranOn.filter((w) => w === service.worker).length).toBeGreaterThan(0);
    expect(ranOn.filter((w) => w === second).length).toBeGreaterThan(0);
    for (const id of ids) {
      const claims = [service.worker, second].flatMap((w) => w.logLines().filter((l) => l.msg === 'task claimed' && l.task_id === id));
      expect(claims).toHaveLength(1);
    }
  }, 60_000);

  it('a cancel sent through Redis reaches the service that runs the task: REVOKED "Cancelled while running"', async () => {
    const ids = [await submit('long_task', [200]), await submit('long_task', [200], { target: second })];
    const holders = await Promise.all(
      ids.map((id) => waitFor(() => claimedBy(id, [service.worker, second]), { what: `a service to claim ${id}` })),
    );
    for (const id of ids) await waitForState(id, ['PROGRESS']);
    for (const [i, id] of ids.entries()) {
      expect(await service.cancel(id)).toBe('running');
      const final = await waitForState(id, ['REVOKED', 'SUCCESS', 'FAILURE'], 10_000);
      expect(final).toMatchObject({ state: 'REVOKED', status: 'Cancelled while running' });
      const holder = holders[i]!;
      await waitFor(() => holder.logLines().some((l) => l.msg === 'task cancelled while running' && l.task_id === id), {
        what: 'the holder to log the cancel',
      });
    }
    await waitFor(async () => (await service.workers()).every((w) => w.running.length === 0), {
      what: 'neither service to run anything',
    });
  }, 60_000);
});
