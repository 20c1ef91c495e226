/**
 * Moves workflows along. A step that ends is put in its queue's handoffs set by the very script that
 * writes its terminal record (finish-claim-10, cancel-7), and the advancers are told on the handoff channel.
 * An advancer applies the outcome to the workflow (compare-and-set), releases the steps that became
 * ready (release-held-7, idempotent), revokes what can no longer run when the workflow failed, and
 * only then takes the hand-off out of the set. A process killed anywhere in between leaves the hand-off
 * in the set, and the next advancer does the same work again, changing nothing twice. Every step touches
 * one queue's keys or one workflow's, never two queues at once (each its own Cluster slot).
 *
 * Advancers run in the gateway and in every Node worker; a sweep every second catches what a missed
 * message or a crash left.
 */
import type { Redis } from '../redis.js';
import { decodeRecord } from '../stored-record.js';
import { parseQueueId } from '../keys.js';
import type { Logger } from '../logger.js';
import { planTask } from '../plan.js';
import type { TaskPayload, TaskQueues } from '../queue.js';
import { TaskRecord } from '../status.js';
import type { WorkerKind } from '../tasks.js';
import { held, revoked } from '../transitions.js';
import {
  applyStepOutcome,
  isWorkflowFinished,
  markQueued,
  markRevoked,
  readySteps,
  stepIndexOf,
  unfinishedSteps,
  type Workflow,
  type WorkflowNode,
} from './engine.js';
import { WorkflowSteps } from './steps.js';
import type { WorkflowStore } from './store.js';

export interface AdvancerDeps {
  redis: Redis;
  queues: Record<WorkerKind, TaskQueues>;
  store: WorkflowStore;
  logger: Logger;
}

/** A workflow untouched this long is driven again by the sweep (a crash may have left it mid-way). */
const IDLE_BEFORE_SWEEP_MS = 2_000;

export class WorkflowAdvancer {
  private timer: NodeJS.Timeout | null = null;
  private chain: Promise<void> = Promise.resolve();
  private readonly pendingQueues = new Set<string>();

  private readonly steps: Record<WorkerKind, WorkflowSteps>;

  constructor(private readonly deps: AdvancerDeps) {
    const { redis, queues } = deps;
    const stepsOf = (kind: WorkerKind) =>
      new WorkflowSteps(redis, queues[kind].keys, kind, queues[kind].recordTtlSeconds);
    this.steps = { node: stepsOf('node'), r: stepsOf('r') };
  }

  /** Listens on the handoff channel (on `subscriber`, a connection of its own) and sweeps every `sweepMs`. */
  async start(subscriber: Redis, sweepMs = 1_000): Promise<void> {
    const { keys } = this.deps.queues.node;
    subscriber.on('message', (channel: string, queueId: string) => {
      if (channel === keys.handoffChannel) this.kick(queueId);
    });
    await subscriber.subscribe(keys.handoffChannel);
    this.timer = setInterval(() => this.serially(() => this.sweep()), sweepMs);
    this.serially(() => this.sweep());
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.chain;
  }

  /** Processes queue `queueId`'s hand-offs soon (once, however often it is kicked meanwhile). */
  kick(queueId: string): void {
    if (this.pendingQueues.has(queueId)) return;
    this.pendingQueues.add(queueId);
    this.serially(async () => {
      this.pendingQueues.delete(queueId);
      await this.processQueue(queueId);
    });
  }

  /** One pass over every queue's hand-offs and every idle unfinished workflow. */
  async sweep(): Promise<void> {
    const { redis, queues, store } = this.deps;
    for (const queueId of await redis.smembers(queues.node.keys.queueSet)) await this.processQueue(queueId);
    for (const workflowId of await store.idle(IDLE_BEFORE_SWEEP_MS)) {
      await this.drive(workflowId);
      await store.touch(workflowId); // the next sweep looks at the next ones
    }
  }

  async processQueue(queueId: string): Promise<void> {
    const queue = parseQueueId(queueId);
    if (queue === null) return;
    for (const taskId of await this.steps[queue.kind].handoffs(queue.name)) {
      await this.handOff(queue.kind, queue.name, taskId);
    }
  }

  /** Applies the outcome of step `taskId` to its workflow, moves the workflow on, and clears the hand-off. */
  async handOff(kind: WorkerKind, name: string, taskId: string): Promise<void> {
    const { store, logger } = this.deps;
    const record = await this.stepRecord(kind, name, taskId);
    if (record?.workflow_id) {
      const now = new Date().toISOString();
      const workflow = await store.update(record.workflow_id, (w) => {
        const index = stepIndexOf(w, taskId);
        return index >= 0 && applyStepOutcome(w, index, record, now);
      });
      if (workflow) await this.drive(workflow.workflow_id);
      logger.debug('workflow step handed off', {
        task_id: taskId,
        workflow_id: record.workflow_id,
        state: record.state,
      });
    }
    await this.steps[kind].handedOff(name, taskId);
  }

  /** Releases what is ready, or revokes what can no longer run; safe to repeat. */
  async drive(workflowId: string): Promise<void> {
    const { store, logger } = this.deps;
    const current = await store.read(workflowId);
    if (current === null) {
      await store.retire(workflowId); // expired, or its creator died before storing it
      return;
    }
    const { workflow } = current;
    if (isWorkflowFinished(workflow)) {
      const targets = unfinishedSteps(workflow);
      if (targets.length === 0) return;
      for (const index of targets) await this.revokeStep(workflow, workflow.nodes[index]!);
      await store.update(workflowId, (w) => markRevoked(w, targets, new Date().toISOString()));
      logger.info('workflow ended; its unfinished steps were revoked', {
        workflow_id: workflowId,
        state: workflow.state,
        revoked: targets.length,
      });
      return;
    }
    const ready = readySteps(workflow);
    if (ready.length === 0) return;
    for (const { index, args } of ready) await this.releaseStep(workflow, workflow.nodes[index]!, args);
    await store.update(workflowId, (w) =>
      markQueued(
        w,
        ready.map((r) => r.index),
        new Date().toISOString(),
      ),
    );
  }

  /** The first record and payload of a step, as it is held before its turn and released at its turn. */
  static planStep(
    workflow: Workflow,
    node: WorkflowNode,
    args: unknown[],
  ): { record: TaskRecord; payload: TaskPayload } {
    const step = node.step!;
    const submission = { task: step.task, args, queue: step.queue, ...(step.options ? { options: step.options } : {}) };
    return planTask(step.worker, step.task_id, submission, Date.now(), {
      workflow_id: workflow.workflow_id,
      parent_id: step.parent_id,
      created_at: workflow.created_at,
    });
  }

  /** Creates every step of a new workflow as a held task (its record can be collected at once). */
  async holdSteps(workflow: Workflow): Promise<void> {
    await Promise.all(
      workflow.nodes.map(async (node) => {
        if (!node.step) return;
        const { record, payload } = WorkflowAdvancer.planStep(workflow, node, node.step.args);
        await this.deps.queues[node.step.worker].enqueue(held(record), payload, { held: true });
      }),
    );
  }

  private async releaseStep(workflow: Workflow, node: WorkflowNode, args: unknown[]): Promise<void> {
    const step = node.step!;
    const queues = this.deps.queues[step.worker];
    const { record, payload } = WorkflowAdvancer.planStep(workflow, node, args);
    const outcome = await this.steps[step.worker].release(record, payload);
    if (outcome === 'no_such_task' && (await this.stepRecord(step.worker, step.queue, step.task_id)) === null) {
      // Its workflow was stored but the step was never held (the creator died in between): queue it now.
      await queues.enqueue(record, payload, { wake: step.worker === 'r' });
    }
  }

  private async revokeStep(workflow: Workflow, node: WorkflowNode): Promise<void> {
    const step = node.step!;
    const record = await this.stepRecord(step.worker, step.queue, step.task_id);
    if (record === null) return;
    await this.deps.queues[step.worker].cancel(revoked(record, `Not run: ${workflow.error ?? 'its workflow ended'}`));
  }

  private async stepRecord(kind: WorkerKind, name: string, taskId: string): Promise<TaskRecord | null> {
    const bytes = await this.deps.redis.getBuffer(this.deps.queues[kind].queue(name).task(taskId));
    return bytes === null ? null : TaskRecord.parse(decodeRecord(taskId, bytes));
  }

  /** Runs one piece of work after the previous one, so a process never races itself. */
  private serially(work: () => Promise<void>): void {
    this.chain = this.chain.then(work).catch((error: unknown) => {
      this.deps.logger.warn('workflow advancer: will try again at the next sweep', { error });
    });
  }
}
