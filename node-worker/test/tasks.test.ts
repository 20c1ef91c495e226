import { describe, expect, it } from 'vitest';
import { NODE_TASKS } from '@switchyard/shared';
import { createCpuPool } from '../src/tasks/cpu-pool.js';
import { factorial } from '../src/tasks/factorial.js';
import { TASK_IMPLEMENTATIONS, type TaskContext } from '../src/tasks/index.js';
import { matmul } from '../src/tasks/matmul.js';

function context(overrides: Partial<TaskContext> = {}): TaskContext & { reports: [number, number, string][] } {
  const reports: [number, number, string][] = [];
  return {
    reports,
    signal: new AbortController().signal,
    softLimit: new AbortController().signal,
    longTaskStepMs: 0,
    runOffThread: async () => {
      throw new Error('not used');
    },
    progress: async (current, total, status) => {
      reports.push([current, total, status]);
    },
    ...overrides,
  };
}

describe('Node tasks', () => {
  it('every task named in the shared catalogue has an implementation, and no other', () => {
    expect(Object.keys(TASK_IMPLEMENTATIONS).sort()).toEqual(Object.keys(NODE_TASKS).sort());
  });

  it('long_task reports each step and returns total', async () => {
    const ctx = context();
    expect(await TASK_IMPLEMENTATIONS.long_task([3], ctx)).toBe(3);
    expect(ctx.reports).toEqual([
      [1, 3, 'Step 1 of 3'],
      [2, 3, 'Step 2 of 3'],
      [3, 3, 'Step 3 of 3'],
    ]);
  });

  it.each(['signal', 'softLimit'] as const)('long_task stops when its %s is aborted', async (which) => {
    const abort = new AbortController();
    const ctx = context({ [which]: abort.signal, longTaskStepMs: 10_000 });
    const running = TASK_IMPLEMENTATIONS.long_task([5], ctx);
    abort.abort(new Error('stop'));
    await expect(running).rejects.toThrow();
    expect(ctx.reports).toEqual([]);
  });

  it('add adds', async () => {
    expect(await TASK_IMPLEMENTATIONS.add([4, 6], context())).toBe(10);
    expect(await TASK_IMPLEMENTATIONS.add([-1.5, 0.25], context())).toBe(-1.25);
  });

  it('factorial is exact, as a decimal string', () => {
    expect(factorial(0)).toBe('1');
    expect(factorial(20)).toBe('2432902008176640000');
    expect(factorial(25)).toBe('15511210043330985984000000');
    const big = factorial(1000);
    expect(big).toHaveLength(2568); // 1000! has 2568 digits
    expect(big.startsWith('402387260077')).toBe(true);
  });

  it('matmul returns an m×m matrix whose entries are sums of n products of numbers in [0, 1)', () => {
    const product = matmul(3, 4);
    expect(product).toHaveLength(3);
    for (const row of product) {
      expect(row).toHaveLength(3);
      for (const value of row) {
        expect(value).toBeGreaterThanOrEqual(0);
        expect(value).toBeLessThan(4);
      }
    }
  });

  it('factorial and matmul run on a pool thread, and aborting one stops it', async () => {
    const pool = createCpuPool(1);
    try {
      const ctx = context({ runOffThread: (name, args) => pool.run(name, args, new AbortController().signal) });
      expect(await TASK_IMPLEMENTATIONS.factorial([20], ctx)).toBe('2432902008176640000');
      expect(await TASK_IMPLEMENTATIONS.matmul([2, 2], ctx)).toHaveLength(2);
      const abort = new AbortController();
      const running = pool.run('factorial', [50_000], abort.signal);
      abort.abort();
      await expect(running).rejects.toThrow(/abort/i);
    } finally {
      await pool.close();
    }
  });
});
