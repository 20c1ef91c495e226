/**
 * Reads a V8 CPU profile (`node --cpu-prof`, e.g. from `PROFILE=1 npm run bench:gateway`) and prints
 * where the time went: self time by package or source folder, and the functions with the most self
 * time. What bench/README.md says about a profile comes from this output.
 *
 *   node --import tsx bench/profile-summary.ts bench/profiles/CPU.*.cpuprofile [TOP] [FROM_SECONDS]
 *
 * FROM_SECONDS leaves out the profile's first seconds (start-up: module loading and compiling).
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { markdownTable } from './lib/report.js';

const CpuProfile = z.object({
  nodes: z.array(
    z.object({
      id: z.number(),
      callFrame: z.object({ functionName: z.string(), url: z.string(), lineNumber: z.number() }),
    }),
  ),
  samples: z.array(z.number()),
  timeDeltas: z.array(z.number()),
});

/** node_modules/<package> (scoped too), a Switchyard folder such as gateway/src/http, node:internal, or V8's own. */
function placeOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const dependency = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (dependency) return dependency[1] ?? url;
  if (url.startsWith('node:')) return url.split('/').slice(0, 2).join('/');
  const own = /\/work\/[^/]+\/(.+)\/[^/]+$/.exec(url) ?? /([^/]+\/[^/]+)\/[^/]+$/.exec(url);
  return own?.[1] ?? url;
}

function main(): void {
  const [file, topArg, fromArg] = process.argv.slice(2);
  const fromMicros = Number(fromArg ?? 0) * 1e6;
  if (!file) throw new Error('usage: profile-summary.ts FILE.cpuprofile [TOP]');
  const profile = CpuProfile.parse(JSON.parse(readFileSync(file, 'utf8')));
  const byId = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const selfByPlace = new Map<string, number>();
  const selfByFunction = new Map<string, number>();
  let total = 0;
  let elapsed = 0;
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id);
    const micros = profile.timeDeltas[i] ?? 0;
    elapsed += micros;
    if (!frame || elapsed < fromMicros) return;
    total += micros;
    const place = placeOf(frame.url, frame.functionName);
    selfByPlace.set(place, (selfByPlace.get(place) ?? 0) + micros);
    const name = `${frame.functionName || '(anonymous)'} ${place}:${frame.lineNumber + 1}`;
    selfByFunction.set(name, (selfByFunction.get(name) ?? 0) + micros);
  });
  const busy = total - (selfByPlace.get('(idle)') ?? 0);
  const rows = (entries: Map<string, number>, top: number) =>
    [...entries]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, micros]) => [
        name,
        `${((micros / total) * 100).toFixed(1)} %`,
        name.startsWith('(idle)') ? '' : `${((micros / busy) * 100).toFixed(1)} %`,
      ]);
  const top = Number(topArg ?? 25);
  console.log(`${file}: ${(total / 1e6).toFixed(1)} s profiled, ${((busy / total) * 100).toFixed(0)} % not idle\n`);
  console.log(markdownTable(['where (self time)', 'of all', 'of busy'], rows(selfByPlace, top)));
  console.log();
  console.log(markdownTable(['function', 'of all', 'of busy'], rows(selfByFunction, top)));
}

main();
