/**
 * What Redis itself says it spent, read from INFO: script calls (EVALSHA, which both Switchyard and
 * BullMQ run their Lua with) and the CPU time of the redis-server process. Two readings around a
 * measured window give the cost per task or per script call.
 *
 * Only EVALSHA is read from commandstats: since Redis 7 the commands a script runs are counted under
 * their own names as well, so summing every command would count a script's work twice.
 */
import type { Redis } from 'ioredis';

export interface RedisCounters {
  evalshaCalls: number;
  evalshaMicros: number;
  /** used_cpu_user + used_cpu_sys of redis-server, in µs. */
  cpuMicros: number;
}

const field = (info: string, pattern: RegExp) => Number(pattern.exec(info)?.[1] ?? 0);

export async function redisCounters(redis: Redis): Promise<RedisCounters> {
  const [commands, cpu] = await Promise.all([redis.info('commandstats'), redis.info('cpu')]);
  return {
    evalshaCalls: field(commands, /cmdstat_evalsha:calls=(\d+)/),
    evalshaMicros: field(commands, /cmdstat_evalsha:calls=\d+,usec=(\d+)/),
    cpuMicros: (field(cpu, /used_cpu_user:([\d.]+)/) + field(cpu, /used_cpu_sys:([\d.]+)/)) * 1e6,
  };
}

export function countersBetween(before: RedisCounters, after: RedisCounters): RedisCounters {
  return {
    evalshaCalls: after.evalshaCalls - before.evalshaCalls,
    evalshaMicros: after.evalshaMicros - before.evalshaMicros,
    cpuMicros: after.cpuMicros - before.cpuMicros,
  };
}

export async function usedMemory(redis: Redis): Promise<number> {
  return field(await redis.info('memory'), /used_memory:(\d+)/);
}
