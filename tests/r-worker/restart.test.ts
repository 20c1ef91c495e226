/**
 * An R service SIGKILLed with its children mid-run (as a container kill does) and started again: its
 * tasks' leases run out, the sweep redelivers them (attempts counted) and every one ends SUCCESS. And a
 * service stopped with SIGTERM hands its running tasks back at once, for another service to finish.
 * LEASE_MS is short (1500) so redelivery comes quickly. Every wait is bounded.
 */
import { describe, expect, it } from 'vitest';
import { useRWorkerService } from '../support/r-worker.js';

const service = useRWorkerService({ LONG_TASK_STEP_MS: '100', MAX_CONCURRENT_TASKS: '4', LEASE_MS: '1500', SHUTDOWN_GRACE_MS: '300' });
const { submit, waitForState, record } = service;

describe('an R service killed or stopped mid-run', () => {
  it('SIGKILLed with its children and restarted: every task still ends SUCCESS, attempts 2', async () => {
    const ids = await Promise.all([1, 2, 3].map(() => submit('long_task', [20])));
    for (const id of ids) await waitForState(id, ['PROGRESS']);
    const { port } = service.worker;
    await service.worker.stop('SIGKILL');
    service.worker = await service.startAnother({}, { port });
    const finals = await Promise.all(ids.map((id) => waitForState(id, ['SUCCESS', 'FAILURE', 'REVOKED'], 30_000)));
    for (const final of finals) {
      expect(final).toMatchObject({ state: 'SUCCESS', result: 20, attempts: 2, status: 'Task completed!', error: null });
    }
    const swept = service.worker.logLines().filter((l) => l.msg === 'lease expired; task requeued').map((l) => l.task_id);
    expect(swept.sort()).toEqual([...ids].sort());
  }, 60_000);

  it('stopped with SIGTERM: a task that outlives SHUTDOWN_GRACE_MS is handed back, and another service finishes it', async () => {
    const taskId = await submit('long_task', [30]);
    await waitForState(taskId, ['PROGRESS']);
    expect(await service.worker.stop('SIGTERM')).toBe(0);
    expect(await record(taskId)).toMatchObject({ state: 'PENDING', status: 'Requeued: its worker shut down' });
    const lines = service.worker.logLines().map((l) => l.msg);
    expect(lines).toContain('task handed back to the queue');
    expect(lines.at(-1)).toBe('shut down');
    expect((await service.workers()).map((w) => w.id)).not.toContain(
      service.worker.logLines().find((l) => l.msg === 'listening')?.worker_id,
    );
    expect(() => process.kill(-(service.worker.process.pid ?? 0), 0)).toThrow(); // no process of its group is left
    const other = await service.startAnother();
    const final = await waitForState(taskId, ['SUCCESS', 'FAILURE'], 20_000);
    expect(final).toMatchObject({ state: 'SUCCESS', result: 30, attempts: 2 });
    expect(service.claimedBy(taskId, [other])).toBe(other);
  }, 60_000);
});
