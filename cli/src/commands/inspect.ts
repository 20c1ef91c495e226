/** The operator's commands: queues, workers, dead letters (and requeue), and a live tail of events. */
import type { TaskRecord } from '@switchyard/client';
import { EXIT, contextOf } from '../context.js';
import { ago, formatEventLine, table } from '../format.js';
import { UsageError, WORKER_KINDS, kindOf, parseCommand, wholeNumberOption } from '../options.js';
import { GLOBAL_HELP, type Command } from './command.js';

function noPositionals(command: string, positionals: string[]): void {
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals.join(' ')}`, command);
}

export const queuesCommand: Command = {
  name: 'queues',
  summary: 'every queue of both kinds: waiting, active, delayed, dead, paused, consumers',
  help: `Usage: switchyard queues

Lists every queue of both worker kinds with its counts: waiting, active (held by a worker),
delayed (countdown, eta or retry backoff), dead letters, whether it is paused, and live consumers.

${GLOBAL_HELP}`,
  async run(argv, io) {
    const { values, positionals } = parseCommand('queues', argv, {});
    noPositionals('queues', positionals);
    const context = contextOf(values, io);
    const queues = await context.client.queues();
    if (context.json) context.out(JSON.stringify(queues, null, 2));
    else if (queues.length === 0) context.out('No queues yet: submit a task to create one.');
    else {
      const rows = queues.map((q) => [
        q.kind,
        q.name,
        String(q.waiting),
        String(q.active),
        String(q.delayed),
        String(q.dead),
        q.paused ? 'yes' : 'no',
        String(q.consumers),
      ]);
      context.out(table(['KIND', 'QUEUE', 'WAITING', 'ACTIVE', 'DELAYED', 'DEAD', 'PAUSED', 'CONSUMERS'], rows));
    }
    return EXIT.ok;
  },
};

export const workersCommand: Command = {
  name: 'workers',
  summary: 'live workers: kind, host, pid, queues, running tasks, last heartbeat',
  help: `Usage: switchyard workers

Lists the live workers of both kinds: kind, host and pid, the queues they take from, how many
tasks they run of how many they may, and when they last reported.

${GLOBAL_HELP}`,
  async run(argv, io) {
    const { values, positionals } = parseCommand('workers', argv, {});
    noPositionals('workers', positionals);
    const context = contextOf(values, io);
    const workers = await context.client.workers();
    if (context.json) context.out(JSON.stringify(workers, null, 2));
    else if (workers.length === 0) context.out('No live workers.');
    else {
      const rows = workers.map((w) => [
        w.id,
        w.kind,
        w.host,
        String(w.pid),
        w.queues.join(','),
        `${w.running.length}/${w.concurrency}`,
        ago(w.heartbeat_at),
      ]);
      context.out(table(['ID', 'KIND', 'HOST', 'PID', 'QUEUES', 'RUNNING', 'HEARTBEAT'], rows));
    }
    return EXIT.ok;
  },
};

export const deadLettersCommand: Command = {
  name: 'dead-letters',
  summary: 'tasks that failed every attempt; --requeue ID runs one again',
  help: `Usage: switchyard dead-letters [--kind node|r] [--queue NAME] [--limit N]
       switchyard dead-letters --requeue ID

Lists the tasks that failed every attempt, newest first (both kinds unless --kind), or with
--requeue runs one of them again with its attempts reset.

  switchyard dead-letters --kind node --queue default
  switchyard dead-letters --requeue 7d1c8a5e-2f43-4c1b-9a57-0d0c2b6f3e11

  --kind KIND      only node or only r
  --queue NAME     only this queue
  --limit N        at most N per kind (1-1000, default 100)
  --requeue ID     run this dead letter again

${GLOBAL_HELP}`,
  async run(argv, io) {
    const command = 'dead-letters';
    const { values, positionals } = parseCommand(command, argv, {
      kind: { type: 'string' },
      queue: { type: 'string' },
      limit: { type: 'string' },
      requeue: { type: 'string' },
    });
    noPositionals(command, positionals);
    const context = contextOf(values, io);
    const kinds = values.kind === undefined ? WORKER_KINDS : [kindOf(values.kind, command, '--kind')];
    if (values.requeue !== undefined) {
      const kind = values.kind === undefined ? undefined : kindOf(values.kind, command, '--kind');
      await context.client.requeue(values.requeue, { kind });
      context.out(
        context.json
          ? JSON.stringify({ task_id: values.requeue, status: 'created' })
          : `${values.requeue} requeued: it waits in its queue again`,
      );
      return EXIT.ok;
    }
    const limit = wholeNumberOption('limit', values.limit, { min: 1, max: 1_000 }, command);
    const lists = await Promise.all(
      kinds.map((kind) => context.client.deadLetters(kind, { queue: values.queue, limit })),
    );
    const tasks: TaskRecord[] = lists.flatMap((list) => list.tasks);
    if (context.json) {
      context.out(JSON.stringify({ total: lists.reduce((sum, list) => sum + list.total, 0), tasks }, null, 2));
    } else if (tasks.length === 0) context.out('No dead letters.');
    else {
      const rows = tasks.map((t) => [
        t.task_id,
        t.worker,
        t.queue,
        t.task,
        `${t.attempts}/${t.max_attempts}`,
        ago(t.finished_at),
        t.error ?? '',
      ]);
      context.out(table(['ID', 'KIND', 'QUEUE', 'TASK', 'ATTEMPTS', 'FAILED', 'ERROR'], rows));
    }
    return EXIT.ok;
  },
};

export const tailCommand: Command = {
  name: 'tail',
  summary: 'live task events of a queue, one line each, until Ctrl-C',
  help: `Usage: switchyard tail [--queue NAME] [--kind node|r]

Prints every change of every task in the matching queues as it happens, one line each: time,
kind/queue, task id, task, state, progress and status (or error). Runs until Ctrl-C. With --json,
one record (JSON) a line.

  switchyard tail --queue default
  switchyard tail --kind r --json | jq -c 'select(.state == "FAILURE")'

  --queue NAME     only queues of this name (default: every queue)
  --kind KIND      only node or only r (default: both)

${GLOBAL_HELP}`,
  async run(argv, io) {
    const command = 'tail';
    const { values, positionals } = parseCommand(command, argv, {
      queue: { type: 'string' },
      kind: { type: 'string' },
    });
    noPositionals(command, positionals);
    const context = contextOf(values, io);
    const kind = values.kind === undefined ? undefined : kindOf(values.kind, command, '--kind');
    const what = `${values.queue === undefined ? 'every queue' : `queue ${values.queue}`} of ${kind ?? 'both kinds'}`;
    if (!context.json) context.err(`Watching ${what}; Ctrl-C to stop.`);
    try {
      for await (const event of context.client.events({ kind, queue: values.queue, signal: io.interrupt })) {
        context.out(context.json ? JSON.stringify(event.record) : formatEventLine(event.record));
      }
    } catch (error) {
      if (io.interrupt.aborted) return EXIT.ok;
      throw error;
    }
    return EXIT.ok;
  },
};
