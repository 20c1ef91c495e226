/**
 * The Node task registry: one implementation for every name in shared's NODE_TASKS, each receiving
 * its arguments with the types of its schema, checked again as they arrive (the gateway checked them
 * at submit; arguments may also come from elsewhere, such as an earlier step of a workflow).
 */
import { NODE_TASKS, type NodeTaskName } from '@switchyard/shared';
import type { z } from 'zod';
import { fitReport, makeDataset } from './datasets.js';
import { longTask } from './long-task.js';
import type { TaskContext, TaskImplementation } from './types.js';

export type CheckedTask = (args: unknown[], context: TaskContext) => Promise<unknown>;

/** Binds an implementation to its schema: the arguments are checked, then passed on typed. */
function checked<Schema extends z.ZodType<unknown[]>>(
  schema: Schema,
  implementation: TaskImplementation<z.infer<Schema>>,
): CheckedTask {
  return async (args, context) => {
    const parsed = schema.safeParse(args);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`invalid args${issue ? ` at ${['args', ...issue.path].join('.')}: ${issue.message}` : ''}`);
    }
    return implementation(parsed.data, context);
  };
}

export const TASK_IMPLEMENTATIONS: Record<NodeTaskName, CheckedTask> = {
  long_task: checked(NODE_TASKS.long_task.args, longTask),
  add: checked(NODE_TASKS.add.args, async ([x, y]) => x + y),
  factorial: checked(NODE_TASKS.factorial.args, (args, { runOffThread }) => runOffThread('factorial', args)),
  matmul: checked(NODE_TASKS.matmul.args, (args, { runOffThread }) => runOffThread('matmul', args)),
  make_dataset: checked(NODE_TASKS.make_dataset.args, async ([n, slope, intercept, noise]) =>
    makeDataset(n, slope, intercept, noise),
  ),
  fit_report: checked(NODE_TASKS.fit_report.args, async ([fit]) => fitReport(fit)),
};

/** Runs task `name` on `args` after checking them against its schema (an Error says which and why). */
export function runTask(name: NodeTaskName, args: unknown[], context: TaskContext): Promise<unknown> {
  return TASK_IMPLEMENTATIONS[name](args, context);
}

export type { TaskContext, TaskImplementation } from './types.js';
