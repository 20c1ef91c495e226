/**
 * What the Lua scripts of shared/lua answer, named once for every language (the R worker reads
 * `script_codes` in shared/contracts/rules.json). Scripts return these numbers; `scriptOutcome` turns one into
 * its name, and callers decide what a name means for them, in one place each.
 */
export const SCRIPT_CODES = {
  /** Done. */
  ok: 1,
  /** Cancel: the task is running; its worker was asked to stop it. */
  running: 2,
  /** The caller's lease on the task is gone: another worker owns it now. Nothing changed. */
  lease_lost: -1,
  /** Enqueue: a task with that id exists already. Nothing changed. */
  task_exists: -2,
  /** Enqueue: the queue holds MAX_QUEUE_LENGTH tasks already. Nothing changed. */
  queue_full: -3,
  /** No unfinished task with that id in that queue (finished, or unknown). */
  no_such_task: -4,
  /** Cancel: the task has finished (it is a dead letter). */
  task_finished: -5,
  /** Requeue: the task is not a dead letter of that queue. */
  not_dead_letter: -6,
  /** Requeue: the task's job expired; it can no longer run (it was taken off the dead set). */
  payload_expired: -7,
} as const;

export type ScriptOutcome = keyof typeof SCRIPT_CODES;

const NAME_BY_CODE = new Map<number, ScriptOutcome>(
  (Object.keys(SCRIPT_CODES) as ScriptOutcome[]).map((name) => [SCRIPT_CODES[name], name]),
);

/** The name of a script's answer; throws on a number no script returns (a bug, not a state). */
export function scriptOutcome(reply: unknown): ScriptOutcome {
  const name = NAME_BY_CODE.get(Number(reply));
  if (name === undefined) throw new Error(`a script answered ${String(reply)}, which is not a known code`);
  return name;
}
