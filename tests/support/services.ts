/**
 * Starts Switchyard's own processes (gateway, Node worker) from their TypeScript sources, the way
 * `npm start` runs them but without a build step, and stops them reliably.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface ServiceProcess {
  process: ChildProcess;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  /** Resolves with the exit code (or signal) once the process ends. */
  exited: Promise<number | string>;
  /** Signals the process; SIGKILL reaches its whole process group (the R service's forked children too), as a container stop would. */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/** How each service starts: the TypeScript ones from their sources with tsx, the R one with Rscript. */
const COMMANDS = {
  gateway: [process.execPath, '--conditions=source', '--import', 'tsx', 'gateway/src/main.ts'],
  'node-worker': [process.execPath, '--conditions=source', '--import', 'tsx', 'node-worker/src/main.ts'],
  'r-worker': ['Rscript', 'r-worker/main.R'],
} as const;

export function startService(name: keyof typeof COMMANDS, env: Record<string, string>): ServiceProcess {
  const [command, ...args] = COMMANDS[name];
  const child = spawn(command, args, {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // a process group of its own, so a SIGKILL can take its children with it
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string);
  return {
    process: child,
    output: () => output,
    exited,
    async stop(signal = 'SIGTERM') {
      const kill = (sig: NodeJS.Signals) => {
        if (child.pid === undefined) return;
        try {
          if (sig === 'SIGKILL') process.kill(-child.pid, sig);
          else if (child.exitCode === null && child.signalCode === null) child.kill(sig);
        } catch {
          // already gone
        }
      };
      kill(signal);
      const timer = setTimeout(() => kill('SIGKILL'), 15_000);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
