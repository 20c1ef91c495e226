/**
 * Runs the switchyard command as a user does: the bin wrapper in a child process, and in a real
 * terminal through tmux for what only a terminal shows. It runs the build that `npm start` makes,
 * brought up to date once per test file by `tsc -b cli` (incremental: a stale build is never what
 * gets tested), because compiling the sources with tsx in every one of the many child processes
 * tripled the file's run time.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../../tests/support/services.js';

export const BIN = join(REPO_ROOT, 'cli/bin/switchyard.mjs');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

let built = false;
function ensureBuilt(): void {
  if (built) return;
  const tsc = spawnSync(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-b', 'cli'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  if (tsc.status !== 0) throw new Error(`tsc -b cli failed:\n${tsc.stdout}${tsc.stderr}`);
  built = true;
}

export function cliEnv(env: Record<string, string>): Record<string, string> {
  ensureBuilt();
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env };
}

/** Runs `switchyard ...args` to the end (killed after `timeoutMs`), with only `env` (plus PATH and HOME). */
export async function runSwitchyard(
  args: string[],
  env: Record<string, string>,
  options: { input?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  const child = startSwitchyard(args, env);
  child.stdin?.end(options.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout: collected.get(child)?.stdout ?? '', stderr: collected.get(child)?.stderr ?? '' };
}

const collected = new WeakMap<ChildProcess, { stdout: string; stderr: string }>();

/** Starts `switchyard ...args`; its output so far is in `outputOf(child)`. */
export function startSwitchyard(args: string[], env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, env: cliEnv(env) });
  const output = { stdout: '', stderr: '' };
  collected.set(child, output);
  child.stdout?.on('data', (chunk: Buffer) => (output.stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output.stderr += chunk.toString()));
  return child;
}

export function outputOf(child: ChildProcess): { stdout: string; stderr: string } {
  return collected.get(child) ?? { stdout: '', stderr: '' };
}

/** A tmux server of its own (its own socket), running one command in a terminal of a known size. */
export interface Terminal {
  /** What the terminal shows now, one string per row, trailing blanks trimmed. */
  screen(): string[];
  stop(): void;
}

export function openTerminal(
  command: string[],
  env: Record<string, string>,
  size = { columns: 120, rows: 30 },
): Terminal {
  const socket = join(tmpdir(), `switchyard-cli-${randomUUID().slice(0, 8)}.sock`);
  const tmux = (...args: string[]) =>
    spawnSync('tmux', ['-S', socket, ...args], { env: { ...cliEnv(env), TERM: 'xterm-256color' }, encoding: 'utf8' });
  const quoted = command.map((part) => `'${part.replaceAll("'", "'\\''")}'`).join(' ');
  // The shell stays a moment after the command, so its last screen and exit code can be read.
  const started = tmux(
    'new-session',
    '-d',
    '-x',
    String(size.columns),
    '-y',
    String(size.rows),
    `cd '${REPO_ROOT}' && ${quoted}; echo "EXIT:$?"; sleep 60`,
  );
  if (started.status !== 0) throw new Error(`tmux did not start: ${started.stderr}`);
  return {
    screen: () => {
      const captured = tmux('capture-pane', '-p');
      return captured.stdout.split('\n').map((row) => row.trimEnd());
    },
    stop: () => {
      tmux('kill-server');
    },
  };
}
