/**
 * Where a workflow's state lives: one MessagePack value under its own hash tag, changed only by
 * compare-and-set (workflow-cas-3), so advancers on any number of processes can race safely. Unfinished
 * workflows are also listed in `activeWorkflows`, which the advancers sweep.
 */
import type { Redis } from '../redis.js';
import { codec } from '../codec.js';
import type { KeyLayout } from '../keys.js';
import { defineLuaScripts, type ScriptCaller } from '../lua.js';
import { scriptOutcome } from '../script-codes.js';
import { isWorkflowFinished, unfinishedSteps, type Workflow } from './engine.js';

/** Attempts at a compare-and-set before giving up (each loses only to another advancer's success). */
const MAX_RACES = 50;

/** How many ended workflows `list` still shows (their states expire with RESULT_TTL_SECONDS anyway). */
const RECENT_WORKFLOWS_KEPT = 500;

export class WorkflowStore {
  private readonly cas: ScriptCaller;

  constructor(
    private readonly redis: Redis,
    private readonly keys: KeyLayout,
    private readonly ttlSeconds: number,
  ) {
    this.cas = defineLuaScripts(redis, { cas: 'workflow-cas-3' }).cas;
  }

  /** The state with the version it has: one MGET (the two keys share a hash tag), so they always match. */
  async read(workflowId: string): Promise<{ workflow: Workflow; version: string } | null> {
    const [bytes, version] = await this.redis.mgetBuffer(
      this.keys.workflow(workflowId),
      this.keys.workflowVersion(workflowId),
    );
    if (!bytes || !version) return null;
    return { workflow: codec.decode(bytes) as Workflow, version: version.toString() };
  }

  /**
   * Stores a new workflow; false if one with that id exists. It is listed as active first, so a
   * creator that dies right after still leaves it to the sweep.
   */
  async create(workflow: Workflow): Promise<boolean> {
    await this.redis.zadd(this.keys.activeWorkflows, Date.now(), workflow.workflow_id);
    return this.write(workflow, '0');
  }

  /** Moves a workflow to the back of the sweep's line (it was just looked at). */
  async touch(workflowId: string): Promise<void> {
    await this.redis.zadd(this.keys.activeWorkflows, 'XX', Date.now(), workflowId);
  }

  /**
   * Takes a workflow off the active list (it ended and nothing of it is left to revoke, or it expired).
   * The two lists are keys of their own (on a cluster, perhaps on two nodes), so no MULTI spans them: it
   * is listed as recent first, then unlisted as active. A process dying in between leaves it on both
   * for a moment (`list` shows it once; the sweep retires it again), never on neither.
   */
  async retire(workflowId: string): Promise<void> {
    await this.redis
      .multi()
      .zadd(this.keys.recentWorkflows, Date.now(), workflowId)
      .zremrangebyrank(this.keys.recentWorkflows, 0, -(RECENT_WORKFLOWS_KEPT + 1))
      .exec();
    await this.redis.zrem(this.keys.activeWorkflows, workflowId);
  }

  /** Ids of unfinished workflows and of those that ended lately, most recently changed first. */
  async list(limit: number): Promise<string[]> {
    const [active, recent] = await Promise.all([
      this.redis.zrevrange(this.keys.activeWorkflows, 0, limit - 1, 'WITHSCORES'),
      this.redis.zrevrange(this.keys.recentWorkflows, 0, limit - 1, 'WITHSCORES'),
    ]);
    const scored = new Map<string, number>();
    for (const flat of [active, recent]) {
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const id = String(flat[i]);
        scored.set(id, Math.max(scored.get(id) ?? 0, Number(flat[i + 1])));
      }
    }
    return [...scored]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([id]) => id);
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
        // An ended workflow stays listed until its unfinished steps are revoked, so a process that
        // dies in between leaves that work to the sweep.
        if (isWorkflowFinished(workflow) && unfinishedSteps(workflow).length === 0) await this.retire(workflowId);
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
      this.keys.workflowEvents(workflow.workflow_id),
      version,
      codec.encode(workflow),
      next,
      this.ttlSeconds,
    );
    return scriptOutcome(reply) === 'ok';
  }
}
