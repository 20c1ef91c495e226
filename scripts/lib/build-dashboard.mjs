// Builds the dashboard the gateway serves at /ui (dashboard/build.mjs: esbuild, no network) for
// `npm start` and for the tests that open it in a browser. Separate from prerequisites.mjs, which
// is about what must be installed; this is about what must be built.
const say = (line) => process.stdout.write(`[switchyard] ${line}\n`);

/**
 * Writes the built files to `outdir` (default dashboard/dist, where the gateway looks); resolves
 * with the folder.
 * @param {{ outdir?: string, quiet?: boolean }} [options]
 * @returns {Promise<string>}
 */
export async function buildDashboard({ outdir, quiet = false } = {}) {
  if (!quiet) say('building the dashboard (/ui)');
  const { buildDashboard: build } = await import('../../dashboard/build.mjs');
  return build(outdir === undefined ? {} : { outdir });
}
