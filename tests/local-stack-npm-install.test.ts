/**
 * What `npm start` prints while it installs npm dependencies (scripts/lib/prerequisites.mjs
 * ensureNodeModules): its own line and npm's summary, no `npm warn` lines that read like a failure
 * (a first start used to print install-scripts warnings), and npm's errors when the install fails.
 * Run on small projects of their own, offline (the one dependency is a local tarball with an install
 * script), never on the repository's node_modules.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './support/services.js';

const workDir = mkdtempSync(join(tmpdir(), 'switchyard-npm-install-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

/** A package whose postinstall script is the kind npm warns about. */
function packScriptedPackage(): string {
  const source = join(workDir, 'scripted-dep');
  mkdirSync(source, { recursive: true });
  writeFileSync(
    join(source, 'package.json'),
    JSON.stringify({ name: 'scripted-dep', version: '1.0.0', scripts: { postinstall: 'node -e "0"' } }),
  );
  execFileSync('npm', ['pack', '--silent', '--pack-destination', workDir], { cwd: source, stdio: 'ignore' });
  return join(workDir, 'scripted-dep-1.0.0.tgz');
}

function project(name: string, dependencies: Record<string, string>): string {
  const dir = join(workDir, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true, dependencies }));
  return dir;
}

/** Runs ensureNodeModules on `dir` in a process of its own, as start.mjs does on the repository. */
function ensureNodeModulesIn(dir: string): { status: number | null; output: string } {
  const script = `import(${JSON.stringify(`${REPO_ROOT}/scripts/lib/prerequisites.mjs`)})
    .then((m) => m.ensureNodeModules(process.argv[1]))
    .catch((error) => { console.error(error.message); process.exit(1); });`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script, dir], {
    encoding: 'utf8',
    // Offline and without the update check: nothing here needs the network.
    env: { ...process.env, npm_config_offline: 'true', npm_config_update_notifier: 'false' },
    timeout: 120_000,
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('npm dependencies installed by npm start', () => {
  it('installs quietly: its own line, no npm warn lines, even for a package with an install script', () => {
    const dir = project('quiet-install', { 'scripted-dep': `file:${packScriptedPackage()}` });
    const { status, output } = ensureNodeModulesIn(dir);
    expect(status).toBe(0);
    expect(output).toContain('[switchyard] installing npm dependencies');
    expect(output).not.toMatch(/npm warn/i);
    expect(existsSync(join(dir, 'node_modules/scripted-dep/package.json'))).toBe(true);
    // Installed and up to date: a second start installs nothing and says nothing.
    expect(ensureNodeModulesIn(dir)).toEqual({ status: 0, output: '' });
  }, 150_000);

  it("still shows npm's errors, and fails, when the install cannot succeed", () => {
    const missing = join(workDir, 'nowhere', 'missing-1.0.0.tgz');
    const dir = project('failed-install', { missing: `file:${missing}` });
    const { status, output } = ensureNodeModulesIn(dir);
    expect(status).not.toBe(0);
    expect(output).toMatch(/npm error .*ENOENT/);
    expect(output).toContain(missing);
    expect(output).toMatch(/npm install .* failed/);
  }, 150_000);

  it("approves or denies, in package.json's allowScripts, every locked package with install scripts", () => {
    // What keeps the repository's own install free of install-scripts warnings without the log level.
    const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      allowScripts?: Record<string, boolean>;
    };
    const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { hasInstallScript?: boolean; name?: string }>;
    };
    const withScripts = Object.entries(lock.packages)
      .filter(([, entry]) => entry.hasInstallScript)
      .map(([path, entry]) => entry.name ?? path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length));
    expect(withScripts.length).toBeGreaterThan(0);
    expect(withScripts.filter((name) => !(name in (manifest.allowScripts ?? {})))).toEqual([]);
  });
});
