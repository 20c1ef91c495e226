/**
 * Entry point of the CPU task threads (piscina). CPU-bound tasks run here, off the worker's event
 * loop, so lease renewal, progress writes and cancellation keep working while they compute, and a
 * hard time limit can stop them by terminating the thread.
 */
import { factorial } from './factorial.js';
import { matmul } from './matmul.js';

export const CPU_TASKS = {
  factorial: (n: number) => factorial(n),
  matmul: (m: number, n: number) => matmul(m, n),
};

export type CpuTaskName = keyof typeof CPU_TASKS;

export default function runCpuTask({ name, args }: { name: CpuTaskName; args: number[] }): unknown {
  return (CPU_TASKS[name] as (...values: number[]) => unknown)(...args);
}
