/**
 * The task catalogue: every task a caller may name, per worker, with the zod schema of its arguments.
 * The gateway validates requests with these schemas and builds the OpenAPI document from them; the
 * workers implement exactly these names (the R worker checks its list against this one in tests).
 */
import { z } from 'zod';
import { NO_RETRY, type TaskDefaults } from './options.js';
import { ruleOrRequired, wholeNumberBetween } from './rules.js';

/** Bounds that keep one request from exhausting a worker's memory or CPU. */
export const TASK_LIMITS = {
  maxTotal: 10_000,
  maxFactorial: 50_000,
  maxMatrixDim: 200,
  maxSafeAddend: Number.MAX_SAFE_INTEGER,
  maxVectorLength: 100_000,
  maxPredictors: 20,
} as const;

const finite = z.number(ruleOrRequired('must be a number')).refine(Number.isFinite, 'must be a finite number');

const total = wholeNumberBetween(1, TASK_LIMITS.maxTotal).meta({
  description: 'How many steps to count up to; the result is this number.',
  example: 30,
});

const matrixDim = wholeNumberBetween(1, TASK_LIMITS.maxMatrixDim);

const numericVector = (minLength: number) =>
  z
    .array(finite)
    .min(minLength, `must hold at least ${minLength} numbers`)
    .max(TASK_LIMITS.maxVectorLength, `must hold at most ${TASK_LIMITS.maxVectorLength} numbers`);

export interface TaskDefinition {
  readonly description: string;
  /** Retries and time limits unless a request overrides them. */
  readonly defaults: TaskDefaults;
  /** Schema of the positional `args` array. */
  readonly args: z.ZodType<unknown[]>;
  /** The arguments' names, in order: keyword arguments (a Celery producer's kwargs) map onto them. */
  readonly params: readonly string[];
  readonly example: unknown[];
}

const longTask = {
  description:
    'Counts from 1 to `total`, one step per LONG_TASK_STEP_MS, reporting PROGRESS each step; result = total.',
  args: z.tuple([total]),
  example: [5],
  params: ['total'],
  defaults: { max_attempts: 3, backoff: { type: 'exponential', delay_ms: 1_000, jitter: true } },
} satisfies TaskDefinition;

const predictorColumns = z
  .record(
    z.string().regex(/^[A-Za-z][A-Za-z0-9_.]{0,63}$/, 'must be a name of letters, digits, _ or .'),
    numericVector(3),
  )
  .refine((columns) => Object.keys(columns).length >= 1, 'must name at least one predictor column')
  .refine(
    (columns) => Object.keys(columns).length <= TASK_LIMITS.maxPredictors,
    `must name at most ${TASK_LIMITS.maxPredictors} predictor columns`,
  );

/**
 * lm_fit's columns must each hold as many values as y: checked at submit (422 naming the column), with
 * the words the R worker uses when data handed on by a workflow step breaks the rule at run time.
 */
function sameLengthAsY(
  y: readonly number[],
  columns: Record<string, readonly number[]>,
  at: (string | number)[],
  ctx: z.RefinementCtx,
): void {
  for (const [name, values] of Object.entries(columns)) {
    if (values.length === y.length) continue;
    ctx.addIssue({
      code: 'custom',
      path: [...at, name],
      message: `every predictor column must hold as many values as y (${y.length}); ${name} holds ${values.length}`,
    });
    return;
  }
}

/** A data set for lm_fit in one value: what make_dataset returns, so a workflow can hand it on. */
const dataset = z.strictObject({ y: numericVector(3), predictors: predictorColumns });

export const NODE_TASKS = {
  long_task: longTask,
  add: {
    description: 'Adds two numbers.',
    args: z.tuple([finite, finite]),
    example: [4, 6],
    params: ['x', 'y'],
    defaults: NO_RETRY,
  },
  factorial: {
    description: 'n! computed exactly with big integers; the result is a decimal string.',
    args: z.tuple([wholeNumberBetween(0, TASK_LIMITS.maxFactorial)]),
    example: [20],
    params: ['n'],
    defaults: NO_RETRY,
  },
  matmul: {
    description: 'Multiplies a random m×n matrix by a random n×m matrix; the result is the m×m product (rows).',
    args: z.tuple([matrixDim, matrixDim]),
    example: [20, 20],
    params: ['m', 'n'],
    defaults: NO_RETRY,
  },
  make_dataset: {
    description:
      'A data set for lm_fit: n points x = 1..n, y = intercept + slope·x + noise (repeatable pseudo-noise of amplitude `noise`); result {y, predictors: {x}}.',
    args: z.union([
      z.tuple([wholeNumberBetween(3, TASK_LIMITS.maxVectorLength), finite, finite]),
      z.tuple([wholeNumberBetween(3, TASK_LIMITS.maxVectorLength), finite, finite, finite]),
    ]),
    example: [20, 2, 1, 0.5],
    params: ['n', 'slope', 'intercept', 'noise'],
    defaults: NO_RETRY,
  },
  fit_report: {
    description: "One line about a fitted linear model (lm_fit's result): the equation, R² and n.",
    args: z.tuple([
      z.looseObject({
        coefficients: z.record(z.string(), z.number().nullable()),
        r_squared: z.number().nullable(),
        n: z.number(),
      }),
    ]),
    example: [{ coefficients: { '(Intercept)': 0.05, x: 1.99 }, r_squared: 0.998, adj_r_squared: 0.9973, n: 5 }],
    params: ['fit'],
    defaults: NO_RETRY,
  },
} satisfies Record<string, TaskDefinition>;

export const R_TASKS = {
  long_task: longTask,
  lm_fit: {
    description:
      "Fits the linear model y ~ predictors with R's lm(); the result has the coefficients, R² and adjusted R², and n. The data may also come as one data set {y, predictors} (make_dataset's result).",
    args: z.union([
      z
        .tuple([numericVector(3), predictorColumns])
        .superRefine(([y, columns], ctx) => sameLengthAsY(y, columns, [1], ctx)),
      z.tuple([dataset]).superRefine(([data], ctx) => sameLengthAsY(data.y, data.predictors, [0, 'predictors'], ctx)),
    ]),
    example: [[2.1, 3.9, 6.2, 7.8, 10.1], { x: [1, 2, 3, 4, 5] }],
    params: ['y', 'predictors'],
    defaults: NO_RETRY,
  },
  summary_stats: {
    description:
      'Summary statistics of a numeric vector: n, mean, sd, min, max and quantiles (default 0.25, 0.5, 0.75).',
    args: z.tuple([
      numericVector(1),
      z
        .array(z.number().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1'))
        .min(1, 'must hold at least 1 probability')
        .max(99, 'must hold at most 99 probabilities')
        .optional(),
    ]),
    example: [
      [1, 2, 3, 4, 100],
      [0.1, 0.5, 0.9],
    ],
    params: ['values', 'probs'],
    defaults: NO_RETRY,
  },
} satisfies Record<string, TaskDefinition>;

export type WorkerKind = 'node' | 'r';
export const WORKER_KINDS = ['node', 'r'] as const satisfies readonly WorkerKind[];

export const TASK_CATALOGUE: Record<WorkerKind, Record<string, TaskDefinition>> = {
  node: NODE_TASKS,
  r: R_TASKS,
};

export type NodeTaskName = keyof typeof NODE_TASKS;
export type RTaskName = keyof typeof R_TASKS;

export function isNodeTaskName(name: string): name is NodeTaskName {
  return Object.hasOwn(NODE_TASKS, name);
}
