/**
 * Workflow chaos: 50 polyglot chains (Node make_dataset → R lm_fit → Node fit_report) and 10 chords of
 * 10 (Node add headers, an R summary_stats body) through the gateway, while a driver SIGKILLs a random
 * Node worker every few hundred milliseconds and starts a replacement, and kills the R service once
 * with its children (its process group, as a container stop does) and restarts it on the same port.
 * Node workers run advancers too, so hand-offs are interrupted as well as tasks. Every workflow must
 * end SUCCESS with the right result and none may be stuck; no chord body may be queued twice (a body
 * runs again only when the R service that ran it was killed). How many steps ran more than once is
 * reported, not limited (at-least-once).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  WorkflowStore,
  createKeyLayout,
  createRecordReader,
  createRedis,
  isTerminal,
  type RecordReader,
  type Redis,
  type TaskRecord,
} from '@switchyard/shared';
import { startService, type ServiceProcess } from '../support/services.js';
import { useStack } from '../support/stack.js';
import { waitFor } from '../support/wait.js';
import type { WorkflowView } from '../support/workflows.js';

const CHAINS = 50;
const CHORDS = 10;
const CHORD_WIDTH = 10;
const NODE_WORKERS = 3;
const KILL_EVERY_MS = 500;
const MAX_KILLS = 20;
/** Points in each chain's data set; its noise amplitude (make_dataset's pseudo-noise is repeatable). */
const POINTS = 12;
const NOISE = 0.1;

const ctx = useStack({
  label: 'workflow-chaos',
  nodeWorkers: 0,
  withR: true,
  env: {
    LEASE_MS: '1500',
    RATE_LIMIT_PER_MINUTE: '0',
    WORKER_CONCURRENCY: '10',
    MAX_CONCURRENT_TASKS: '4',
    CPU_THREADS: '1',
  },
});

let redis: Redis;
let reader: RecordReader;
let store: WorkflowStore;
beforeAll(() => {
  redis = createRedis(ctx.redis.url, 'worker');
  const keys = createKeyLayout(ctx.stack.env.KEY_PREFIX!);
  reader = createRecordReader(redis, keys);
  store = new WorkflowStore(redis, keys, 600);
});
afterAll(() => redis.disconnect());

/** What a submitted workflow must end with. */
interface Expectation {
  kind: 'chain' | 'chord';
  workflowId: string;
  check(view: WorkflowView, records: Map<string, TaskRecord>): string | null;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const rServiceOf = (services: ServiceProcess[]) =>
  services.filter((s) => s.output().includes('"service":"r-worker"') && s.process.exitCode === null).at(-1);

/** Each "task claimed" of `taskId` in an R service's log. */
const claimsIn = (service: ServiceProcess, taskId: string) =>
  service
    .output()
    .split('\n')
    .filter((line) => line.startsWith('{') && line.includes('"task claimed"') && line.includes(taskId)).length;

function chainOf(i: number) {
  const slope = 1 + (i % 5);
  const intercept = 2 + (i % 7);
  return {
    canvas: {
      chain: [
        { worker: 'node', task: 'make_dataset', args: [POINTS, slope, intercept, NOISE] },
        { worker: 'r', task: 'lm_fit' },
        { worker: 'node', task: 'fit_report' },
      ],
    },
    check(view: WorkflowView, records: Map<string, TaskRecord>): string | null {
      const [data, fit, report] = view.steps.map((s) => records.get(s.task_id));
      if (!data || !fit || !report) return 'a step has no record';
      // Each hand-off carried the previous step's result, as it was.
      if (JSON.stringify(fit.args[0]) !== JSON.stringify(data.result)) return 'lm_fit did not get the data set';
      if (JSON.stringify(report.args[0]) !== JSON.stringify(fit.result)) return 'fit_report did not get the fit';
      const match = /^y = (-?[\d.]+)·x \+ (-?[\d.]+) \(R² ([\d.]+), n = (\d+)\)$/.exec(String(view.result));
      if (!match) return `result ${JSON.stringify(view.result)} is not a fit report`;
      const [, b, a, r2, n] = match.map(Number) as [number, number, number, number, number];
      const near = Math.abs(b - slope) < 0.1 && Math.abs(a - intercept) < 0.5 && r2 > 0.95 && n === POINTS;
      return near ? null : `result ${String(view.result)} is not y = ${slope}·x + ${intercept}`;
    },
  };
}

function chordOf(c: number) {
  const header = Array.from({ length: CHORD_WIDTH }, (_, j) => ({ worker: 'node', task: 'add', args: [c, j] }));
  return {
    canvas: { chord: { header, body: { worker: 'r', task: 'summary_stats' } } },
    check(view: WorkflowView, records: Map<string, TaskRecord>): string | null {
      const body = view.steps.at(-1)!;
      const values = Array.from({ length: CHORD_WIDTH }, (_, j) => c + j);
      if (body.path !== 'chord.body') return `last step is ${body.path}`;
      if (JSON.stringify(records.get(body.task_id)?.args[0]) !== JSON.stringify(values)) {
        return `the body got ${JSON.stringify(records.get(body.task_id)?.args[0])}`;
      }
      const result = view.result as { n?: number; mean?: number; min?: number; max?: number } | null;
      const ok =
        result?.n === CHORD_WIDTH &&
        Math.abs((result.mean ?? NaN) - (c + (CHORD_WIDTH - 1) / 2)) < 1e-9 &&
        result.min === c &&
        result.max === c + CHORD_WIDTH - 1;
      return ok ? null : `result ${JSON.stringify(view.result)}`;
    },
  };
}

describe('fault: workflows while Node workers and the R service are SIGKILLed', () => {
  it('every chain and chord ends SUCCESS with its result; none stuck; no chord body queued twice', async () => {
    const { baseUrl, services } = ctx.stack;
    const workers = Array.from({ length: NODE_WORKERS }, () => ctx.stack.startWorker());
    await Promise.all(
      workers.map((w) => waitFor(() => w.output().includes('worker started'), { timeoutMs: 20_000, what: 'worker' })),
    );

    // Submitted in batches, chains and chords mixed, so both run side by side.
    const plans = [
      ...Array.from({ length: CHAINS }, (_, i) => ({ kind: 'chain' as const, ...chainOf(i) })),
      ...Array.from({ length: CHORDS }, (_, c) => ({ kind: 'chord' as const, ...chordOf(c) })),
    ].sort((x, y) => (x.kind === y.kind ? 0 : x.kind === 'chord' ? -1 : 1));
    const interleaved = plans.map((_, i) => plans[(i * 7) % plans.length]!); // 7 is prime to 60
    const expectations: Expectation[] = [];
    for (let batch = 0; batch < interleaved.length; batch += 10) {
      const accepted = await Promise.all(
        interleaved.slice(batch, batch + 10).map(async (plan) => {
          const response = await fetch(`${baseUrl}/workflows`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(plan.canvas),
          });
          const body = (await response.json()) as { workflow_id?: string };
          expect(response.status, JSON.stringify(body)).toBe(202);
          return { kind: plan.kind, workflowId: body.workflow_id!, check: plan.check };
        }),
      );
      expectations.push(...accepted);
    }
    expect(new Set(expectations.map((e) => e.workflowId)).size).toBe(CHAINS + CHORDS);

    const unfinished = async () => {
      const states = await Promise.all(expectations.map(async (e) => (await store.read(e.workflowId))?.workflow));
      return states.filter((w) => !w || !['SUCCESS', 'FAILURE', 'REVOKED'].includes(w.state)).length;
    };
    /** True once some R step is running (so killing the R service interrupts work). */
    const rStepRunning = async () => {
      for (const e of expectations) {
        const workflow = (await store.read(e.workflowId))?.workflow;
        for (const node of workflow?.nodes ?? []) {
          if (node.step?.worker !== 'r') continue;
          const record = await reader.read(node.step.task_id);
          if (record && (record.state === 'STARTED' || record.state === 'PROGRESS')) return true;
        }
      }
      return false;
    };

    let kills = 0;
    let rKilled = false;
    let killedR: ServiceProcess | undefined;
    const started = Date.now();
    while (kills < MAX_KILLS && (await unfinished()) > 0) {
      await sleep(KILL_EVERY_MS);
      const index = Math.floor(Math.random() * workers.length);
      workers[index]!.process.kill('SIGKILL');
      await workers[index]!.exited;
      workers[index] = ctx.stack.startWorker();
      kills++;
      // The R service, once: as soon as an R step runs, or after a few Node kills at the latest.
      if (!rKilled && kills >= 2 && ((await rStepRunning()) || kills >= 6)) {
        killedR = rServiceOf(services)!;
        expect(killedR).toBeDefined();
        await killedR.stop('SIGKILL');
        rKilled = true;
        const { port } = new URL(ctx.stack.rServiceUrl);
        const restarted = startService('r-worker', { ...ctx.stack.env, HOST: '127.0.0.1', PORT: String(port) });
        services.push(restarted);
        await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/health`).catch(() => null))?.ok, {
          timeoutMs: 30_000,
          intervalMs: 100,
          what: 'the restarted R service',
        });
      }
    }
    const chaosMs = Date.now() - started;

    try {
      await waitFor(async () => (await unfinished()) === 0, {
        timeoutMs: 60_000,
        intervalMs: 250,
        what: 'every workflow to end',
      });
    } catch {
      // Counted and shown below.
    }

    // The final word is the gateway's, as a user sees it; every step must have ended too.
    const views = await Promise.all(
      expectations.map(
        async (e) => (await (await fetch(`${baseUrl}/workflows/${e.workflowId}`)).json()) as WorkflowView,
      ),
    );
    const records = new Map<string, TaskRecord>();
    for (const view of views) {
      for (const step of view.steps) {
        const record = await reader.read(step.task_id);
        if (record) records.set(step.task_id, record);
      }
    }
    const stuckIds = views
      .filter((v) => !isTerminal(v.state as TaskRecord['state']) || v.done !== v.total)
      .map((v) => v.workflow_id);

    const wrong: string[] = [];
    let succeeded = 0;
    expectations.forEach((e, i) => {
      const view = views[i]!;
      const problem =
        view.state !== 'SUCCESS'
          ? `${view.state}: ${view.error ?? ''} ${JSON.stringify(view.steps.map((s) => [s.path, s.state, s.error]))}`
          : e.check(view, records);
      if (problem === null) succeeded++;
      else wrong.push(`${e.kind} ${e.workflowId}: ${problem}`);
    });

    // Chord bodies: one task id each (the workflow's own), claimed at most once per R service lifetime;
    // a second run only by redelivery after the R service that ran it was killed.
    const rServices = services.filter((s) => s.output().includes('"service":"r-worker"'));
    const doubled: string[] = [];
    let bodiesRedelivered = 0;
    let bodyClaims = 0;
    for (const [i, e] of expectations.entries()) {
      if (e.kind !== 'chord') continue;
      const bodies = views[i]!.steps.filter((s) => s.path === 'chord.body');
      expect(bodies).toHaveLength(1);
      const body = bodies[0]!;
      const record = records.get(body.task_id);
      expect(record?.task_id).toBe(body.task_id);
      const claims = rServices.map((s) => claimsIn(s, body.task_id));
      bodyClaims += claims.reduce((a, b) => a + b, 0);
      const killedClaims = killedR ? claimsIn(killedR, body.task_id) : 0;
      if (claims.some((n) => n > 1) || (claims.reduce((a, b) => a + b, 0) > 1 && killedClaims === 0)) {
        doubled.push(`${body.task_id}: claims ${JSON.stringify(claims)}, attempts ${record?.attempts ?? '?'}`);
      }
      if ((record?.attempts ?? 0) > 1) bodiesRedelivered++;
    }
    const ranTwice = [...records.values()].filter((r) => r.attempts > 1).length;

    console.log(
      `workflow chaos: ${expectations.length} workflows, ${succeeded} SUCCESS, ${stuckIds.length} stuck, ` +
        `${ranTwice} steps ran more than once, ${bodiesRedelivered} of them chord bodies ` +
        `(${kills} Node workers and the R service SIGKILLed over ${(chaosMs / 1000).toFixed(1)} s)`,
    );
    if (wrong.length > 0 || stuckIds.length > 0) {
      console.log(wrong.slice(0, 10).join('\n'));
      console.log(
        services
          .map((s) =>
            s
              .output()
              .split('\n')
              .filter((l) => /"level":"(warn|error)"/.test(l))
              .slice(-5)
              .join('\n'),
          )
          .join('\n---\n'),
      );
    }
    expect(stuckIds).toEqual([]);
    expect(wrong).toEqual([]);
    expect(doubled).toEqual([]);
    expect(bodyClaims).toBeGreaterThanOrEqual(CHORDS); // the claims were really seen in the R logs
    expect(rKilled).toBe(true);
    expect(kills).toBeGreaterThanOrEqual(3); // the workers really were killed while workflows ran
  }, 150_000);
});
