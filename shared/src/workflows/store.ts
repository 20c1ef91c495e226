/**
 * Where a workflow's state lives: one MessagePack value under its own hash tag, changed only by
 * compare-and-set (workflow-cas-2), so advancers on any number of processes can race safely. Unfinished
 * workflows are also listed in `activeWorkflows`, which the advancers sweep.
 */
import type { Redis } from 'ioredis';
import { codec } from '../codec.js';
import type { KeyLayout } from '../keys.js';
import { defineLuaScripts, type ScriptCaller } from '../lua.js';
import { scriptOutcome } from '../script-codes.js';
import { isWorkflowFinished, type Workflow } from './engine.js';

/** Attempts at a compare-and-set before giving up (each loses only to another advancer's success). */
const MAX_RACES = 50;

export class WorkflowStore {
  private readonly cas: ScriptCaller;

  constructor(
    private readonly redis: Redis,
    private readonly keys: KeyLayout,
    private readonly ttlSeconds: number,
  ) {
    this.cas = defineLuaScripts(redis, { cas: 'workflow-cas-2' }).cas;
  }

  async read(workflowId: string): Promise<{ workflow: Workflow; version: string } | null> {
    const [bytes, version] = await Promise.all([
      this.redis.getBuffer(this.keys.workflow(workflowId)),
      this.redis.get(this.keys.workflowVersion(workflowId)),
    ]);
    if (bytes === null || version === null) return null;
    return { workflow: codec.decode(bytes) as Workflow, version };
  }

  /** Stores a new workflow; false if one with that id exists. */
  async create(workflow: Workflow): Promise<boolean> {
    const written = await this.write(workflow, '0');
    if (written) await this.redis.zadd(this.keys.activeWorkflows, Date.now(), workflow.workflow_id);
    return written;
  }

  /**
   * Applies `change` (which returns false when it changes nothing) to the current state, again on a
   * fresh read whenever another advancer wrote first. Returns the state after, or null if there is none.
   */
  async update(workflowId: string, change: (workflow: Workflow) => boolean): Promise<Workflow | null> {
    for (let race = 0; race < MAX_RACES; race++) {
      const current = await this.read(workflowId);
      if (current === null) return null;
      if (!change(current.workflow)) return current.workflow;
      if (await this.write(current.workflow, current.version)) {
        const { workflow } = current;
        if (isWorkflowFinished(workflow)) await this.redis.zrem(this.keys.activeWorkflows, workflowId);
        else await this.redis.zadd(this.keys.activeWorkflows, Date.now(), workflowId);
        return workflow;
      }
    }
    throw new Error(`workflow ${workflowId}: lost ${MAX_RACES} compare-and-set races in a row`);
  }

  /** Unfinished workflows not changed for `idleMs`: candidates for a sweep. */
  async idle(idleMs: number, limit = 100): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.activeWorkflows, '-inf', Date.now() - idleMs, 'LIMIT', 0, limit);
  }

  private async write(workflow: Workflow, version: string): Promise<boolean> {
    const next = String(Number(version) + 1);
    const reply = await this.cas(
      this.keys.workflow(workflow.workflow_id),
      this.keys.workflowVersion(workflow.workflow_id),
      version,
      codec.encode(workflow),
      next,
      this.ttlSeconds,
    );
    return scriptOutcome(reply) === 'ok';
  }
}
