// Builds the dashboard into dashboard/dist: src/main.ts (and everything it imports) bundled by
// esbuild into app.js, src/styles.css into app.css, and src/index.html copied. Plain static files
// the gateway serves at /ui; nothing is fetched at build or run time. `node build.mjs` runs it;
// scripts/lib/build-dashboard.mjs and the browser tests call buildDashboard().
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = fileURLToPath(new URL('.', import.meta.url));
export const DASHBOARD_DIST = `${here}dist`;

/** Writes dist/ from src/ (replacing what was there); resolves with the folder. */
export async function buildDashboard({ outdir = DASHBOARD_DIST } = {}) {
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  await build({
    entryPoints: [
      { in: `${here}src/main.ts`, out: 'app' },
      { in: `${here}src/styles.css`, out: 'app' },
    ],
    outdir,
    bundle: true,
    format: 'esm',
    target: ['chrome110', 'firefox110', 'safari16'],
    minify: true,
    sourcemap: 'linked',
    legalComments: 'none',
    logLevel: 'warning',
  });
  copyFileSync(`${here}src/index.html`, `${outdir}/index.html`);
  return outdir;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildDashboard();
}
