/**
 * Loads the Lua scripts in shared/lua onto an ioredis connection. Each file's name ends with its
 * number of keys (`claim-3.lua`); ioredis runs them with EVALSHA and falls back to EVAL when Redis
 * does not know the script yet (a restart, a failover), so nothing has to be loaded up front.
 */
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

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
  const callers = {} as Record<Name, ScriptCaller>;
  for (const [name, file] of Object.entries(files) as [Name, string][]) {
    const commandName = `switchyard_${file.replaceAll('-', '_')}`;
    if (!(commandName in redis)) {
      const lua = readFileSync(new URL(`../lua/${file}.lua`, import.meta.url), 'utf8');
      redis.defineCommand(commandName, { numberOfKeys: Number(file.split('-').pop()), lua });
    }
    const variant = binaryReplies.has(name) ? `${commandName}Buffer` : commandName;
    const command = (redis as unknown as Record<string, ScriptCaller | undefined>)[variant];
    if (!command) throw new Error(`script ${file} was not defined`);
    callers[name] = command.bind(redis);
  }
  return callers;
}
