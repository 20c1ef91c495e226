/**
 * The argument and result types of every task in the catalogue (tasks.ts), as plain TypeScript, for
 * typed callers such as @switchyard/client. The zod schemas in tasks.ts stay the one thing that
 * validates; shared/test/task-types.test.ts fails the type check when a task is added, removed or
 * changes its arguments there without this map following. Types only: nothing here exists at run time.
 */
import type { z } from 'zod';
import type { TaskOptionsRequest } from './options.js';

/** make_dataset's result, and one form of lm_fit's arguments. */
export type Dataset = { y: number[]; predictors: Record<string, number[]> };

/** lm_fit's result, and what fit_report reads. */
export type LinearFit = {
  coefficients: Record<string, number | null>;
  r_squared: number | null;
  adj_r_squared: number | null;
  n: number;
};

/** summary_stats's result; quantiles are named as R names them ("25%"). */
export type SummaryStats = {
  n: number;
  mean: number;
  sd: number | null;
  min: number;
  max: number;
  quantiles: Record<string, number>;
};

export interface TaskSignatures {
  node: {
    long_task: { args: [total: number]; result: number };
    add: { args: [x: number, y: number]; result: number };
    /** The result is a decimal string: n! outgrows a double. */
    factorial: { args: [n: number]; result: string };
    /** The m×m product, as rows. */
    matmul: { args: [m: number, n: number]; result: number[][] };
    make_dataset: {
      args:
        [n: number, slope: number, intercept: number] | [n: number, slope: number, intercept: number, noise: number];
      result: Dataset;
    };
    fit_report: {
      args: [
        fit: {
          coefficients: Record<string, number | null>;
          r_squared: number | null;
          n: number;
          [field: string]: unknown;
        },
      ];
      result: string;
    };
  };
  r: {
    long_task: { args: [total: number]; result: number };
    lm_fit: { args: [y: number[], predictors: Record<string, number[]>] | [dataset: Dataset]; result: LinearFit };
    summary_stats: { args: [values: number[], probs?: number[]]; result: SummaryStats };
  };
}

export type TaskKind = keyof TaskSignatures;
export type TaskNameOf<K extends TaskKind> = keyof TaskSignatures[K] & string;
export type TaskArgsOf<K extends TaskKind, T extends TaskNameOf<K>> = TaskSignatures[K][T] extends {
  args: infer A extends unknown[];
}
  ? A
  : never;
export type TaskResultOf<K extends TaskKind, T extends TaskNameOf<K>> = TaskSignatures[K][T] extends {
  result: infer R;
}
  ? R
  : never;

/** The `options` of an execute request as a caller writes them (defaults not yet filled in). */
export type TaskOptionsInput = z.input<typeof TaskOptionsRequest>;
