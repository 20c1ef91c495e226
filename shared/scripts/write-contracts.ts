/**
 * Writes shared/contracts/*.json, the cross-language contract the R worker is tested against:
 * the key layout, the task names, and status-record vectors with their exact MessagePack bytes.
 * Run `npm run contracts -w @switchyard/shared` after changing keys.ts, tasks.ts or the codec; the
 * shared tests fail until the files match again.
 */
import { writeFileSync } from 'node:fs';
import { contractFiles } from '../test/contract-fixtures.js';

for (const [name, content] of Object.entries(contractFiles())) {
  writeFileSync(new URL(`../contracts/${name}`, import.meta.url), JSON.stringify(content, null, 2) + '\n');
  console.log(`wrote shared/contracts/${name}`);
}
