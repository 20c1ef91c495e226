/**
 * Runs wrk (Debian's `wrk`) against one URL with bench/wrk/request.lua and returns what it measured:
 * requests per second, latency percentiles and how many answers were not 2xx. Bounded: wrk stops
 * itself after `seconds`, and is killed if it has not ended 20 s later.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

const SCRIPT = fileURLToPath(new URL('../wrk/request.lua', import.meta.url));

export interface WrkOptions {
  url: string;
  method?: 'GET' | 'POST';
  /** JSON body sent with every request. */
  body?: string;
  connections: number;
  seconds: number;
  threads?: number;
}

export interface WrkResult {
  requestsPerSecond: number;
  requests: number;
  /** Answers outside 200-299, and socket errors and timeouts. */
  failures: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** The line request.lua prints at the end (times in microseconds). */
const WrkReport = z.object({
  requests: z.number(),
  duration_us: z.number(),
  ok: z.number(),
  not_ok: z.number(),
  connect_errors: z.number(),
  read_errors: z.number(),
  write_errors: z.number(),
  timeouts: z.number(),
  p50_us: z.number(),
  p90_us: z.number(),
  p99_us: z.number(),
  max_us: z.number(),
});

export async function runWrk(options: WrkOptions): Promise<WrkResult> {
  const args = [
    `-t${options.threads ?? 1}`,
    `-c${options.connections}`,
    `-d${options.seconds}s`,
    '--timeout',
    '5s',
    '-s',
    SCRIPT,
    options.url,
  ];
  const child = spawn('wrk', args, {
    env: { ...process.env, WRK_METHOD: options.method ?? 'GET', WRK_BODY: options.body ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), (options.seconds + 20) * 1_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(killer);
  const line = /WRK_RESULT (\{.*\})/.exec(output)?.[1];
  if (code !== 0 || line === undefined) throw new Error(`wrk ${args.join(' ')} failed (exit ${code}):\n${output}`);
  const report = WrkReport.parse(JSON.parse(line));
  const ms = (us: number) => us / 1_000;
  return {
    requestsPerSecond: report.requests / (report.duration_us / 1e6),
    requests: report.requests,
    failures: report.not_ok + report.connect_errors + report.read_errors + report.write_errors + report.timeouts,
    p50Ms: ms(report.p50_us),
    p90Ms: ms(report.p90_us),
    p99Ms: ms(report.p99_us),
    maxMs: ms(report.max_us),
  };
}
