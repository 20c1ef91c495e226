/**
 * The three Dockerfiles: valid (dockerfile-utils), and built the way the project promises: multi-stage,
 * non-root, a HEALTHCHECK, compiled JavaScript with production dependencies only, an init process for
 * the R worker, and COPY sources that exist and survive .dockerignore. Each rule also gets a broken
 * Dockerfile, to prove the check notices.
 */
import { describe, expect, it } from 'vitest';
import {
  checkCopySources,
  checkImageBasics,
  checkNodeImage,
  checkRImage,
  lintDockerfile,
  parseDockerfile,
  readDockerfile,
} from './support/dockerfiles.js';
import { SERVICES, readRepoFile, type ServiceName } from './support/repo.js';

const dockerignore = readRepoFile('.dockerignore');

function packageMain(workspace: string): string {
  const { main } = JSON.parse(readRepoFile(`${workspace}/package.json`)) as { main?: string };
  if (!main) throw new Error(`${workspace}/package.json has no main`);
  return main;
}

function checkService(service: ServiceName, text?: string, ignoreRules = dockerignore): string[] {
  const dockerfile = text === undefined ? readDockerfile(service) : parseDockerfile(`${service}/Dockerfile`, text);
  return [
    ...lintDockerfile(dockerfile),
    ...checkImageBasics(dockerfile),
    ...checkCopySources(dockerfile, ignoreRules),
    ...(service === 'r-worker'
      ? checkRImage(dockerfile, ignoreRules)
      : checkNodeImage(dockerfile, service, packageMain(service), ignoreRules)),
  ];
}

/** The service's Dockerfile with `from` replaced by `to` (which must change something). */
function mutated(service: ServiceName, from: string | RegExp, to: string): string {
  const text = readRepoFile(`${service}/Dockerfile`);
  const changed = text.replace(from, to);
  if (changed === text) throw new Error(`${String(from)} not found in ${service}/Dockerfile`);
  return changed;
}

describe.each(SERVICES)('%s/Dockerfile', (service) => {
  it('passes dockerfile-utils and every image rule', () => {
    expect(checkService(service)).toEqual([]);
  });
});

describe('the Dockerfile checks catch', () => {
  it('a syntax error dockerfile-utils reports', () => {
    expect(checkService('gateway', mutated('gateway', 'EXPOSE 9000', 'EXPOSE 9000/tcpx'))).toContainEqual(
      expect.stringMatching(/gateway\/Dockerfile:\d+: Invalid proto: tcpx/),
    );
  });

  it('an image that runs as root', () => {
    expect(checkService('node-worker', mutated('node-worker', /^USER .*$/m, 'USER root'))).toContainEqual(
      expect.stringContaining('runs as root (USER root)'),
    );
    expect(checkService('r-worker', mutated('r-worker', /^USER .*$/m, ''))).toContainEqual(
      expect.stringContaining('runs as root (no USER)'),
    );
  });

  it('an image without a HEALTHCHECK', () => {
    expect(checkService('gateway', mutated('gateway', /^HEALTHCHECK (.*\\\n)*.*$/m, ''))).toContainEqual(
      expect.stringContaining('no HEALTHCHECK'),
    );
  });

  it('a single-stage build', () => {
    const text = `FROM node:20-bookworm-slim\nUSER 1000\nHEALTHCHECK CMD true\nCMD ["node", "gateway/dist/main.js"]\n`;
    expect(checkService('gateway', text)).toContainEqual(expect.stringContaining('not multi-stage'));
  });

  it('an Alpine base', () => {
    expect(checkService('gateway', mutated('gateway', 'node:20-bookworm-slim', 'node:20-alpine'))).toContainEqual(
      expect.stringContaining('is Alpine'),
    );
  });

  it('TypeScript at run time instead of the compiled entry point', () => {
    const text = mutated(
      'gateway',
      'CMD ["node", "gateway/dist/main.js"]',
      'CMD ["npx", "tsx", "gateway/src/main.ts"]',
    );
    expect(checkService('gateway', text)).toContainEqual(
      expect.stringContaining('must run `node gateway/dist/main.js`'),
    );
  });

  it('development dependencies in the image', () => {
    const text = mutated('node-worker', /npm ci --omit=dev /, 'npm ci ');
    expect(checkService('node-worker', text)).toContainEqual(
      expect.stringContaining('node_modules come from a stage that does not install with --omit=dev'),
    );
  });

  it('a missing runtime file of @switchyard/shared (the Lua scripts)', () => {
    const text = mutated('node-worker', /^COPY shared\/lua\/ shared\/lua\/$/m, '');
    expect(checkService('node-worker', text)).toContainEqual(expect.stringContaining('does not copy shared/lua'));
  });

  it('a COPY source that does not exist, or that .dockerignore excludes', () => {
    const missing = mutated('gateway', 'COPY shared/lua/ shared/lua/', 'COPY shared/scripts-lua/ shared/lua/');
    expect(checkService('gateway', missing)).toContainEqual(
      expect.stringContaining('shared/scripts-lua/ does not exist'),
    );
    const excluded = mutated('gateway', 'COPY shared/lua/ shared/lua/', 'COPY shared/lua/ docs/ shared/lua/');
    expect(checkService('gateway', excluded)).toContainEqual(
      expect.stringContaining('every file of COPY source docs/ is excluded by .dockerignore'),
    );
  });

  it('an R image without the shared Lua scripts or contracts, or with them where the worker does not look', () => {
    const noContracts = mutated('r-worker', /^COPY shared\/contracts\/ shared\/contracts\/$/m, '');
    expect(checkService('r-worker', noContracts)).toContainEqual(
      expect.stringContaining('the final stage does not copy shared/contracts'),
    );
    const elsewhere = mutated('r-worker', 'COPY shared/lua/ shared/lua/', 'COPY shared/lua/ lua/');
    expect(checkService('r-worker', elsewhere)).toContainEqual(
      expect.stringContaining('shared/lua lands in /app/lua, not /app/shared/lua'),
    );
    const movedDir = mutated('r-worker', 'SWITCHYARD_SHARED_DIR=/app/shared', 'SWITCHYARD_SHARED_DIR=/opt/shared');
    expect(checkService('r-worker', movedDir)).toContainEqual(
      expect.stringContaining('shared/contracts lands in /app/shared/contracts, not /opt/shared/contracts'),
    );
  });

  it('.dockerignore keeping out the contracts, or the Lua includes', () => {
    expect(checkService('r-worker', undefined, `${dockerignore}\nshared/contracts\n`)).toContainEqual(
      expect.stringMatching(/\.dockerignore keeps .*shared\/contracts\/rules\.json.* out of shared\/contracts$/),
    );
    expect(checkService('gateway', undefined, `${dockerignore}\n**/includes\n`)).toContainEqual(
      expect.stringMatching(
        /gateway\/Dockerfile: \.dockerignore keeps shared\/lua\/includes\/\S+\.lua.* out of shared\/lua/,
      ),
    );
  });

  it('an R image without an init process, or with a compiler', () => {
    const noInit = mutated('r-worker', /^ENTRYPOINT .*$/m, '');
    expect(checkService('r-worker', noInit)).toContainEqual(expect.stringContaining('must be an init process'));
    const compiler = mutated('r-worker', 'packages="tini curl', 'packages="tini curl gcc');
    expect(checkService('r-worker', compiler)).toContainEqual(expect.stringContaining('installs a compiler'));
  });
});
