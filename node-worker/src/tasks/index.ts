/** The Node task registry: one implementation for every name in shared's NODE_TASKS. */
import type { NodeTaskName } from '@switchyard/shared';
import { longTask } from './long-task.js';
import type { TaskImplementation } from './types.js';

export const TASK_IMPLEMENTATIONS: Record<NodeTaskName, TaskImplementation> = {
  long_task: longTask,
  add: async ([x, y]) => (x as number) + (y as number),
  factorial: (args, { runOffThread }) => runOffThread('factorial', args as number[]),
  matmul: (args, { runOffThread }) => runOffThread('matmul', args as number[]),
};

export type { TaskContext, TaskImplementation } from './types.js';
