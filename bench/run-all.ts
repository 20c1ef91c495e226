/**
 * `npm run bench`: every bench in turn, each a child process with its own time limit, its output
 * shown as it comes; queue-throughput's table is also kept in bench/results/queue-throughput.txt
 * (the other benches write their own results/*.json). Then chart.ts draws bench/chart.svg.
 * BENCHES=gateway,memory runs a subset. Exits non-zero if any bench failed, after running the rest.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { buildTypeScript } from '../scripts/lib/prerequisites.mjs';
import { REPO_ROOT } from './lib/processes.js';
import { RESULTS_DIR } from './lib/report.js';

/** Each bench and the longest it may take (its own limits are tighter; this catches a hang). */
const BENCHES = {
  'queue-throughput': 15 * 60,
  'sse-streams': 5 * 60,
  gateway: 10 * 60,
  'r-service': 15 * 60,
  memory: 10 * 60,
  'cost-growth': 40 * 60,
} as const;

type Bench = keyof typeof BENCHES;
const isBench = (name: string): name is Bench => name in BENCHES;

function run(bench: Bench): Promise<{ ok: boolean; output: string }> {
  // Switchyard's code runs compiled (dist/, built once below), as production runs it; tsx compiles
  // only the bench files themselves.
  const child = spawn(process.execPath, ['--import', 'tsx', `bench/${bench}.ts`], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    process.stdout.write(chunk);
  });
  const timer = setTimeout(() => child.kill('SIGTERM'), BENCHES[bench] * 1_000);
  return new Promise((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ ok: code === 0, output });
    }),
  );
}

async function main(): Promise<void> {
  const chosen = (process.env.BENCHES ?? Object.keys(BENCHES).join(',')).split(',').filter(Boolean);
  const unknown = chosen.filter((name) => !isBench(name));
  if (unknown.length > 0)
    throw new Error(`BENCHES: no bench named ${unknown.join(', ')}; known: ${Object.keys(BENCHES).join(', ')}`);
  buildTypeScript();
  const failed: string[] = [];
  for (const bench of chosen.filter(isBench)) {
    console.log(`\n=== bench/${bench}.ts`);
    const { ok, output } = await run(bench);
    if (!ok) failed.push(bench);
    if (ok && bench === 'queue-throughput') {
      mkdirSync(RESULTS_DIR, { recursive: true });
      writeFileSync(`${RESULTS_DIR}queue-throughput.txt`, output);
    }
  }
  const chart = await new Promise<number | null>((resolve) =>
    spawn(process.execPath, ['--import', 'tsx', 'bench/chart.ts'], { cwd: REPO_ROOT, stdio: 'inherit' }).on(
      'close',
      resolve,
    ),
  );
  if (chart !== 0) failed.push('chart');
  if (failed.length > 0) {
    console.error(`\nfailed: ${failed.join(', ')}`);
    process.exit(1);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
