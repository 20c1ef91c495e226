// Installs what the local stack and the tests need and is missing: npm dependencies, and Debian
// packages (redis-server, R with plumber) when running as root with apt; otherwise it says exactly
// what to install. Plain Node (no dependencies), so it runs before `npm install`.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const say = (line) => process.stdout.write(`[switchyard] ${line}\n`);

function commandExists(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { cwd: ROOT, stdio: 'inherit', ...options });
  if (result.status !== 0)
    throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status ?? result.signal})`);
}

/**
 * Runs `npm install` in `root` when node_modules is missing or older than the lock file. Quiet:
 * npm's warnings (its install-scripts notices read like a failure on a first start; the packages
 * whose scripts we need are approved in package.json's allowScripts) are left out with
 * --loglevel=error, while its errors still show, and a failed install throws.
 */
export function ensureNodeModules(root = ROOT) {
  const marker = `${root}/node_modules/.package-lock.json`;
  const lock = `${root}/package-lock.json`;
  const stale = !existsSync(marker) || (existsSync(lock) && statSync(lock).mtimeMs > statSync(marker).mtimeMs);
  if (!stale) return;
  say('installing npm dependencies');
  run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: root });
}

/** Each need: a check that it is present, and the Debian packages that provide it. */
const NEEDS = {
  redis: { check: () => commandExists('redis-server'), packages: ['redis-server'] },
  r: {
    check: () =>
      commandExists('Rscript') &&
      spawnSync('Rscript', ['-e', 'library(plumber); library(jsonlite)'], { stdio: 'ignore' }).status === 0,
    packages: ['r-base-core', 'r-cran-plumber', 'r-cran-jsonlite'],
  },
  rTests: {
    check: () =>
      commandExists('Rscript') && spawnSync('Rscript', ['-e', 'library(testthat)'], { stdio: 'ignore' }).status === 0,
    packages: ['r-cran-testthat'],
  },
  // tests/celery-gateway.test.ts: a real Celery worker, in Debian's Python (not whichever python3 is first on PATH).
  celery: {
    check: () => spawnSync('/usr/bin/python3', ['-c', 'import celery, redis'], { stdio: 'ignore' }).status === 0,
    packages: ['python3-celery', 'python3-redis'],
  },
  // The dashboard's tests (dashboard/test): a real browser, Debian's chromium driven by playwright-core.
  browser: { check: () => existsSync('/usr/bin/chromium'), packages: ['chromium'] },
  // tests/metrics: Prometheus's own text-format parser (prometheus_client) reads /metrics.
  prometheusParser: {
    check: () => spawnSync('/usr/bin/python3', ['-c', 'import prometheus_client'], { stdio: 'ignore' }).status === 0,
    packages: ['python3-prometheus-client'],
  },
  // npm run bench: wrk drives the gateways, and the seed-style peer (bench/peers/seed-gateway.py) runs
  // in Debian's Python with FastAPI, uvicorn and Celery. Only the benches need these, never npm test.
  benchPeers: {
    check: () =>
      commandExists('wrk') &&
      spawnSync('/usr/bin/python3', ['-c', 'import fastapi, uvicorn, celery, redis'], { stdio: 'ignore' }).status === 0,
    packages: ['wrk', 'python3-fastapi', 'python3-uvicorn', 'python3-celery', 'python3-redis'],
  },
  // tests/deploy: `docker-compose config` validates docker-compose.yml without a Docker engine.
  dockerCompose: {
    check: () => spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0,
    packages: ['docker-compose'],
  },
};

let aptUpdated = false;

/**
 * Installs the Debian packages of every missing need. Returns the needs still missing (when not
 * root or without apt), after saying what to install.
 */
export function ensureSystemPackages(needs) {
  const missing = needs.filter((need) => !NEEDS[need].check());
  if (missing.length === 0) return [];
  const packages = [...new Set(missing.flatMap((need) => NEEDS[need].packages))];
  const canInstall = process.getuid?.() === 0 && commandExists('apt-get');
  if (!canInstall) {
    say(
      `missing: ${packages.join(' ')}. Install them (e.g. sudo apt-get install -y --no-install-recommends ${packages.join(' ')}) and run again.`,
    );
    return missing;
  }
  say(`installing ${packages.join(' ')} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  if (!aptUpdated) {
    run('apt-get', ['update', '-qq'], { env });
    aptUpdated = true;
  }
  run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], { env });
  return missing.filter((need) => !NEEDS[need].check());
}

export function buildTypeScript() {
  say('compiling TypeScript');
  execFileSync(process.execPath, [`${ROOT}/node_modules/typescript/bin/tsc`, '-b'], { cwd: ROOT, stdio: 'inherit' });
}
