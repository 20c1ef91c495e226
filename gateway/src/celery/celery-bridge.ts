/**
 * Celery producers → Switchyard workers. With CELERY_BROKER_URL set, Python code as in the seeds,
 * `app.send_task("add", args=[4, 6], queue="node").get()`, reaches Switchyard's Node and R workers:
 *
 * - Celery queue `node` is Node queue `default`, `r` is R queue `default`, `node.<name>` and
 *   `r.<name>` the named queues. The bridge watches those lists on Celery's broker (kombu's Redis
 *   transport: JSON envelopes LPUSHed onto a list named after the queue).
 * - Each message is moved atomically (LMOVE) onto the bridge's in-flight list on the broker, turned
 *   into a Switchyard task with Celery's task id (protocol v2; v1 too), queued (an id already queued is
 *   `task_exists`: nothing twice), then taken off the in-flight list. A bridge killed anywhere leaves
 *   the message in flight, and the next start takes it again: nothing lost, nothing queued twice.
 * - The task's states are written to Celery's result backend as Celery does (SETEX
 *   `celery-task-meta-<id>` and PUBLISH on that name, which `AsyncResult.get()` waits on): STARTED,
 *   PROGRESS with meta {current, total, status}, RETRY, SUCCESS with the result, FAILURE with an
 *   exception `.get()` raises, REVOKED: the mirror (celery-mirror.ts) follows the bridged tasks' events.
 * - An unknown task, or arguments that do not fit, end FAILURE in the backend naming the task and the
 *   queue; a message that cannot be read goes to the bridge's dead list on the broker with the reason.
 */
import {
  TASK_CATALOGUE,
  compileWorkflow,
  isQueueName,
  parseCanvas,
  routeTask,
  NO_ROUTES,
  type StepSpec,
  type WorkflowAdvancer,
  type WorkflowStore,
  parseQueueId,
  planTask,
  type KeyLayout,
  type Logger,
  type RecordReader,
  type Redis,
  type TaskQueues,
  type TaskOptionsRequest,
  type WorkerKind,
} from '@switchyard/shared';
import type { StreamHub } from '../events/stream-hub.js';
import { CeleryMirror } from './celery-mirror.js';

/** How often the bridge looks at Celery's lists (ms). */
const TICK_MS = 100;
/** Every this many rounds the mirror's sweep (its safety net) runs: about every 5 s. */
const SWEEP_EVERY_TICKS = 50;

export interface BridgeDeps {
  broker: Redis;
  redis: Redis;
  keys: KeyLayout;
  queues: Record<WorkerKind, TaskQueues>;
  reader: RecordReader;
  /** Runs a Celery chain as a Switchyard workflow. */
  workflows: { store: WorkflowStore; advancer: WorkflowAdvancer };
  /** The gateway's event-stream reader, which feeds the mirror. */
  hub: StreamHub;
  logger: Logger;
}

interface Signature {
  task?: unknown;
  args?: unknown;
  kwargs?: unknown;
  immutable?: unknown;
  options?: { task_id?: unknown; queue?: unknown };
}

interface Envelope {
  body?: unknown;
  headers?: Record<string, unknown>;
  properties?: { body_encoding?: string; priority?: number; delivery_info?: { routing_key?: string } };
}

/** The Switchyard queue a Celery queue stands for, or null. */
export function switchyardQueueOf(celeryQueue: string): { kind: WorkerKind; queue: string } | null {
  const [kind, ...rest] = celeryQueue.split('.');
  if (kind !== 'node' && kind !== 'r') return null;
  const queue = rest.length === 0 ? 'default' : rest.join('.');
  return isQueueName(queue) ? { kind, queue } : null;
}

class Unreadable extends Error {}

/**
 * Positional args with Celery's keyword arguments put in place by the task's parameter names;
 * `received` leading parameters are filled by a value handed on (a chain step's), not by `args`.
 */
export function withKeywords(
  params: readonly string[],
  positional: readonly unknown[],
  kwargs: Record<string, unknown>,
  received = 0,
): { args: unknown[]; unknown: string[] } {
  const args = [...positional];
  const unknown: string[] = [];
  for (const [name, value] of Object.entries(kwargs)) {
    const index = params.indexOf(name) - received;
    if (index < 0) unknown.push(name);
    else args[index] = value;
  }
  return { args, unknown };
}

/** A protocol v2 (or v1) message's task id, name, args, kwargs and delivery fields. */
export function readCeleryMessage(raw: string) {
  let envelope: Envelope;
  try {
    envelope = JSON.parse(raw) as Envelope;
  } catch {
    throw new Unreadable('the message is not JSON');
  }
  const headers = envelope.headers ?? {};
  let body: unknown = envelope.body;
  if (typeof body === 'string') {
    const text = envelope.properties?.body_encoding === 'base64' ? Buffer.from(body, 'base64').toString('utf8') : body;
    try {
      body = JSON.parse(text);
    } catch {
      throw new Unreadable('its body is not JSON (only the JSON serializer is supported)');
    }
  }
  if (typeof headers.task === 'string' && typeof headers.id === 'string' && Array.isArray(body)) {
    const [args, kwargs, embed] = body as [unknown, unknown, Record<string, unknown> | undefined];
    if (!Array.isArray(args)) throw new Unreadable('protocol v2 body[0] (args) is not a list');
    return {
      id: headers.id,
      task: headers.task,
      args,
      kwargs: (kwargs ?? {}) as Record<string, unknown>,
      eta: typeof headers.eta === 'string' ? headers.eta : null,
      expires: typeof headers.expires === 'string' ? headers.expires : null,
      /** Celery's [hard, soft] time limits in seconds (its `timelimit` header: time_limit, soft_time_limit). */
      timelimit: Array.isArray(headers.timelimit) ? (headers.timelimit as unknown[]) : [],
      kwargsrepr: typeof headers.kwargsrepr === 'string' ? headers.kwargsrepr : null,
      /** Times Celery has retried it already. */
      retries: typeof headers.retries === 'number' && headers.retries > 0 ? Math.floor(headers.retries) : 0,
      chain: Array.isArray(embed?.chain) && embed.chain.length > 0 ? (embed.chain as Signature[]) : null,
      unsupported: embed && (embed.chord || embed.callbacks || embed.errbacks) ? 'chord, callbacks and errbacks' : null,
      priority: envelope.properties?.priority ?? 0,
      argsrepr: typeof headers.argsrepr === 'string' ? headers.argsrepr : null,
    };
  }
  if (typeof body === 'object' && body !== null && 'task' in body && 'id' in body) {
    const v1 = body as {
      id: unknown;
      task: unknown;
      args?: unknown;
      kwargs?: unknown;
      eta?: unknown;
      expires?: unknown;
    };
    if (typeof v1.id !== 'string' || typeof v1.task !== 'string')
      throw new Unreadable('protocol v1 id or task is not a string');
    return {
      id: v1.id,
      task: v1.task,
      args: Array.isArray(v1.args) ? v1.args : [],
      kwargs: (v1.kwargs ?? {}) as Record<string, unknown>,
      eta: typeof v1.eta === 'string' ? v1.eta : null,
      expires: typeof v1.expires === 'string' ? v1.expires : null,
      timelimit: [],
      kwargsrepr: null,
      retries: 0,
      chain: null,
      unsupported: null,
      priority: envelope.properties?.priority ?? 0,
      argsrepr: null,
    };
  }
  throw new Unreadable('it is neither a protocol v2 nor a protocol v1 task message');
}

export class CeleryBridge {
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private ticks = 0;
  private readonly mirror: CeleryMirror;

  constructor(private readonly deps: BridgeDeps) {
    this.mirror = new CeleryMirror(deps);
  }

  private get inflight() {
    return this.deps.keys.celeryBridge('inflight');
  }
  private get dead() {
    return this.deps.keys.celeryBridge('dead');
  }

  start(): void {
    this.timer = setInterval(() => void this.tick(), TICK_MS);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.mirror.stop();
  }

  /** One round: messages left in flight, then every watched Celery list, now and then the mirror's sweep. */
  async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const { broker } = this.deps;
      for (const raw of await broker.lrange(this.inflight, 0, 99)) await this.bridge(raw);
      for (const list of await this.celeryLists()) {
        for (let i = 0; i < 100; i++) {
          const raw = await broker.lmove(list, this.inflight, 'RIGHT', 'LEFT');
          if (raw === null) break;
          await this.bridge(raw, list);
        }
      }
      if (this.ticks++ % SWEEP_EVERY_TICKS === 0) await this.mirror.sweep();
    } catch (error) {
      this.deps.logger.warn('celery bridge: will try again', { error });
    } finally {
      this.busy = false;
    }
  }

  /** `node`, `r`, and `node.<q>` / `r.<q>` for every Switchyard queue in use. */
  private async celeryLists(): Promise<string[]> {
    const ids = await this.deps.redis.smembers(this.deps.keys.queueSet);
    const named = ids.flatMap((id) => {
      const q = parseQueueId(id);
      return q === null || q.name === 'default' ? [] : [`${q.kind}.${q.name}`];
    });
    return ['node', 'r', ...named];
  }

  private async bridge(raw: string, list?: string): Promise<void> {
    const { broker, logger } = this.deps;
    let message: ReturnType<typeof readCeleryMessage>;
    try {
      message = readCeleryMessage(raw);
    } catch (error) {
      if (!(error instanceof Unreadable)) throw error;
      await broker.lpush(this.dead, JSON.stringify({ reason: error.message, list: list ?? null, message: raw }));
      await broker.lrem(this.inflight, 1, raw);
      logger.warn('celery message dead-lettered', { reason: error.message });
      return;
    }
    const celeryQueue = list ?? (JSON.parse(raw) as Envelope).properties?.delivery_info?.routing_key ?? 'node';
    const target = switchyardQueueOf(celeryQueue);
    const failure = (why: string) =>
      this.mirror.writeMeta(message.id, 'FAILURE', {
        exc_type: 'RuntimeError',
        exc_message: [why],
        exc_module: 'builtins',
      });
    const definition = target ? TASK_CATALOGUE[target.kind][message.task] : undefined;
    if (!target || !definition) {
      await failure(`Switchyard has no ${target?.kind ?? 'such'} task "${message.task}" (Celery queue ${celeryQueue})`);
    } else if (message.unsupported) {
      await failure(`Celery ${message.unsupported} are not supported by the Switchyard bridge yet (chains are)`);
    } else if (message.chain) {
      const why = await this.startChain(message, celeryQueue);
      if (why !== null) await failure(why);
    } else {
      const { args, unknown } = withKeywords(definition.params, message.args, message.kwargs);
      const checked = definition.args.safeParse(args);
      if (unknown.length > 0 || !checked.success) {
        const why =
          unknown.length > 0
            ? `${message.task}() got unexpected keyword arguments: ${unknown.join(', ')} (it takes ${definition.params.join(', ')})`
            : `invalid args for ${message.task}: ${checked.error?.issues.map((i) => `args.${i.path.join('.')} ${i.message}`).join('; ')}`;
        await failure(why);
      } else {
        // kombu's Redis transport takes 0 as the highest priority; Switchyard takes 9.
        const celeryPriority = Number.isFinite(Number(message.priority)) ? Number(message.priority) : 0;
        const options: TaskOptionsRequest = { priority: Math.max(0, Math.min(9, 9 - Math.round(celeryPriority))) };
        if (message.eta && Date.parse(message.eta) > Date.now())
          options.eta = new Date(Date.parse(message.eta)).toISOString();
        if (message.expires) options.expires = new Date(Date.parse(message.expires)).toISOString();
        const [hard, soft] = message.timelimit.map((seconds) =>
          typeof seconds === 'number' && seconds > 0 ? Math.round(seconds * 1000) : undefined,
        );
        if (hard !== undefined) options.time_limit_ms = hard;
        if (soft !== undefined && (hard === undefined || soft <= hard)) options.soft_time_limit_ms = soft;
        const { record, payload } = planTask(target.kind, message.id, {
          task: message.task,
          args,
          queue: target.queue,
          options,
        });
        await this.mirror.track(message.id, target.kind, target.queue);
        const outcome = await this.deps.queues[target.kind].enqueue(record, payload, {
          wake: target.kind === 'r',
          earlierAttempts: message.retries,
        });
        if (outcome === 'queue_full') return; // stays in flight: tried again next round
        logger.info('celery task bridged', {
          task_id: message.id,
          task: message.task,
          queue: celeryQueue,
          argsrepr: message.argsrepr,
        });
      }
    }
    await broker.lrem(this.inflight, 1, raw);
  }

  /**
   * A Celery chain (the first task, then `embed.chain`, which Celery keeps last-first) runs as a
   * Switchyard workflow whose steps keep Celery's task ids, so the producer's AsyncResult (the last
   * task's) resolves. Returns why it cannot run, or null.
   */
  private async startChain(message: ReturnType<typeof readCeleryMessage>, celeryQueue: string): Promise<string | null> {
    const signatures: Signature[] = [
      {
        task: message.task,
        args: message.args,
        kwargs: message.kwargs,
        options: { task_id: message.id, queue: celeryQueue },
      },
      ...[...(message.chain ?? [])].reverse(),
    ];
    const ids: string[] = [];
    const steps: Record<string, unknown>[] = [];
    const places: { kind: WorkerKind; queue: string }[] = [];
    for (const [i, signature] of signatures.entries()) {
      const queue = typeof signature.options?.queue === 'string' ? signature.options.queue : celeryQueue;
      const target = switchyardQueueOf(queue);
      const id = signature.options?.task_id;
      if (!target || typeof signature.task !== 'string' || typeof id !== 'string') {
        return `chain step ${i} (${String(signature.task)}) names no Switchyard queue or task id (Celery queue ${queue})`;
      }
      const definition = TASK_CATALOGUE[target.kind][signature.task];
      // A step that receives the previous result has it in front: its own args start one later.
      const received = i > 0 && signature.immutable !== true ? 1 : 0;
      const { args, unknown } = withKeywords(
        definition?.params ?? [],
        Array.isArray(signature.args) ? (signature.args as unknown[]) : [],
        (signature.kwargs ?? {}) as Record<string, unknown>,
        received,
      );
      if (unknown.length > 0) {
        return `chain step ${i} ${signature.task}() got unexpected keyword arguments: ${unknown.join(', ')}`;
      }
      ids.push(id);
      places.push({ kind: target.kind, queue: target.queue });
      steps.push({
        worker: target.kind,
        task: signature.task,
        args,
        queue: target.queue,
        pass_result: signature.immutable !== true,
      });
    }
    const parsed = parseCanvas({ chain: steps });
    if ('problems' in parsed)
      return `the chain cannot run: ${parsed.problems.map((p) => `${p.field} ${p.message}`).join('; ')}`;
    const { store, advancer } = this.deps.workflows;
    let next = 0;
    // The workflow's id is its first task's: a message taken twice (its bridge died in between)
    // finds its workflow there and starts nothing twice.
    const workflow = compileWorkflow(
      message.id,
      parsed.canvas,
      (step: StepSpec) => routeTask(NO_ROUTES, step.worker, step.task, step.queue),
      () => ids[next++] ?? message.id,
      new Date().toISOString(),
    );
    // Followed before anything is queued, so not one state of a step is missed.
    for (const [i, id] of ids.entries()) {
      const place = places[i];
      if (place) await this.mirror.track(id, place.kind, place.queue);
    }
    if (await store.create(workflow)) {
      await advancer.holdSteps(workflow);
      await advancer.drive(workflow.workflow_id);
    }
    this.deps.logger.info('celery chain bridged as a workflow', {
      workflow_id: workflow.workflow_id,
      steps: ids.length,
    });
    return null;
  }
}
