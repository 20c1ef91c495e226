/** The pool of threads that run CPU-bound tasks (piscina: queueing, abort = terminate the thread). */
import { Piscina } from 'piscina';
import type { CpuTaskName } from './cpu-thread.js';

export interface CpuPool {
  run(name: CpuTaskName, args: number[], signal: AbortSignal): Promise<unknown>;
  close(): Promise<void>;
}

export function createCpuPool(threads: number): CpuPool {
  const entry = new URL(import.meta.url.endsWith('.ts') ? './cpu-thread.ts' : './cpu-thread.js', import.meta.url);
  const pool = new Piscina({
    filename: entry.href,
    maxThreads: threads,
    minThreads: 0,
    idleTimeout: 30_000,
    // Running from TypeScript sources (tests, tsx): the threads need the same loader.
    execArgv: entry.pathname.endsWith('.ts') ? ['--import', 'tsx'] : [],
  });
  return {
    run: (name, args, signal) => pool.run({ name, args }, { signal }),
    close: () => pool.destroy(),
  };
}
