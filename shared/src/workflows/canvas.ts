/**
 * Workflow canvases (Celery's canvas): a step, a chain of nodes (each result put in front of the next
 * node's arguments), a group of nodes run in parallel (its result the list of theirs, in order), and a
 * chord (a group whose list of results goes to a body). Nodes nest. `parseCanvas` checks a canvas
 * before anything is queued and names each problem by its path (`chain.2.args.0`).
 */
import { z } from 'zod';
import { QUEUE_NAME_PATTERN, QUEUE_NAME_RULE } from '../keys.js';
import { TaskOptionsRequest } from '../options.js';
import { TASK_CATALOGUE, WORKER_KINDS, type WorkerKind } from '../tasks.js';

export const CANVAS_LIMITS = {
  /** Steps in one workflow, at most. */
  maxSteps: 100,
  /** Nesting of chains, groups and chords, at most. */
  maxDepth: 8,
} as const;

export interface StepSpec {
  worker: WorkerKind;
  task: string;
  args: unknown[];
  queue?: string;
  options?: TaskOptionsRequest;
  /** false: this step does not receive the result of what comes before it. */
  pass_result: boolean;
  /** `continue` (group and chord header members only): a failure fills its slot with its error instead of failing the workflow. */
  on_failure: 'fail' | 'continue';
}

export type Canvas =
  StepSpec | { chain: Canvas[] } | { group: Canvas[] } | { chord: { header: Canvas[]; body: Canvas } };

export interface FieldProblem {
  field: string;
  message: string;
}

const StepSchema = z.strictObject({
  worker: z.enum(WORKER_KINDS, { error: `must be one of: ${WORKER_KINDS.join(', ')}` }),
  task: z.string({ error: 'must be a task name' }),
  args: z.array(z.unknown(), { error: 'must be an array' }).default([]),
  queue: z.string({ error: QUEUE_NAME_RULE }).regex(QUEUE_NAME_PATTERN, QUEUE_NAME_RULE).optional(),
  options: TaskOptionsRequest.optional(),
  pass_result: z.boolean({ error: 'must be true or false' }).default(true),
  on_failure: z.enum(['fail', 'continue'], { error: 'must be fail or continue' }).default('fail'),
});

/** Where a node sits: what it receives, and whether `on_failure: continue` may apply to it. */
interface Position {
  path: string;
  depth: number;
  /** It receives the result of what came before it (or its group's input). */
  receives: boolean;
  /** It is a direct member of a group or a chord header. */
  inGroup: boolean;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const join = (path: string, part: string | number) => (path === '' ? String(part) : `${path}.${part}`);

/** Checks `input` as a canvas: the canvas, or every problem with its path. */
export function parseCanvas(input: unknown): { canvas: Canvas } | { problems: FieldProblem[] } {
  const problems: FieldProblem[] = [];
  let steps = 0;
  const problem = (field: string, message: string) => {
    problems.push({ field: field === '' ? '(body)' : field, message });
  };

  const list = (value: unknown, at: Position, what: string): Canvas[] | null => {
    if (!Array.isArray(value)) return (problem(at.path, `must be an array of ${what}`), null);
    if (value.length === 0) return (problem(at.path, `must hold at least 1 ${what.replace(/s$/, '')}`), null);
    return value as unknown[] as Canvas[];
  };

  const node = (value: unknown, at: Position): Canvas | null => {
    if (at.depth > CANVAS_LIMITS.maxDepth)
      return (problem(at.path, `nests deeper than ${CANVAS_LIMITS.maxDepth} levels`), null);
    if (!isObject(value))
      return (problem(at.path, 'must be a step, {"chain": [...]}, {"group": [...]} or {"chord": {...}}'), null);
    const forms = ['chain', 'group', 'chord'].filter((form) => form in value);
    if (forms.length > 1 || (forms.length === 1 && Object.keys(value).length > 1)) {
      return (problem(at.path, 'must have exactly one of chain, group or chord'), null);
    }
    const deeper = (part: string | number, receives: boolean, inGroup: boolean): Position => ({
      path: join(at.path, part),
      depth: at.depth + 1,
      receives,
      inGroup,
    });
    if ('chain' in value) {
      const members = list(value.chain, deeper('chain', at.receives, false), 'steps');
      if (!members) return null;
      const parsed = members.map((member, i) => node(member, deeper(`chain.${i}`, i > 0 || at.receives, false)));
      return parsed.every((n): n is Canvas => n !== null) ? { chain: parsed } : null;
    }
    if ('group' in value) {
      const members = list(value.group, deeper('group', at.receives, false), 'steps');
      if (!members) return null;
      const parsed = members.map((member, i) => node(member, deeper(`group.${i}`, at.receives, true)));
      return parsed.every((n): n is Canvas => n !== null) ? { group: parsed } : null;
    }
    if ('chord' in value) {
      const chord = value.chord;
      if (!isObject(chord)) return (problem(join(at.path, 'chord'), 'must be {"header": [...], "body": step}'), null);
      for (const extra of Object.keys(chord).filter((k) => k !== 'header' && k !== 'body')) {
        problem(join(at.path, `chord.${extra}`), 'is not an allowed field');
      }
      const members = list(chord.header, deeper('chord.header', at.receives, false), 'steps');
      if (!('body' in chord)) problem(join(at.path, 'chord.body'), 'is required');
      if (!members || !('body' in chord)) return null;
      const header = members.map((member, i) => node(member, deeper(`chord.header.${i}`, at.receives, true)));
      const body = node(chord.body, deeper('chord.body', true, false));
      return header.every((n): n is Canvas => n !== null) && body ? { chord: { header, body } } : null;
    }
    return step(value, at);
  };

  const step = (value: Record<string, unknown>, at: Position): StepSpec | null => {
    steps++;
    const parsed = StepSchema.safeParse(value);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const field =
          issue.code === 'unrecognized_keys'
            ? issue.keys.map((k) => join(at.path, k))
            : [join(at.path, issue.path.join('.'))];
        for (const f of field)
          problem(f, issue.code === 'unrecognized_keys' ? 'is not an allowed field' : issue.message);
      }
      return null;
    }
    const spec = parsed.data;
    const catalogue = TASK_CATALOGUE[spec.worker];
    const definition = Object.hasOwn(catalogue, spec.task) ? catalogue[spec.task] : undefined;
    if (!definition) {
      problem(join(at.path, 'task'), `must be a ${spec.worker} task: one of ${Object.keys(catalogue).join(', ')}`);
      return null;
    }
    if (spec.on_failure === 'continue' && !at.inGroup) {
      problem(join(at.path, 'on_failure'), 'continue is only for a member of a group or of a chord header');
    }
    const receives = at.receives && spec.pass_result;
    checkKnownArgs(definition.args, spec.args, receives, join(at.path, 'args'), problem);
    const out: StepSpec = {
      worker: spec.worker,
      task: spec.task,
      args: spec.args,
      pass_result: spec.pass_result,
      on_failure: spec.on_failure,
    };
    if (spec.queue !== undefined) out.queue = spec.queue;
    if (spec.options !== undefined) out.options = spec.options;
    return out;
  };

  const canvas = node(input, { path: '', depth: 1, receives: false, inGroup: false });
  if (steps > CANVAS_LIMITS.maxSteps)
    problem('(body)', `must hold at most ${CANVAS_LIMITS.maxSteps} steps (it holds ${steps})`);
  if (problems.length > 0 || canvas === null) return { problems };
  if (!('chain' in canvas || 'group' in canvas || 'chord' in canvas)) {
    return {
      problems: [{ field: '(body)', message: 'must be {"chain": [...]}, {"group": [...]} or {"chord": {...}}' }],
    };
  }
  return { canvas };
}

/**
 * Checks the arguments known up front. A step that receives a result gets it in front of its args,
 * so its args are checked against the task's argument list after the first; the one received is
 * checked by the worker when it arrives.
 */
function checkKnownArgs(
  schema: z.ZodType<unknown[]>,
  args: unknown[],
  receives: boolean,
  field: string,
  problem: (field: string, message: string) => void,
) {
  // The argument lists the task accepts (a union offers several, e.g. lm_fit's two forms), each
  // without its first item when the step receives that item from what comes before it.
  const forms: readonly unknown[] = schema instanceof z.ZodUnion ? schema.options : [schema];
  const targets: z.ZodType[] = [];
  for (const form of forms) {
    if (!(form instanceof z.ZodType)) return;
    if (!receives) targets.push(form);
    else if (form instanceof z.ZodTuple) targets.push(z.tuple(form.def.items.slice(1) as [z.ZodType, ...z.ZodType[]]));
    else return; // not a fixed list: nothing can be said before the value arrives
  }
  const attempts = targets.map((target) => target.safeParse(args));
  if (attempts.some((attempt) => attempt.success)) return;
  // None fits: report against the first form, the one the task documents.
  const first = attempts[0];
  if (!first || first.success) return;
  for (const issue of first.error.issues) {
    const at = issue.path.length > 0 ? `${field}.${issue.path.join('.')}` : field;
    const ofArgs = issue.path.length === 0;
    const message =
      ofArgs && issue.code === 'too_big' && issue.origin === 'array'
        ? `must have at most ${String(issue.maximum)} items${receives ? ' besides the result it receives' : ''}`
        : ofArgs && issue.code === 'too_small' && issue.origin === 'array'
          ? `must have at least ${String(issue.minimum)} items${receives ? ' besides the result it receives' : ''}`
          : issue.code === 'invalid_type' && issue.message.startsWith('Invalid input')
            ? `must be ${issue.expected === 'record' || issue.expected === 'object' ? 'an object' : `a ${issue.expected}`}`
            : issue.message;
    problem(at, message);
  }
}
