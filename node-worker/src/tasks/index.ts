/** The Node task registry: one implementation for every name in shared's NODE_TASKS. */
import type { NodeTaskName } from '@switchyard/shared';
import { add } from './add.js';
import { factorial } from './factorial.js';
import { longTask } from './long-task.js';
import { matmul } from './matmul.js';
import type { TaskImplementation } from './types.js';

export const TASK_IMPLEMENTATIONS: Record<NodeTaskName, TaskImplementation> = {
  long_task: longTask,
  add,
  factorial,
  matmul,
};

export type { TaskContext, TaskImplementation } from './types.js';
