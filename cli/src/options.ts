/**
 * Command lines: node:util parseArgs with the options every command shares, usage errors a person can
 * act on, and task arguments read the way a shell user types them (numbers as numbers, JSON for
 * arrays and objects).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { DEFAULT_GATEWAY_URL } from '@switchyard/client';

/** The command line is wrong: exit 2 with this message and a pointer to the command's --help. */
export class UsageError extends Error {
  override readonly name = 'UsageError';

  constructor(
    message: string,
    /** The command whose --help explains what is expected, if any. */
    readonly command?: string,
  ) {
    super(message);
  }
}

type OptionSpecs = NonNullable<ParseArgsConfig['options']>;

export const GLOBAL_OPTIONS = {
  url: { type: 'string' },
  'api-key': { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies OptionSpecs;

export interface Connection {
  url: string;
  apiKey: string | undefined;
}

/** --url and --api-key win over SWITCHYARD_URL and SWITCHYARD_API_KEY; the URL must be http(s). */
export function connectionOf(
  values: { url?: string; 'api-key'?: string },
  env: Record<string, string | undefined>,
): Connection {
  const url = values.url ?? (env.SWITCHYARD_URL || DEFAULT_GATEWAY_URL);
  const from = values.url !== undefined ? '--url' : 'SWITCHYARD_URL';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`${from} must be the gateway's URL, such as ${DEFAULT_GATEWAY_URL}; got "${url}"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new UsageError(`${from} must be an http:// or https:// URL; got "${url}"`);
  }
  return { url, apiKey: values['api-key'] ?? (env.SWITCHYARD_API_KEY || undefined) };
}

/** Negative numbers would read as options (`-4`): they are hidden from parseArgs and put back after. */
const NEGATIVE_NUMBER = /^-(\d|\.\d)/;
const HIDDEN = '\u0000negative:';

/** The parsed values: booleans for flags, strings for options with a value; absent when not given. */
export type OptionValues<Options extends OptionSpecs> = {
  [Name in keyof Options]?: Options[Name] extends { type: 'boolean' } ? boolean : string;
};

/** Parses one command's arguments (the global options included); unknown options are usage errors. */
export function parseCommand<const Options extends OptionSpecs>(
  command: string,
  argv: string[],
  options: Options,
): { values: OptionValues<typeof GLOBAL_OPTIONS & Options>; positionals: string[] } {
  const hidden = argv.map((arg) => (NEGATIVE_NUMBER.test(arg) ? HIDDEN + arg : arg));
  let parsed;
  try {
    parsed = parseArgs({
      args: hidden,
      options: { ...GLOBAL_OPTIONS, ...options },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError(
      error instanceof Error ? error.message.replace(/\. To specify a positional.*$/s, '') : String(error),
      command,
    );
  }
  const positionals = parsed.positionals.map((arg) => (arg.startsWith(HIDDEN) ? arg.slice(HIDDEN.length) : arg));
  return { values: parsed.values, positionals };
}

const JSON_NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

/**
 * One task argument as typed on a command line: `4` and `-2.5` are numbers, `[1,2]`, `{"x":[1]}`,
 * `"text"`, `true`, `false` and `null` are JSON, anything else is the string itself.
 */
export function parseTaskArgument(text: string, position: number, command: string): unknown {
  if (JSON_NUMBER.test(text)) return Number(text);
  if (/^[[{"]/.test(text) || text === 'true' || text === 'false' || text === 'null') {
    try {
      return JSON.parse(text);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new UsageError(`argument ${position} (${text}) is not valid JSON: ${reason}`, command);
    }
  }
  return text;
}

/** A whole number option such as --priority or --limit, within bounds. */
export function wholeNumberOption(
  name: string,
  value: string | undefined,
  bounds: { min: number; max: number },
  command: string,
): number | undefined {
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number < bounds.min || number > bounds.max) {
    throw new UsageError(
      `--${name} must be a whole number between ${bounds.min} and ${bounds.max}; got "${value}"`,
      command,
    );
  }
  return number;
}

/** A duration option in seconds (--timeout, --countdown); fractions allowed. */
export function secondsOption(name: string, value: string | undefined, command: string): number | undefined {
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (value.trim() === '' || !Number.isFinite(seconds) || seconds < 0) {
    throw new UsageError(`--${name} must be a number of seconds (0 or more); got "${value}"`, command);
  }
  return seconds;
}

export const WORKER_KINDS = ['node', 'r'] as const;
export type Kind = (typeof WORKER_KINDS)[number];

export function kindOf(value: string | undefined, command: string, what = 'the worker kind'): Kind {
  if (value === undefined) throw new UsageError(`${what} is missing: node or r`, command);
  const kind = WORKER_KINDS.find((k) => k === value);
  if (!kind) throw new UsageError(`${what} must be node or r; got "${value}"`, command);
  return kind;
}
