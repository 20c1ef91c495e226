/**
 * The workflow engine (pure) and canvas parsing, without Redis: chains hand results on, groups keep
 * their order, a chord's body becomes ready exactly once however its header's outcomes interleave or
 * repeat, failure and cancel leave the rest for revoking. WorkflowStore's compare-and-set is raced
 * against a real redis-server.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codec } from '../src/codec.js';
import { createKeyLayout, type KeyLayout } from '../src/keys.js';
import { createRedis, type Redis } from '../src/redis.js';
import type { TaskRecord } from '../src/status.js';
import { failed, pending, revoked, succeeded } from '../src/transitions.js';
import { CANVAS_LIMITS, parseCanvas, type Canvas, type StepSpec } from '../src/workflows/canvas.js';
import {
  applyStepOutcome,
  cancelWorkflow,
  compileWorkflow,
  isWorkflowFinished,
  markQueued,
  markRevoked,
  readySteps,
  stepIndexOf,
  unfinishedSteps,
  type Workflow,
} from '../src/workflows/engine.js';
import { WorkflowStore } from '../src/workflows/store.js';
import { startRedisServer, uniquePrefix, type RedisServer } from '../../tests/support/redis-server.js';

const NOW = '2026-01-01T00:00:00.000Z';
const LATER = '2026-01-01T00:00:01.000Z';

/** Parses `input`, failing the test on any problem. */
function canvasOf(input: unknown): Canvas {
  const parsed = parseCanvas(input);
  if ('problems' in parsed) throw new Error(`unexpected problems: ${JSON.stringify(parsed.problems)}`);
  return parsed.canvas;
}

function compile(input: unknown): Workflow {
  let n = 0;
  return compileWorkflow(
    'wf-1',
    canvasOf(input),
    (step: StepSpec) => step.queue ?? 'default',
    () => `task-${n++}`,
    NOW,
  );
}

/** The record a step's task would end with: SUCCESS with `result`, FAILURE with `error`, or REVOKED. */
function outcome(
  workflow: Workflow,
  index: number,
  end: { result: unknown } | { error: string } | { revoked: string },
): TaskRecord {
  const step = workflow.nodes[index]!.step!;
  const start = pending(
    {
      task_id: step.task_id,
      worker: step.worker,
      queue: step.queue,
      task: step.task,
      args: step.args,
      options: { max_attempts: 1, expires_at: null, priority: 5, eta: null },
      workflow_id: workflow.workflow_id,
      parent_id: step.parent_id,
    },
    NOW,
  );
  if ('result' in end) return succeeded(start, end.result, LATER);
  if ('error' in end) return failed(start, end.error, LATER);
  return revoked(start, end.revoked, LATER);
}

/** What an advancer does with the ready steps: returns them (index and args) and marks them queued. */
function release(workflow: Workflow): { index: number; args: unknown[] }[] {
  const ready = readySteps(workflow);
  markQueued(
    workflow,
    ready.map((r) => r.index),
    LATER,
  );
  return ready;
}

const stepIndexes = (workflow: Workflow) => workflow.nodes.flatMap((node, i) => (node.step ? [i] : []));
const byPath = (workflow: Workflow, path: string) => workflow.nodes.findIndex((node) => node.path === path);

const add = (...args: unknown[]) => ({ worker: 'node', task: 'add', args });

describe('compileWorkflow and the pure engine', () => {
  it('a chain hands each result to the front of the next step, one step at a time', () => {
    const workflow = compile({ chain: [add(1, 2), add(10), add(100)] });
    expect(workflow.state).toBe('PENDING');
    const [first, second, third] = stepIndexes(workflow) as [number, number, number];
    expect(workflow.nodes.map((n) => n.path).filter((p) => p.startsWith('chain.'))).toEqual([
      'chain.0',
      'chain.1',
      'chain.2',
    ]);
    // parent_id: each step names the one before it.
    expect([first, second, third].map((i) => workflow.nodes[i]!.step!.parent_id)).toEqual([null, 'task-0', 'task-1']);

    expect(release(workflow)).toEqual([{ index: first, args: [1, 2] }]);
    expect(workflow.state).toBe('STARTED');
    expect(readySteps(workflow)).toEqual([]);

    expect(applyStepOutcome(workflow, first, outcome(workflow, first, { result: 3 }), LATER)).toBe(true);
    expect(release(workflow)).toEqual([{ index: second, args: [3, 10] }]);
    applyStepOutcome(workflow, second, outcome(workflow, second, { result: 13 }), LATER);
    expect(release(workflow)).toEqual([{ index: third, args: [13, 100] }]);
    applyStepOutcome(workflow, third, outcome(workflow, third, { result: 113 }), LATER);

    expect(workflow).toMatchObject({ state: 'SUCCESS', result: 113, error: null, finished_at: LATER });
    expect(isWorkflowFinished(workflow)).toBe(true);
    expect(unfinishedSteps(workflow)).toEqual([]);
    expect(readySteps(workflow)).toEqual([]);
  });

  it('pass_result false: the step runs with its own args only, and its own result goes on', () => {
    const workflow = compile({
      chain: [add(1, 2), { ...add(5, 5), pass_result: false }, add(1)],
    });
    const [first, second, third] = stepIndexes(workflow) as [number, number, number];
    release(workflow);
    applyStepOutcome(workflow, first, outcome(workflow, first, { result: 3 }), LATER);
    expect(release(workflow)).toEqual([{ index: second, args: [5, 5] }]);
    applyStepOutcome(workflow, second, outcome(workflow, second, { result: 10 }), LATER);
    expect(release(workflow)).toEqual([{ index: third, args: [10, 1] }]);
  });

  it('a group runs its members at once with the same input, and its result keeps their order', () => {
    const workflow = compile({ chain: [add(1, 1), { group: [add(1), add(2), add(3)] }, add(0)] });
    const steps = stepIndexes(workflow);
    const [first, a, b, c, last] = steps as [number, number, number, number, number];
    release(workflow);
    applyStepOutcome(workflow, first, outcome(workflow, first, { result: 2 }), LATER);
    expect(release(workflow)).toEqual([
      { index: a, args: [2, 1] },
      { index: b, args: [2, 2] },
      { index: c, args: [2, 3] },
    ]);
    // Members finish out of order: the list is still in canvas order.
    applyStepOutcome(workflow, c, outcome(workflow, c, { result: 5 }), LATER);
    applyStepOutcome(workflow, a, outcome(workflow, a, { result: 3 }), LATER);
    expect(readySteps(workflow)).toEqual([]);
    applyStepOutcome(workflow, b, outcome(workflow, b, { result: 4 }), LATER);
    expect(release(workflow)).toEqual([{ index: last, args: [[3, 4, 5], 0] }]);
    expect(workflow.nodes[byPath(workflow, 'chain.1')]!).toMatchObject({ kind: 'group', result: [3, 4, 5] });
  });

  it('a group as the whole canvas ends with the list; a nested chain member hands on within itself', () => {
    const workflow = compile({ group: [{ chain: [add(1, 1), add(10)] }, add(7, 7)] });
    expect(workflow.nodes.filter((n) => n.step).map((n) => n.path)).toEqual([
      'group.0.chain.0',
      'group.0.chain.1',
      'group.1',
    ]);
    const [x, y, z] = stepIndexes(workflow) as [number, number, number];
    expect(release(workflow).map((r) => r.index)).toEqual([x, z]);
    applyStepOutcome(workflow, z, outcome(workflow, z, { result: 14 }), LATER);
    applyStepOutcome(workflow, x, outcome(workflow, x, { result: 2 }), LATER);
    expect(release(workflow)).toEqual([{ index: y, args: [2, 10] }]);
    expect(workflow.state).toBe('STARTED');
    applyStepOutcome(workflow, y, outcome(workflow, y, { result: 12 }), LATER);
    expect(workflow).toMatchObject({ state: 'SUCCESS', result: [12, 14] });
  });

  it('a chord names its steps chord.header.i and chord.body; the body gets the list in header order', () => {
    const workflow = compile({
      chord: { header: [add(1, 1), add(2, 2), add(3, 3)], body: { worker: 'r', task: 'summary_stats' } },
    });
    expect(workflow.nodes.filter((n) => n.step).map((n) => n.path)).toEqual([
      'chord.header.0',
      'chord.header.1',
      'chord.header.2',
      'chord.body',
    ]);
    const body = byPath(workflow, 'chord.body');
    // The body follows the header's last member (its parent_id), as a chain's next step does.
    expect(workflow.nodes[body]!.step!.parent_id).toBe('task-2');
  });

  it('nested chords and groups keep the paths the caller wrote (as parseCanvas names them)', () => {
    const workflow = compile({
      chain: [
        add(1, 1),
        {
          chord: {
            header: [{ group: [add(1), add(2)] }, { chord: { header: [add(3)], body: add(4) } }],
            body: add(5),
          },
        },
      ],
    });
    expect(workflow.nodes.filter((n) => n.step).map((n) => n.path)).toEqual([
      'chain.0',
      'chain.1.chord.header.0.group.0',
      'chain.1.chord.header.0.group.1',
      'chain.1.chord.header.1.chord.header.0',
      'chain.1.chord.header.1.chord.body',
      'chain.1.chord.body',
    ]);
    // Each part gets what came before it; the outer body gets both header results, in order.
    const [first, g0, g1, innerHead, innerBody, body] = stepIndexes(workflow) as [
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    release(workflow);
    applyStepOutcome(workflow, first, outcome(workflow, first, { result: 2 }), LATER);
    expect(release(workflow)).toEqual([
      { index: g0, args: [2, 1] },
      { index: g1, args: [2, 2] },
      { index: innerHead, args: [2, 3] },
    ]);
    applyStepOutcome(workflow, innerHead, outcome(workflow, innerHead, { result: 5 }), LATER);
    expect(release(workflow)).toEqual([{ index: innerBody, args: [[5], 4] }]);
    applyStepOutcome(workflow, g1, outcome(workflow, g1, { result: 4 }), LATER);
    applyStepOutcome(workflow, innerBody, outcome(workflow, innerBody, { result: 'inner' }), LATER);
    expect(readySteps(workflow)).toEqual([]);
    applyStepOutcome(workflow, g0, outcome(workflow, g0, { result: 3 }), LATER);
    expect(release(workflow)).toEqual([{ index: body, args: [[[3, 4], 'inner'], 5] }]);
  });

  describe('a chord body is ready exactly once, however the header outcomes interleave and repeat', () => {
    const HEADER = 5;
    const chord = {
      chord: {
        header: Array.from({ length: HEADER }, (_, i) => add(i, i)),
        body: { worker: 'r', task: 'summary_stats' },
      },
    };

    it('every order of the outcomes, each delivered one to three times (duplicates interleaved)', () => {
      fc.assert(
        fc.property(
          fc.array(fc.integer({ min: 0, max: HEADER - 1 }), { maxLength: 3 * HEADER }).chain((extra) =>
            fc.shuffledSubarray([...Array.from({ length: HEADER }, (_, i) => i), ...extra], {
              minLength: HEADER + extra.length,
            }),
          ),
          (deliveries) => {
            const workflow = compile(chord);
            const header = Array.from({ length: HEADER }, (_, i) => byPath(workflow, `chord.header.${i}`));
            const body = byPath(workflow, 'chord.body');
            expect(release(workflow).map((r) => r.index)).toEqual(header);
            let bodyReleases = 0;
            let bodyArgs: unknown[] = [];
            const seen = new Set<number>();
            for (const member of deliveries) {
              const before = structuredClone(workflow);
              const changed = applyStepOutcome(
                workflow,
                header[member]!,
                outcome(workflow, header[member]!, { result: member * 2 }),
                LATER,
              );
              // The same outcome a second time changes nothing, and says so.
              expect(changed).toBe(!seen.has(member));
              if (!changed) expect(workflow).toEqual(before);
              seen.add(member);
              for (const ready of release(workflow)) {
                expect(ready.index).toBe(body);
                expect(seen.size).toBe(HEADER); // only once the last member is in
                bodyReleases++;
                bodyArgs = ready.args;
              }
            }
            expect(seen.size).toBe(HEADER);
            expect(bodyReleases).toBe(1);
            expect(bodyArgs).toEqual([[0, 2, 4, 6, 8]]);
          },
        ),
        { numRuns: 300 },
      );
    });

    it('two advancers on stale copies: whichever write lands, the body is ready in it once', () => {
      // Advancer A applies member 3, B (from the same read) applies member 4; B's write loses the
      // compare-and-set and B retries on A's result: the body becomes ready only in that retry.
      const base = compile(chord);
      release(base);
      const header = Array.from({ length: HEADER }, (_, i) => byPath(base, `chord.header.${i}`));
      for (const member of [0, 1, 2])
        applyStepOutcome(base, header[member]!, outcome(base, header[member]!, { result: member * 2 }), LATER);
      const a = structuredClone(base);
      const b = structuredClone(base);
      applyStepOutcome(a, header[3]!, outcome(a, header[3]!, { result: 6 }), LATER);
      applyStepOutcome(b, header[4]!, outcome(b, header[4]!, { result: 8 }), LATER);
      expect(readySteps(a)).toEqual([]);
      expect(readySteps(b)).toEqual([]);
      const retried = structuredClone(a);
      applyStepOutcome(retried, header[4]!, outcome(retried, header[4]!, { result: 8 }), LATER);
      expect(readySteps(retried)).toEqual([{ index: byPath(retried, 'chord.body'), args: [[0, 2, 4, 6, 8]] }]);
    });
  });

  it('on_failure continue: the member fails, its slot holds {error, task_id}, and the rest go on', () => {
    const workflow = compile({
      chord: {
        header: [add(1, 1), { ...add(2, 2), on_failure: 'continue' }],
        body: { worker: 'r', task: 'summary_stats' },
      },
    });
    const [ok, bad, body] = stepIndexes(workflow) as [number, number, number];
    release(workflow);
    applyStepOutcome(workflow, bad, outcome(workflow, bad, { error: 'boom' }), LATER);
    expect(workflow.nodes[bad]).toMatchObject({ status: 'failed', error: 'boom' });
    expect(workflow.state).toBe('STARTED');
    applyStepOutcome(workflow, ok, outcome(workflow, ok, { result: 2 }), LATER);
    expect(release(workflow)).toEqual([{ index: body, args: [[2, { error: 'boom', task_id: 'task-1' }]] }]);
    applyStepOutcome(workflow, body, outcome(workflow, body, { result: { n: 2 } }), LATER);
    expect(workflow).toMatchObject({ state: 'SUCCESS', result: { n: 2 } });
  });

  it('on_failure continue does not cover a cancelled member: REVOKED ends the workflow', () => {
    const workflow = compile({ group: [add(1, 1), { ...add(2, 2), on_failure: 'continue' }] });
    const [, member] = stepIndexes(workflow) as [number, number];
    release(workflow);
    applyStepOutcome(workflow, member, outcome(workflow, member, { revoked: 'Cancelled' }), LATER);
    expect(workflow.state).toBe('REVOKED');
    expect(workflow.error).toMatch(/^step group\.1 \(node add, task task-1\) was cancelled$/);
  });

  it('a failure fails the workflow naming the step; every unfinished step is left for revoking', () => {
    const workflow = compile({
      chain: [add(1, 2), { group: [add(1), { worker: 'r', task: 'lm_fit' }] }, add(3)],
    });
    const [first, a, fit, last] = stepIndexes(workflow) as [number, number, number, number];
    release(workflow);
    applyStepOutcome(workflow, first, outcome(workflow, first, { result: 3 }), LATER);
    release(workflow);
    applyStepOutcome(workflow, fit, outcome(workflow, fit, { error: 'lm() refused' }), LATER);
    expect(workflow).toMatchObject({
      state: 'FAILURE',
      error: 'step chain.1.group.1 (r lm_fit, task task-2) failed: lm() refused',
      finished_at: LATER,
    });
    expect(workflow.nodes[fit]).toMatchObject({ status: 'failed', error: 'lm() refused' });
    // The running member and the step that never started are what must be revoked; nothing is released.
    expect(unfinishedSteps(workflow)).toEqual([a, last]);
    expect(readySteps(workflow)).toEqual([]);
    // Late outcomes change nothing once the workflow has ended.
    expect(applyStepOutcome(workflow, a, outcome(workflow, a, { result: 4 }), LATER)).toBe(false);
    expect(markRevoked(workflow, unfinishedSteps(workflow), LATER)).toBe(true);
    expect(markRevoked(workflow, [a, last], LATER)).toBe(false);
    expect(unfinishedSteps(workflow)).toEqual([]);
    expect(workflow.state).toBe('FAILURE');
  });

  it('a failure without an error message still names the step', () => {
    const workflow = compile({ chain: [add(1, 2)] });
    const [only] = stepIndexes(workflow) as [number];
    const record = { ...outcome(workflow, only, { error: 'x' }), error: null };
    applyStepOutcome(workflow, only, record, LATER);
    expect(workflow.error).toBe('step chain.0 (node add, task task-0) failed: unknown error');
  });

  it('cancelWorkflow ends it REVOKED once; its steps are then revoked and late outcomes ignored', () => {
    const workflow = compile({ chain: [add(1, 2), add(1)] });
    const [first, second] = stepIndexes(workflow) as [number, number];
    release(workflow);
    expect(cancelWorkflow(workflow, LATER)).toBe(true);
    expect(workflow).toMatchObject({ state: 'REVOKED', error: 'the workflow was cancelled', finished_at: LATER });
    expect(cancelWorkflow(workflow, LATER)).toBe(false);
    expect(unfinishedSteps(workflow)).toEqual([first, second]);
    expect(readySteps(workflow)).toEqual([]);
    expect(applyStepOutcome(workflow, first, outcome(workflow, first, { result: 3 }), LATER)).toBe(false);
    markRevoked(workflow, unfinishedSteps(workflow), LATER);
    expect(workflow.nodes.filter((n) => n.step).map((n) => n.status)).toEqual(['revoked', 'revoked']);
  });

  it('a finished workflow cannot be cancelled', () => {
    const workflow = compile({ chain: [add(1, 2)] });
    const [only] = stepIndexes(workflow) as [number];
    applyStepOutcome(workflow, only, outcome(workflow, only, { result: 3 }), LATER);
    expect(cancelWorkflow(workflow, LATER)).toBe(false);
    expect(workflow.state).toBe('SUCCESS');
  });

  it('markQueued changes only ready steps; stepIndexOf finds a step by task id', () => {
    const workflow = compile({ chain: [add(1, 2), add(1)] });
    const [first, second] = stepIndexes(workflow) as [number, number];
    expect(markQueued(workflow, [second], LATER)).toBe(false); // still waiting
    expect(markQueued(workflow, [first], LATER)).toBe(true);
    expect(markQueued(workflow, [first], LATER)).toBe(false);
    expect(stepIndexOf(workflow, 'task-1')).toBe(second);
    expect(stepIndexOf(workflow, 'nope')).toBe(-1);
  });

  it('a workflow mid-way survives the codec the store writes it with', () => {
    const workflow = compile({ chord: { header: [add(1, 1), add(2, 2)], body: add(0) } });
    release(workflow);
    const [first] = stepIndexes(workflow) as [number];
    applyStepOutcome(workflow, first, outcome(workflow, first, { result: 2 }), LATER);
    expect(codec.decode(codec.encode(workflow))).toEqual(workflow);
  });
});

describe('parseCanvas', () => {
  const problemsOf = (input: unknown) => {
    const parsed = parseCanvas(input);
    if (!('problems' in parsed)) throw new Error('expected problems');
    return parsed.problems;
  };

  it('checks the known args of a receiving step against every argument form of its task', () => {
    const after = (step: Record<string, unknown>) => ({
      chain: [{ worker: 'node', task: 'make_dataset', args: [5, 1, 1] }, step],
    });
    expect(problemsOf(after({ worker: 'r', task: 'lm_fit', args: [1, 2, 3] }))).toEqual([
      { field: 'chain.1.args', message: 'must have at most 1 items besides the result it receives' },
      { field: 'chain.1.args.0', message: 'must be an object' },
    ]);
    // make_dataset's two forms (with or without noise): the rest of either may follow a received n.
    const chainTo = (args: unknown[]) => ({
      chain: [
        { worker: 'node', task: 'add', args: [2, 3] },
        { worker: 'node', task: 'make_dataset', args },
      ],
    });
    expect('canvas' in parseCanvas(chainTo([2, 1]))).toBe(true);
    expect('canvas' in parseCanvas(chainTo([2, 1, 0.5]))).toBe(true);
    expect(problemsOf(chainTo(['x', 1]))).toEqual([{ field: 'chain.1.args.0', message: 'must be a number' }]);
  });

  it('fills in defaults: args [], pass_result true, on_failure fail', () => {
    expect(
      canvasOf({
        chain: [
          { worker: 'node', task: 'add', args: [1, 2] },
          { worker: 'r', task: 'lm_fit' },
        ],
      }),
    ).toEqual({
      chain: [
        { worker: 'node', task: 'add', args: [1, 2], pass_result: true, on_failure: 'fail' },
        { worker: 'r', task: 'lm_fit', args: [], pass_result: true, on_failure: 'fail' },
      ],
    });
  });

  it('keeps queue and options', () => {
    const canvas = canvasOf({ group: [{ ...add(1, 2), queue: 'cpu', options: { priority: 9 } }] }) as {
      group: StepSpec[];
    };
    expect(canvas.group[0]).toMatchObject({ queue: 'cpu', options: { priority: 9 } });
  });

  const deep = (levels: number): unknown => (levels === 0 ? add(1, 1) : { chain: [deep(levels - 1)] });

  it.each([
    ['unknown task', { chain: [{ worker: 'node', task: 'nope' }] }, 'chain.0.task', /must be a node task/],
    ['wrong worker kind', { chain: [{ worker: 'r', task: 'add', args: [1, 2] }] }, 'chain.0.task', /must be a r task/],
    ['unknown worker', { group: [{ worker: 'python', task: 'add' }] }, 'group.0.worker', /node, r/],
    ['wrong argument type', { chain: [add(1, 'x')] }, 'chain.0.args.1', /must be a number/],
    [
      'a later step checked besides what it receives',
      { chain: [add(1, 2), add('x')] },
      'chain.1.args.0',
      /must be a number/,
    ],
    [
      'too many args besides the result',
      { chain: [add(1, 2), add(1, 2)] },
      'chain.1.args',
      /at most 1 items besides the result it receives/,
    ],
    ['too few args at the start', { chain: [add(1)] }, 'chain.0.args', /at least 2 items$/],
    ['args not an array', { chain: [{ worker: 'node', task: 'add', args: 3 }] }, 'chain.0.args', /must be an array/],
    ['extra field in a step', { chain: [{ ...add(1, 2), retries: 3 }] }, 'chain.0.retries', /not an allowed field/],
    ['bad queue name', { chain: [{ ...add(1, 2), queue: 'a b' }] }, 'chain.0.queue', /./],
    ['bad pass_result', { chain: [{ ...add(1, 2), pass_result: 'no' }] }, 'chain.0.pass_result', /true or false/],
    ['bad on_failure', { group: [{ ...add(1, 2), on_failure: 'skip' }] }, 'group.0.on_failure', /fail or continue/],
    [
      'on_failure continue outside a group',
      { chain: [{ ...add(1, 2), on_failure: 'continue' }] },
      'chain.0.on_failure',
      /only for a member of a group/,
    ],
    [
      'on_failure continue on a chord body',
      { chord: { header: [add(1, 1)], body: { ...add(1), on_failure: 'continue' } } },
      'chord.body.on_failure',
      /only for a member/,
    ],
    ['empty chain', { chain: [] }, 'chain', /at least 1 step$/],
    ['empty group', { group: [] }, 'group', /at least 1 step$/],
    ['chain not an array', { chain: {} }, 'chain', /must be an array of steps/],
    ['empty chord header', { chord: { header: [], body: add(1) } }, 'chord.header', /at least 1 step/],
    ['chord without a body', { chord: { header: [add(1, 1)] } }, 'chord.body', /is required/],
    ['chord with an extra field', { chord: { header: [add(1, 1)], body: add(1), x: 1 } }, 'chord.x', /not an allowed/],
    ['chord not an object', { chord: [add(1, 1)] }, 'chord', /must be \{"header"/],
    ['two forms at once', { chain: [add(1, 1)], group: [add(1, 1)] }, '(body)', /exactly one of/],
    ['a form with a stray key', { chain: [add(1, 1)], worker: 'node' }, '(body)', /exactly one of/],
    ['a member that is not an object', { group: [add(1, 1), 7] }, 'group.1', /must be a step/],
    ['a lone step', add(1, 1), '(body)', /must be \{"chain"/],
    ['not an object at all', [add(1, 1)], '(body)', /must be a step/],
    ['null', null, '(body)', /must be a step/],
    [
      'too deep',
      deep(CANVAS_LIMITS.maxDepth),
      'chain.0.chain.0.chain.0.chain.0.chain.0.chain.0.chain.0.chain.0',
      /deeper than 8/,
    ],
    [
      'too many steps',
      { group: Array.from({ length: CANVAS_LIMITS.maxSteps + 1 }, () => add(1, 1)) },
      '(body)',
      /at most 100 steps \(it holds 101\)/,
    ],
    [
      'a problem deep in a nested canvas',
      { chain: [add(1, 1), { chord: { header: [{ chain: [add(1), add('y')] }], body: add(1) } }] },
      'chain.1.chord.header.0.chain.1.args.0',
      /must be a number/,
    ],
  ])('%s: names the path', (_what, input, field, message) => {
    expect(problemsOf(input)).toContainEqual({ field, message: expect.stringMatching(message) });
  });

  it('the deepest allowed canvas passes; as many steps as allowed pass', () => {
    expect('canvas' in parseCanvas(deep(CANVAS_LIMITS.maxDepth - 1))).toBe(true);
    expect('canvas' in parseCanvas({ group: Array.from({ length: CANVAS_LIMITS.maxSteps }, () => add(1, 1)) })).toBe(
      true,
    );
  });

  it('reports every problem, not only the first', () => {
    const problems = problemsOf({
      group: [{ worker: 'node', task: 'nope' }, add('x', 1), { worker: 'r', task: 'add' }],
    });
    expect(problems.map((p) => p.field)).toEqual(['group.0.task', 'group.1.args.0', 'group.2.task']);
  });

  it('a step that receives with pass_result false is checked on all its args', () => {
    expect(problemsOf({ chain: [add(1, 2), { ...add(1), pass_result: false }] })).toContainEqual({
      field: 'chain.1.args',
      message: expect.stringMatching(/at least 2 items$/),
    });
    expect('canvas' in parseCanvas({ chain: [add(1, 2), { ...add(1, 1), pass_result: false }] })).toBe(true);
  });

  it('group members and a chord header receive what came before them; a chord body receives the list', () => {
    expect('canvas' in parseCanvas({ chain: [add(1, 2), { group: [add(1), add(2)] }] })).toBe(true);
    expect(problemsOf({ group: [add(1)] })).toContainEqual({
      field: 'group.0.args',
      message: expect.stringMatching(/at least 2 items/),
    });
    expect(
      'canvas' in parseCanvas({ chord: { header: [add(1, 1)], body: { worker: 'r', task: 'summary_stats' } } }),
    ).toBe(true);
  });
});

describe('WorkflowStore against a real redis-server', () => {
  let server: RedisServer;
  let redis: Redis;
  let others: Redis[];
  let store: WorkflowStore;
  let keys: KeyLayout;

  beforeAll(async () => {
    server = await startRedisServer();
    redis = createRedis(server.url, 'worker');
    others = Array.from({ length: 4 }, () => createRedis(server.url, 'worker'));
    keys = createKeyLayout(uniquePrefix('workflows'));
    store = new WorkflowStore(redis, keys, 600);
  });
  afterAll(async () => {
    redis.disconnect();
    for (const other of others) other.disconnect();
    await server.stop();
  });

  const fresh = (input: unknown) => {
    const workflow = compile(input);
    workflow.workflow_id = randomUUID();
    return workflow;
  };

  it('create refuses a second workflow with the same id; read gives back what was stored', async () => {
    const workflow = fresh({ chain: [add(1, 2)] });
    expect(await store.create(workflow)).toBe(true);
    expect(await store.create({ ...workflow, state: 'SUCCESS' })).toBe(false);
    expect(await store.read(workflow.workflow_id)).toEqual({ workflow, version: '1' });
    expect(await store.read(randomUUID())).toBeNull();
    expect(await store.update(randomUUID(), () => true)).toBeNull();
  });

  it('two updates racing: the loser of the compare-and-set reads again and retries, so both apply once', async () => {
    const workflow = fresh({ group: [add(1, 1), add(2, 2)] });
    await store.create(workflow);
    const [a, b] = stepIndexes(workflow) as [number, number];
    const calls = { a: 0, b: 0 };
    // On one connection both reads are answered before either write is sent: the second write must lose.
    const [afterA, afterB] = await Promise.all([
      store.update(workflow.workflow_id, (w) => {
        calls.a++;
        return applyStepOutcome(w, a, outcome(w, a, { result: 2 }), LATER);
      }),
      store.update(workflow.workflow_id, (w) => {
        calls.b++;
        return applyStepOutcome(w, b, outcome(w, b, { result: 4 }), LATER);
      }),
    ]);
    expect(calls).toEqual({ a: 1, b: 2 });
    expect(afterA).toMatchObject({ state: 'STARTED' });
    expect(afterB).toMatchObject({ state: 'SUCCESS', result: [2, 4] });
    const stored = (await store.read(workflow.workflow_id))!;
    expect(stored).toEqual({ workflow: afterB, version: '3' });
    // Finished: no longer among the workflows the sweep looks at.
    expect(await store.idle(0, 10_000)).not.toContain(workflow.workflow_id);
  });

  it('many updates racing from several connections each apply exactly once', async () => {
    const members = 12;
    const workflow = fresh({ group: Array.from({ length: members }, (_, i) => add(i, i)) });
    await store.create(workflow);
    expect(await store.idle(0, 10_000)).toContain(workflow.workflow_id);
    const stores = [redis, ...others].map((r) => new WorkflowStore(r, keys, 600));
    const indexes = stepIndexes(workflow);
    await Promise.all(
      indexes.flatMap((index, i) =>
        // Each outcome is delivered twice, by two different processes: the second changes nothing.
        [0, 1].map((copy) =>
          stores[(i + copy) % stores.length]!.update(workflow.workflow_id, (w) =>
            applyStepOutcome(w, index, outcome(w, index, { result: i * 2 }), LATER),
          ),
        ),
      ),
    );
    const stored = (await store.read(workflow.workflow_id))!;
    expect(stored.workflow).toMatchObject({ state: 'SUCCESS', result: indexes.map((_, i) => i * 2) });
    // One version per applied outcome, on top of the creation's.
    expect(stored.version).toBe(String(members + 1));
  });

  it('a change that changes nothing writes nothing', async () => {
    const workflow = fresh({ chain: [add(1, 2)] });
    await store.create(workflow);
    expect(await store.update(workflow.workflow_id, () => false)).toEqual(workflow);
    expect((await store.read(workflow.workflow_id))!.version).toBe('1');
  });
});
