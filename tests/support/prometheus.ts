/**
 * Reads Prometheus text the way Prometheus' own client library does: the scrape is handed to
 * Debian's python3 with prometheus_client (`text_string_to_metric_families`), so a test fails on
 * output a real parser rejects (bad escaping, a sample outside its family, a malformed histogram),
 * not only on values a regular expression misses.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';

export interface Sample {
  /** The sample's own name: `x_total`, `x_bucket`, `x_sum`, `x_count`, or the family's name. */
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface MetricFamily {
  /** As the parser names it: a counter's family without `_total`. */
  name: string;
  type: string;
  help: string;
  samples: Sample[];
}

const PARSER = `
import json, math, sys
from prometheus_client.parser import text_string_to_metric_families
def number(v):
    return v if math.isfinite(v) else str(v)
families = [
    {"name": f.name, "type": f.type, "help": f.documentation,
     "samples": [{"name": s.name, "labels": s.labels, "value": number(s.value)} for s in f.samples]}
    for f in text_string_to_metric_families(sys.stdin.read())
]
json.dump(families, sys.stdout)
`;

/** Parses `text`; rejects with the parser's message when it is not valid Prometheus text. */
export async function parsePrometheus(text: string): Promise<MetricFamily[]> {
  const child = spawn('/usr/bin/python3', ['-c', PARSER], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end(text);
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`prometheus_client could not parse the scrape: ${stderr.trim()}`);
  const families = JSON.parse(stdout) as (Omit<MetricFamily, 'samples'> & {
    samples: (Omit<Sample, 'value'> & { value: number | string })[];
  })[];
  return families.map((family) => ({
    ...family,
    samples: family.samples.map((sample) => ({ ...sample, value: Number(sample.value) })),
  }));
}

/** The family named `name` (as the parser names it); throws, listing what there is, when absent. */
export function family(families: readonly MetricFamily[], name: string): MetricFamily {
  const found = families.find((f) => f.name === name);
  if (!found) throw new Error(`no metric family ${name}; the scrape has ${families.map((f) => f.name).join(', ')}`);
  return found;
}

/** The value of the one sample named `name` whose labels include `labels`, or undefined. */
export function sampleValue(
  families: readonly MetricFamily[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const matching = families
    .flatMap((f) => f.samples)
    .filter((s) => s.name === name && Object.entries(labels).every(([key, value]) => s.labels[key] === value));
  if (matching.length > 1) throw new Error(`${matching.length} samples ${name} match ${JSON.stringify(labels)}`);
  return matching[0]?.value;
}

/** GET `url` (with `headers`) and parse it; the status and content type are returned for checking. */
export async function scrape(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; contentType: string; families: MetricFamily[]; text: string }> {
  const response = await fetch(url, { headers });
  const text = await response.text();
  const contentType = response.headers.get('content-type') ?? '';
  const families = response.status === 200 ? await parsePrometheus(text) : [];
  return { status: response.status, contentType, families, text };
}
