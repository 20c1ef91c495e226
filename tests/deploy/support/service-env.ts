/**
 * Which environment variables each service reads, and their defaults, taken from the services
 * themselves: the zod schemas of shared/src/config.ts for the TypeScript services, and the
 * `Sys.getenv` calls of the R worker's sources. No hand-kept list, so a deployment that passes a
 * variable no service reads (a typo, a renamed variable) is caught.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { GatewayEnv, NodeWorkerEnv } from '@switchyard/shared';
import type { z } from 'zod';
import { ROOT, readRepoFile, type ServiceName } from './repo.js';

export interface ServiceEnv {
  /** Every variable the service reads. */
  names: ReadonlySet<string>;
  /** The value a variable takes when it is not set (as the service would parse it). */
  defaultOf(name: string): string | number | undefined;
}

function fromSchema(schema: z.ZodObject): ServiceEnv {
  const shape = schema.shape as Record<string, z.ZodType>;
  return {
    names: new Set(Object.keys(shape)),
    defaultOf(name) {
      const parsed = shape[name]?.safeParse(undefined);
      const value: unknown = parsed?.success ? parsed.data : undefined;
      return typeof value === 'string' || typeof value === 'number' ? value : undefined;
    },
  };
}

/** The R sources the worker loads: main.R and R/*.R. */
function rSources(): string[] {
  const files = readdirSync(join(ROOT, 'r-worker/R'))
    .filter((file) => file.endsWith('.R'))
    .map((file) => `r-worker/R/${file}`);
  return ['r-worker/main.R', ...files].map((file) => readRepoFile(file));
}

/** Drops R comments (a `#` outside a string, to the end of the line). */
function withoutRComments(source: string): string {
  return source
    .split('\n')
    .map((line) => {
      let quote: string | null = null;
      for (let i = 0; i < line.length; i++) {
        const c = line[i];
        if (quote) {
          if (c === '\\') i++;
          else if (c === quote) quote = null;
        } else if (c === '"' || c === "'") quote = c;
        else if (c === '#') return line.slice(0, i);
      }
      return line;
    })
    .join('\n');
}

/** The text between the parenthesis at `open` and its match. */
function balancedParentheses(text: string, open: number): string {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')' && --depth === 0) return text.slice(open + 1, i);
  }
  throw new Error(`unbalanced parentheses at ${open}`);
}

/**
 * Variables the R worker reads: `Sys.getenv("NAME", ...)`, and `Sys.getenv(names(VECTOR), ...)`
 * where VECTOR is a named vector `VECTOR <- c(NAME = "default", ...)` (how R/config.R declares its
 * variables with their defaults).
 */
export function parseREnv(sources: readonly string[]): ServiceEnv {
  const code = sources.map(withoutRComments).join('\n');
  const defaults = new Map<string, string | undefined>();
  for (const match of code.matchAll(/Sys\.getenv\(\s*["']([A-Za-z_][A-Za-z0-9_]*)["']/g)) {
    defaults.set(match[1]!, defaults.get(match[1]!));
  }
  for (const match of code.matchAll(/Sys\.getenv\(\s*names\(\s*([A-Za-z_.][\w.]*)\s*\)/g)) {
    const vector = match[1]!;
    const assignment = new RegExp(`(?:^|\\n)\\s*${vector.replace(/\./g, '\\.')}\\s*<-\\s*c\\(`).exec(code);
    if (!assignment) throw new Error(`R reads Sys.getenv(names(${vector})) but no \`${vector} <- c(...)\` was found`);
    const body = balancedParentheses(code, assignment.index + assignment[0].length - 1);
    for (const entry of body.matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?:"([^"]*)"|'([^']*)')?/g)) {
      defaults.set(entry[1]!, entry[2] ?? entry[3]);
    }
  }
  return { names: new Set(defaults.keys()), defaultOf: (name) => defaults.get(name) };
}

let rEnv: ServiceEnv | undefined;

export function serviceEnv(service: ServiceName): ServiceEnv {
  switch (service) {
    case 'gateway':
      return fromSchema(GatewayEnv.in);
    case 'node-worker':
      return fromSchema(NodeWorkerEnv.in);
    case 'r-worker':
      return (rEnv ??= parseREnv(rSources()));
  }
}
