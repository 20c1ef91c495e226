/**
 * What the workflow routes do: accept a canvas (checked before anything is queued, once per
 * Idempotency-Key), show a workflow with the state of every step, and cancel one. The engine, the
 * store and the advancer that moves workflows on are in @switchyard/shared (workflows/).
 */
import { randomUUID } from 'node:crypto';
import {
  SwitchyardError,
  cancelWorkflow,
  compileWorkflow,
  isTerminal,
  routeTask,
  type Canvas,
  type TaskState,
  type RecordReader,
  type TaskRoutes,
  type WorkflowAdvancer,
  type WorkflowStore,
} from '@switchyard/shared';
import type { z } from 'zod';
import type { WorkflowView } from '../http/schemas.js';
import type { Idempotency, IdempotentOutcome } from './idempotency.js';

export interface WorkflowServiceDeps {
  store: WorkflowStore;
  advancer: WorkflowAdvancer;
  reader: RecordReader;
  idempotency: Idempotency;
  routes: TaskRoutes;
}

export function createWorkflowService(deps: WorkflowServiceDeps) {
  const { store, advancer, reader, idempotency, routes } = deps;

  async function view(workflowId: string): Promise<z.infer<typeof WorkflowView>> {
    const stored = await store.read(workflowId);
    if (stored === null) {
      throw new SwitchyardError('task_not_found', `No workflow with id ${workflowId}: it never existed or it expired`);
    }
    const { workflow } = stored;
    const steps = await Promise.all(
      workflow.nodes.flatMap((node) =>
        node.step
          ? [
              (async () => {
                const step = node.step!;
                const record = await reader.read(step.task_id);
                const state: TaskState = record?.state ?? (node.status === 'revoked' ? 'REVOKED' : 'PENDING');
                return {
                  path: node.path,
                  task_id: step.task_id,
                  worker: step.worker,
                  task: step.task,
                  queue: step.queue,
                  state,
                  current: record?.current ?? 0,
                  total: record?.total ?? 1,
                  error: record?.error ?? node.error ?? null,
                };
              })(),
            ]
          : [],
      ),
    );
    return {
      workflow_id: workflow.workflow_id,
      state: workflow.state,
      done: steps.filter((step) => isTerminal(step.state)).length,
      total: steps.length,
      result: workflow.result ?? null,
      error: workflow.error,
      created_at: workflow.created_at,
      updated_at: workflow.updated_at,
      finished_at: workflow.finished_at,
      steps,
    };
  }

  /** Unfinished workflows and those that ended lately, most recently changed first, without their steps. */
  async function list(limit: number) {
    const ids = await store.list(limit);
    const views = await Promise.all(ids.map((id) => view(id).catch(() => null)));
    return views.flatMap((found) => {
      if (found === null) return [];
      const { steps: _steps, result: _result, ...summary } = found;
      return [summary];
    });
  }

  return {
    list,
    async submit(canvas: Canvas, caller: string, idempotencyKey?: string): Promise<IdempotentOutcome> {
      return idempotency.once(
        'workflow',
        caller,
        idempotencyKey,
        canvas,
        async (workflowId) => {
          const workflow = compileWorkflow(
            workflowId,
            canvas,
            (step) => routeTask(routes, step.worker, step.task, step.queue),
            randomUUID,
            new Date().toISOString(),
          );
          await store.create(workflow);
          try {
            await advancer.holdSteps(workflow);
            await advancer.drive(workflowId);
          } catch (error) {
            // The caller gets an error, which promises nothing runs: stop what was started (best effort;
            // what this cannot reach, the sweep revokes once it sees the workflow cancelled).
            await store.update(workflowId, (w) => cancelWorkflow(w, new Date().toISOString())).catch(() => null);
            await advancer.drive(workflowId).catch(() => undefined);
            throw error;
          }
        },
        async (workflowId) => (await store.read(workflowId)) !== null,
      );
    },

    view,

    async cancel(workflowId: string): Promise<z.infer<typeof WorkflowView>> {
      const workflow = await store.update(workflowId, (w) => cancelWorkflow(w, new Date().toISOString()));
      if (workflow === null) {
        throw new SwitchyardError(
          'task_not_found',
          `No workflow with id ${workflowId}: it never existed or it expired`,
        );
      }
      await advancer.drive(workflowId);
      return view(workflowId);
    },
  };
}

export type WorkflowService = ReturnType<typeof createWorkflowService>;
