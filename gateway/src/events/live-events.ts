/**
 * Live events of a task, of queues, and of a workflow, from the event streams the queue scripts write
 * (shared/lua/includes/events.lua) and the workflow compare-and-set writes: nothing here polls.
 *
 * - A task's events start with its current record, then every change; they end after its terminal
 *   state. With Last-Event-ID they replay what came after that id instead, and still end with the
 *   terminal state even if its entry was trimmed away.
 * - Queue events are every task change of the chosen queues (new queues join as they appear).
 * - A workflow's events are its view (GET /workflows/{id}) at once and after each change, and its
 *   steps' task events; they end once the workflow has ended.
 */
import {
  decodeRecord,
  isTerminal,
  isWorkflowFinished,
  parseQueueId,
  SwitchyardError,
  type KeyLayout,
  type RecordReader,
  type Redis,
  type TaskRecord,
  type WorkerKind,
  type WorkflowStore,
} from '@switchyard/shared';
import type { EventStream } from './sse.js';
import { compareStreamIds, type StreamEntry, type StreamHub } from './stream-hub.js';

/** How often a queue-events stream looks for queues created since it opened. */
const NEW_QUEUE_SCAN_MS = 5_000;

export interface LiveEventsDeps {
  redis: Redis;
  keys: KeyLayout;
  reader: RecordReader;
  hub: StreamHub;
  store: WorkflowStore;
  /** The body of GET /workflows/{id}. */
  workflowView(workflowId: string): Promise<unknown>;
}

function recordOf(entry: StreamEntry): TaskRecord | null {
  const bytes = entry.fields.get('record');
  return bytes && entry.task !== undefined ? decodeRecord(entry.task, bytes) : null;
}

/** An event written before `snapshot` was read, which would show an older state after it. */
function isStale(record: TaskRecord, snapshot: TaskRecord): boolean {
  if (record.updated_at !== snapshot.updated_at) return record.updated_at < snapshot.updated_at;
  return record.state === snapshot.state && record.current === snapshot.current;
}

/** Where a multi-stream client resumes: every stream from the millisecond before its last id (ids are per stream). */
function resumePoint(lastEventId: string): string {
  const ms = Number(lastEventId.split('-')[0]);
  return Number.isFinite(ms) && ms > 0 ? `${ms - 1}-99999999` : '0-0';
}

export function createLiveEvents(deps: LiveEventsDeps) {
  const { redis, keys, reader, hub, store } = deps;

  async function locateTask(taskId: string): Promise<{ kind: string; queue: string }> {
    const where = await reader.locate(taskId);
    if (where === null) {
      throw new SwitchyardError('task_not_found', `No task with id ${taskId}: it never existed or its record expired`);
    }
    return where;
  }

  async function taskEvents(taskId: string, lastEventId: string | undefined, out: EventStream): Promise<void> {
    const where = await locateTask(taskId);
    const events = keys.queue(where.kind, where.queue).events;
    const from = lastEventId ?? (await hub.latestId(events));
    let snapshot: TaskRecord | null = null;
    let ready = false;
    const early: { id: string; record: TaskRecord }[] = [];
    const emit = (id: string, record: TaskRecord) => {
      out.send(id, record.state, record);
      if (isTerminal(record.state)) out.end();
    };
    const unsubscribe = await hub.subscribe(
      events,
      from,
      (entry) => {
        const record = recordOf(entry);
        if (record === null) return;
        if (ready) emit(entry.id, record);
        else early.push({ id: entry.id, record });
      },
      taskId,
    );
    out.onClose(unsubscribe);
    if (lastEventId === undefined) {
      snapshot = await reader.read(taskId);
      if (snapshot === null) return out.end();
      emit(from, snapshot);
    }
    ready = true;
    for (const { id, record } of early) {
      if (out.closed) return;
      if (snapshot === null || !isStale(record, snapshot)) emit(id, record);
    }
    if (!out.closed && lastEventId !== undefined) {
      // Resumed: if the task ended meanwhile and its entry is gone from the stream, say so now.
      const now = await reader.read(taskId);
      if (now !== null && isTerminal(now.state)) emit(await hub.latestId(events), now);
    }
  }

  async function queueIds(kind: WorkerKind | undefined, queue: string | undefined): Promise<string[]> {
    const ids = await redis.smembers(keys.queueSet);
    return ids.filter((id) => {
      const parsed = parseQueueId(id);
      return (
        parsed !== null &&
        (kind === undefined || parsed.kind === kind) &&
        (queue === undefined || parsed.name === queue)
      );
    });
  }

  async function queueEvents(
    filter: { kind?: WorkerKind; queue?: string },
    lastEventId: string | undefined,
    out: EventStream,
  ): Promise<void> {
    const watched = new Map<string, () => void>();
    const watch = async (queueId: string, afterId: string) => {
      const parsed = parseQueueId(queueId);
      if (parsed === null || watched.has(queueId) || out.closed) return;
      watched.set(queueId, () => undefined);
      const unsubscribe = await hub.subscribe(keys.queue(parsed.kind, parsed.name).events, afterId, (entry) => {
        const record = recordOf(entry);
        if (record !== null) out.send(entry.id, record.state, record);
      });
      if (out.closed) return unsubscribe();
      watched.set(queueId, unsubscribe);
    };
    const from = lastEventId === undefined ? undefined : resumePoint(lastEventId);
    const watchAll = async (afterId: (queueId: string) => Promise<string>) => {
      for (const id of await queueIds(filter.kind, filter.queue)) {
        if (!watched.has(id)) await watch(id, await afterId(id));
      }
    };
    const latestOf = async (queueId: string) => {
      const parsed = parseQueueId(queueId);
      return parsed === null ? '0-0' : hub.latestId(keys.queue(parsed.kind, parsed.name).events);
    };
    // A queue that appears later is read from its start: its first tasks came after this stream opened.
    const scan = setInterval(() => void watchAll(async () => '0-0').catch(() => undefined), NEW_QUEUE_SCAN_MS);
    scan.unref();
    out.onClose(() => {
      clearInterval(scan);
      for (const unsubscribe of watched.values()) unsubscribe();
    });
    await watchAll(async (id) => from ?? (await latestOf(id)));
    // A named queue no task has used yet is watched too, so its first tasks are seen.
    if (filter.kind !== undefined && filter.queue !== undefined) await watch(`${filter.kind}:${filter.queue}`, '0-0');
  }

  async function workflowEvents(workflowId: string, out: EventStream): Promise<void> {
    const stored = await store.read(workflowId);
    if (stored === null) {
      throw new SwitchyardError('task_not_found', `No workflow with id ${workflowId}: it never existed or it expired`);
    }
    const streams = new Set<string>();
    for (const node of stored.workflow.nodes) {
      if (node.step) streams.add(keys.queue(node.step.worker, node.step.queue).events);
    }
    const changes = keys.workflowEvents(workflowId);
    const starts = new Map<string, string>();
    for (const stream of [changes, ...streams]) starts.set(stream, await hub.latestId(stream));
    let lastId = starts.get(changes) ?? '0-0';
    const sendView = async (id: string) => {
      const [view, now] = await Promise.all([deps.workflowView(workflowId), store.read(workflowId)]);
      if (compareStreamIds(id, lastId) > 0) lastId = id;
      out.send(lastId, 'workflow', view);
      if (now === null || isWorkflowFinished(now.workflow)) out.end();
    };
    const unsubscribers: (() => void)[] = [];
    out.onClose(() => unsubscribers.forEach((unsubscribe) => unsubscribe()));
    // Step events that come while the streams are being joined wait for the first view: it goes first.
    let ready = false;
    const early: { id: string; record: TaskRecord }[] = [];
    const sendStep = (id: string, record: TaskRecord) => {
      if (compareStreamIds(id, lastId) > 0) lastId = id;
      out.send(id, record.state, record);
    };
    for (const stream of streams) {
      unsubscribers.push(
        await hub.subscribe(stream, starts.get(stream) ?? '0-0', (entry) => {
          const record = recordOf(entry);
          if (record?.workflow_id !== workflowId) return;
          if (ready) sendStep(entry.id, record);
          else early.push({ id: entry.id, record });
        }),
      );
    }
    unsubscribers.push(await hub.subscribe(changes, lastId, (entry) => void sendView(entry.id).catch(() => out.end())));
    if (out.closed) return;
    await sendView(lastId);
    ready = true;
    for (const { id, record } of early.splice(0)) if (!out.closed) sendStep(id, record);
  }

  return { taskEvents, queueEvents, workflowEvents, locateTask };
}

export type LiveEvents = ReturnType<typeof createLiveEvents>;
