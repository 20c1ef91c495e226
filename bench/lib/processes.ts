/**
 * The processes a bench starts: the peers in bench/peers/, and Switchyard's gateway and worker from
 * their compiled output (dist/, as `npm start` and the images run them, not through tsx, whose
 * loader thread would add to the memory measured). Each runs in a process group of its own, so a stop
 * takes its children too; a stop is SIGTERM, then SIGKILL after 15 s.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const PEERS_DIR = fileURLToPath(new URL('../peers/', import.meta.url));
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface BenchProcess {
  process: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

export function startProcess(
  command: string,
  args: string[],
  env: Record<string, string>,
  cwd = REPO_ROOT,
): BenchProcess {
  const child = spawn(command, args, {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit');
  return {
    process: child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
      process.kill(-child.pid, 'SIGTERM');
      const timer = setTimeout(() => child.pid !== undefined && process.kill(-child.pid, 'SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * The processes of one process group (a started process and, say, its cluster workers), each with
 * its resident memory and the CPU time it has used so far, from /proc (Linux).
 */
function groupMembers(pgid: number): { rssBytes: number; cpuMicros: number }[] {
  const members: { rssBytes: number; cpuMicros: number }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Fields after the command name (which may hold spaces): state is 3, pgrp 5, utime 14, stime 15, rss 24.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) !== pgid) continue;
      const ticks = Number(fields[11]) + Number(fields[12]);
      members.push({ rssBytes: Number(fields[21]) * PAGE_BYTES, cpuMicros: (ticks * 1e6) / CLOCK_TICKS });
    } catch {
      // the process ended while we looked
    }
  }
  return members;
}

const PAGE_BYTES = 4096;
const CLOCK_TICKS = 100;

/** Resident memory of a process group (a gateway with its workers), summed. */
export function rssBytes(pgid: number): number {
  return groupMembers(pgid).reduce((sum, member) => sum + member.rssBytes, 0);
}

/** CPU time (user + system) a process group has used so far, in microseconds (10 ms resolution). */
export function cpuMicros(pgid: number): number {
  return groupMembers(pgid).reduce((sum, member) => sum + member.cpuMicros, 0);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `url` until it answers 2xx, or throws naming `what` after `timeoutMs`. */
export async function waitForHttp(url: string, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await fetch(url).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return;
    await sleep(200);
  }
  throw new Error(`${what} did not answer ${url} within ${timeoutMs} ms`);
}

/**
 * Runs a bench's `main` and exits: 0 when it ends, 1 when it fails or outlives `limitMs` (then it
 * stops `processes` first, so nothing it started is left behind).
 */
export function runBench(
  file: string,
  limitMs: number,
  main: () => Promise<void>,
  processes: readonly BenchProcess[] = [],
): void {
  const deadline = setTimeout(() => {
    console.error(`bench/${file}: over its time limit; stopping`);
    void Promise.all(processes.map((p) => p.stop())).finally(() => process.exit(1));
  }, limitMs);
  deadline.unref();
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
