// `npm test`: installs what the tests need when missing, then runs every test: the vitest suites
// (TypeScript: unit, in-process HTTP, real Redis, end to end with real processes) and the R
// worker's testthat suite. Ends with one line "tests: N passed, N failed".
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { ROOT, ensureNodeModules, ensureSystemPackages } from './lib/prerequisites.mjs';

ensureNodeModules();
const missing = ensureSystemPackages(['redis', 'r', 'rTests', 'celery', 'browser', 'prometheusParser']);
if (missing.length > 0) {
  console.error(`[switchyard] cannot run the tests without: ${missing.join(', ')}`);
  process.exit(1);
}

mkdirSync(`${ROOT}/.switchyard`, { recursive: true });
const vitestReport = `${ROOT}/.switchyard/vitest-report.json`;
const extraArgs = process.argv.slice(2);
const vitest = spawnSync(
  process.execPath,
  [
    `${ROOT}/node_modules/vitest/vitest.mjs`,
    'run',
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${vitestReport}`,
    ...extraArgs,
  ],
  { cwd: ROOT, stdio: 'inherit' },
);

let passed = 0;
let failed = 0;
if (existsSync(vitestReport)) {
  const report = JSON.parse(readFileSync(vitestReport, 'utf8'));
  passed += report.numPassedTests;
  failed += report.numFailedTests;
}
if (vitest.status !== 0 && failed === 0) failed += 1; // vitest itself failed (e.g. a file did not load)

let rStatus = 0;
if (extraArgs.length === 0 && existsSync(`${ROOT}/r-worker/tests/run.R`)) {
  const r = spawnSync('Rscript', ['r-worker/tests/run.R'], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  process.stdout.write(r.stdout ?? '');
  rStatus = r.status ?? 1;
  const summary = /R: (\d+) passed, (\d+) failed/.exec(r.stdout ?? '');
  if (summary) {
    passed += Number(summary[1]);
    failed += Number(summary[2]);
  } else if (rStatus !== 0) failed += 1;
}

console.log(`tests: ${passed} passed, ${failed} failed`);
process.exit(vitest.status === 0 && rStatus === 0 && failed === 0 ? 0 : 1);
