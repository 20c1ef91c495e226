/**
 * The Lua scripts of shared/lua, for every language: each file's name ends with its number of keys
 * (`finish-claim-10.lua`), and a line `--@include <name>` stands for `shared/lua/includes/<name>.lua` (each
 * fragment once per script). The R worker expands the same files the same way (r-worker/R/lua.R);
 * `shared/contracts/lua-digests.json` holds the SHA-1 of each expanded script, which both sides check.
 *
 * ioredis runs them with EVALSHA and falls back to EVAL when Redis does not know the script yet (a
 * restart, a failover), so nothing has to be loaded up front.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import type { Redis } from './redis.js';

const LUA_DIR = new URL('../lua/', import.meta.url);
const INCLUDE_LINE = /^--@include ([a-z-]+)[ \t]*$/gm;

/** The script `file` (without `.lua`) with its includes expanded. */
export function luaSource(file: string): string {
  const included = new Set<string>();
  const raw = readFileSync(new URL(`${file}.lua`, LUA_DIR), 'utf8');
  return raw.replace(INCLUDE_LINE, (_line, name: string) => {
    if (included.has(name)) return '';
    included.add(name);
    return readFileSync(new URL(`includes/${name}.lua`, LUA_DIR), 'utf8').trimEnd();
  });
}

/** Every script file name (without `.lua`), sorted. */
export function luaScriptNames(): string[] {
  return readdirSync(LUA_DIR)
    .filter((name) => name.endsWith('.lua'))
    .map((name) => name.slice(0, -4))
    .sort();
}

export function luaDigest(file: string): string {
  return createHash('sha1').update(luaSource(file)).digest('hex');
}

export function keyCountOf(file: string): number {
  const count = Number(file.split('-').pop());
  if (!Number.isInteger(count)) throw new Error(`script ${file}: its name must end with its number of keys`);
  return count;
}

export type ScriptCaller = (...keysThenArgs: (string | number | Buffer)[]) => Promise<unknown>;

/**
 * Returns a caller per script, keyed like `files`. Scripts named in `binaryReplies` answer with
 * Buffers (for MessagePack), the rest with strings.
 */
export function defineLuaScripts<Name extends string>(
  redis: Redis,
  files: Record<Name, string>,
  binaryReplies: ReadonlySet<Name> = new Set(),
): Record<Name, ScriptCaller> {
  const callers: Partial<Record<Name, ScriptCaller>> = {};
  const commands = redis as unknown as Record<string, ScriptCaller | undefined>;
  for (const name of Object.keys(files) as Name[]) {
    const file = files[name];
    const commandName = `switchyard_${file.replaceAll('-', '_')}`;
    if (!(commandName in redis)) {
      redis.defineCommand(commandName, { numberOfKeys: keyCountOf(file), lua: luaSource(file) });
    }
    const command = commands[binaryReplies.has(name) ? `${commandName}Buffer` : commandName];
    if (!command) throw new Error(`script ${file} was not defined`);
    callers[name] = command.bind(redis);
  }
  return callers as Record<Name, ScriptCaller>;
}
