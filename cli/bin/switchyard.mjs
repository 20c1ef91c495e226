#!/usr/bin/env node
// The switchyard command. It runs the compiled CLI (cli/dist, built by `npm start` or `npm run
// build`, which run `tsc -b`). Before a build it runs the TypeScript sources through tsx instead,
// with the workspaces' "source" export condition so that @switchyard/client resolves to its sources
// too: `npx switchyard` works from a fresh clone after `npm install`, built or not.
// SWITCHYARD_CLI_FROM_SOURCE=1 takes the sources even when built (working on the CLI, its tests).
import { existsSync } from 'node:fs';
import { register } from 'node:module';
import { fileURLToPath } from 'node:url';

const cliBuilt = new URL('../dist/main.js', import.meta.url);
const clientBuilt = (() => {
  try {
    return existsSync(fileURLToPath(import.meta.resolve('@switchyard/client')));
  } catch {
    return false;
  }
})();

if (existsSync(cliBuilt) && clientBuilt && process.env.SWITCHYARD_CLI_FROM_SOURCE !== '1') {
  await import(cliBuilt.href);
} else {
  // Adds the "source" condition to every resolution, as `node --conditions=source` would.
  const sourceCondition = `export async function resolve(specifier, context, next) {
    return next(specifier, { ...context, conditions: [...context.conditions, 'source'] });
  }`;
  register(`data:text/javascript,${encodeURIComponent(sourceCondition)}`);
  const tsx = await import('tsx/esm/api');
  tsx.register();
  await import(new URL('../src/main.ts', import.meta.url).href);
}
