/**
 * The typed task map (task-types.ts) against the catalogue (tasks.ts). These checks are types: they
 * fail `tsc -p tsconfig.tests.json` (npm run typecheck, CI), not vitest, when the two drift apart.
 * The runtime half checks that both name the same tasks, so vitest fails too when a task is added.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import { NODE_TASKS, R_TASKS } from '../src/tasks.js';
import type { TaskSignatures } from '../src/task-types.js';

/** true when each of A and B is assignable to the other (labels of tuple members do not matter). */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

/** For every task of a catalogue: do the declared args match what its schema accepts? */
type ArgsAgree<Catalogue extends Record<string, { args: z.ZodType }>, Declared> = {
  [Task in keyof Catalogue]: Task extends keyof Declared
    ? Declared[Task] extends { args: infer Args }
      ? Same<z.input<Catalogue[Task]['args']>, Args>
      : false
    : false;
};

describe('TaskSignatures', () => {
  it('names exactly the tasks of the catalogue, per kind', () => {
    expectTypeOf<keyof TaskSignatures['node']>().toEqualTypeOf<keyof typeof NODE_TASKS>();
    expectTypeOf<keyof TaskSignatures['r']>().toEqualTypeOf<keyof typeof R_TASKS>();
    // The same at run time, against the keys a caller actually sees.
    const declared: Record<keyof TaskSignatures, Record<string, true>> = {
      node: {
        long_task: true,
        add: true,
        factorial: true,
        matmul: true,
        make_dataset: true,
        fit_report: true,
      } satisfies Record<keyof TaskSignatures['node'], true>,
      r: { long_task: true, lm_fit: true, summary_stats: true } satisfies Record<keyof TaskSignatures['r'], true>,
    };
    expect(Object.keys(declared.node).sort()).toEqual(Object.keys(NODE_TASKS).sort());
    expect(Object.keys(declared.r).sort()).toEqual(Object.keys(R_TASKS).sort());
  });

  it("declares each task's arguments as its schema accepts them", () => {
    expectTypeOf<ArgsAgree<typeof NODE_TASKS, TaskSignatures['node']>>().toEqualTypeOf<{
      [Task in keyof typeof NODE_TASKS]: true;
    }>();
    expectTypeOf<ArgsAgree<typeof R_TASKS, TaskSignatures['r']>>().toEqualTypeOf<{
      [Task in keyof typeof R_TASKS]: true;
    }>();
  });

  it('passes a result on where a workflow hands it: make_dataset → lm_fit → fit_report', () => {
    expectTypeOf<[TaskSignatures['node']['make_dataset']['result']]>().toExtend<
      TaskSignatures['r']['lm_fit']['args']
    >();
    expectTypeOf<[TaskSignatures['r']['lm_fit']['result']]>().toExtend<TaskSignatures['node']['fit_report']['args']>();
  });
});
