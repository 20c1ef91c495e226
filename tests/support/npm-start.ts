/**
 * `npm start` (scripts/start.mjs) run the way a user runs it, on free ports and a data folder of its
 * own, in a process group of its own so a test can send what a terminal's Ctrl-C sends: SIGINT to
 * the whole group.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './redis-server.js';
import { REPO_ROOT } from './services.js';
import { waitFor } from './wait.js';

export interface NpmStartPorts {
  gateway: number;
  redis: number;
  r: number;
}

export interface NpmStart {
  process: ChildProcess;
  ports: NpmStartPorts;
  /** Where Redis keeps its data (SWITCHYARD_DATA_DIR). */
  dataDir: string;
  baseUrl: string;
  /** Everything printed so far, stdout and stderr. */
  output(): string;
  /** Resolves with the exit code once start.mjs ends. */
  exited: Promise<number | null>;
  /** The exit code; fails with what it printed if it is still running after `ms`. */
  exitWithin(ms: number): Promise<number | null>;
  /** Waits (bounded) for the "[switchyard] up:" line. */
  waitUntilUp(timeoutMs?: number): Promise<void>;
  /**
   * Ends it if still running: SIGINT, then SIGKILL to its group after `graceMs`. Removes the data
   * folder if it made it.
   */
  stop(graceMs?: number): Promise<void>;
}

export async function freeStackPorts(): Promise<NpmStartPorts> {
  return { gateway: await freePort(), redis: await freePort(), r: await freePort() };
}

/** A data folder for one test's Redis, instead of the user's .switchyard. */
export function freshDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'switchyard-npm-start-'));
}

export function npmStart(
  env: Record<string, string>,
  { ports, dataDir }: { ports: NpmStartPorts; dataDir?: string },
): NpmStart {
  const ownDataDir = dataDir === undefined;
  const dir = dataDir ?? freshDataDir();
  const child = spawn(process.execPath, ['scripts/start.mjs'], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      PORT: String(ports.gateway),
      REDIS_PORT: String(ports.redis),
      R_PORT: String(ports.r),
      SWITCHYARD_DATA_DIR: dir,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // a process group of its own, as a terminal's foreground job has
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    process: child,
    ports,
    dataDir: dir,
    baseUrl: `http://127.0.0.1:${ports.gateway}`,
    output: () => output,
    exited,
    exitWithin: (ms) =>
      Promise.race([
        exited,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error(`npm start did not stop within ${ms} ms:\n${output}`)), ms),
        ),
      ]),
    async waitUntilUp(timeoutMs = 120_000) {
      await waitFor(
        () => {
          if (!running()) throw new Error(`npm start exited early:\n${output}`);
          return output.includes('[switchyard] up:');
        },
        { timeoutMs, intervalMs: 200, what: `npm start to say up; so far:\n${output.slice(-3_000)}` },
      );
    },
    async stop(graceMs = 60_000) {
      if (running() && child.pid !== undefined) {
        child.kill('SIGINT');
        const timer = setTimeout(() => {
          try {
            process.kill(-child.pid!, 'SIGKILL');
          } catch {
            // gone already
          }
        }, graceMs);
        await exited;
        clearTimeout(timer);
      }
      if (ownDataDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
