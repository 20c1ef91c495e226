import type { TaskImplementation } from './types.js';

export const add: TaskImplementation = async ([x, y]) => (x as number) + (y as number);
