/** What every command runs with: its output streams, the environment, Ctrl-C, and a client. */
import { SwitchyardClient } from '@switchyard/client';
import { connectionOf } from './options.js';
import type { ProgressSink } from './progress.js';

export interface Io {
  stdout: ProgressSink;
  stderr: ProgressSink;
  env: Record<string, string | undefined>;
  /** Reads all of standard input (for `workflow -`). */
  readStdin(): Promise<string>;
  /** Aborted on Ctrl-C: a wait stops, a tail ends. */
  interrupt: AbortSignal;
}

export const EXIT = {
  ok: 0,
  /** The task (or workflow) failed, was cancelled, or did not finish within --timeout. */
  taskFailed: 1,
  /** The command line is wrong, or the gateway refused the request as invalid (unknown task, bad id). */
  usage: 2,
  /** The gateway could not be reached, refused the API key, or failed. */
  gateway: 3,
  /** Ctrl-C while waiting (128 + SIGINT), as shells report it. */
  interrupted: 130,
} as const;

export interface Context {
  client: SwitchyardClient;
  json: boolean;
  io: Io;
  out(text: string): void;
  err(text: string): void;
}

export function contextOf(values: { url?: string; 'api-key'?: string; json?: boolean }, io: Io): Context {
  const connection = connectionOf(values, io.env);
  return {
    client: new SwitchyardClient({ url: connection.url, apiKey: connection.apiKey }),
    json: values.json === true,
    io,
    out: (text) => io.stdout.write(`${text}\n`),
    err: (text) => io.stderr.write(`${text}\n`),
  };
}
