/**
 * Types, checked by `tsc -p tsconfig.tests.json` (npm run typecheck, CI), not at run time: task
 * arguments and results follow the registry, and the client's response types follow the gateway's
 * schemas. Every `@ts-expect-error` line fails the type check if the call it marks compiles.
 */
import { describe, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import type * as Gateway from '../../gateway/src/http/schemas.js';
import type { Dataset, SwitchyardClient, QueueInfo, WorkerInfo, WorkflowView, DeadLetterList } from '../src/index.js';

/** Each assignable to the other. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

/** Never called: these lines only have to compile, or, where marked, to fail to. */
function callsThatTypeCheck(client: SwitchyardClient) {
  // @ts-expect-error add takes numbers
  void client.run('node', 'add', ['x']);
  // @ts-expect-error add takes two arguments
  void client.run('node', 'add', [4]);
  // @ts-expect-error lm_fit is an R task
  void client.run('node', 'lm_fit', [[1, 2, 3], { x: [1, 2, 3] }]);
  // @ts-expect-error no such task
  void client.submit('r', 'add', [1, 2]);
  // @ts-expect-error a workflow step's task must be one of its worker kind's
  void client.workflow({ chain: [{ worker: 'r', task: 'fit_report' }] });
  void client.workflow({
    chain: [
      { worker: 'node', task: 'make_dataset', args: [5, 1, 0] },
      { worker: 'r', task: 'lm_fit' },
    ],
  });
  // Names known only at run time go through submitUntyped.
  void client.submitUntyped('node', String(process.argv[2]), []);
}

describe('client types', () => {
  it('types run() results from the task registry', () => {
    expectTypeOf(callsThatTypeCheck).toBeFunction();
    expectTypeOf(runAdd).returns.toEqualTypeOf<Promise<number>>();
    expectTypeOf(runMakeDataset).returns.toEqualTypeOf<Promise<Dataset>>();
  });

  it("mirrors the gateway's response schemas", () => {
    expectTypeOf<Same<QueueInfo, z.infer<typeof Gateway.QueueInfo>>>().toEqualTypeOf<true>();
    expectTypeOf<Same<WorkerInfo, z.infer<typeof Gateway.WorkerInfo>>>().toEqualTypeOf<true>();
    expectTypeOf<Same<WorkflowView, z.infer<typeof Gateway.WorkflowView>>>().toEqualTypeOf<true>();
    expectTypeOf<Same<DeadLetterList, z.infer<typeof Gateway.DeadLetterList>>>().toEqualTypeOf<true>();
  });
});

function runAdd(client: SwitchyardClient) {
  return client.run('node', 'add', [4, 6]);
}
function runMakeDataset(client: SwitchyardClient) {
  return client.run('node', 'make_dataset', [10, 2, 1]);
}
