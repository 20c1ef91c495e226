/**
 * Per-caller rate limit on the task routes (express-rate-limit), counted in Redis so every gateway
 * replica shares one budget. The store is a few lines on our Lua loader instead of rate-limit-redis,
 * whose script load at start caches a failed promise when Redis is down then, leaving limits off
 * until a restart. If Redis is down the limiter lets requests through; the route answers 503 itself.
 */
import { rateLimit, type ClientRateLimitInfo, type Options, type Store } from 'express-rate-limit';
import { SwitchyardError, defineLuaScripts, type Redis, type ScriptCaller } from '@switchyard/shared';

class RedisWindowStore implements Store {
  private windowMs = 60_000;
  private readonly count: ScriptCaller;

  constructor(
    private readonly redis: Redis,
    readonly prefix: string,
  ) {
    this.count = defineLuaScripts(redis, { count: 'rate-limit-1' }).count;
  }

  init(options: Options): void {
    this.windowMs = options.windowMs;
  }

  async increment(key: string): Promise<ClientRateLimitInfo> {
    const [hits, ttl] = (await this.count(this.prefix + key, this.windowMs)) as [number, number];
    return { totalHits: hits, resetTime: new Date(Date.now() + ttl) };
  }

  async decrement(key: string): Promise<void> {
    await this.redis.decr(this.prefix + key);
  }

  async resetKey(key: string): Promise<void> {
    await this.redis.del(this.prefix + key);
  }
}

export function rateLimitPerCaller(redis: Redis, prefix: string, perMinute: number) {
  return rateLimit({
    windowMs: 60_000,
    limit: perMinute,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    store: new RedisWindowStore(redis, prefix),
    keyGenerator: (_req, res) => res.locals.caller,
    passOnStoreError: true,
    handler: (req, _res, next) => {
      const resetTime = (req as typeof req & { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
      const retryAfterSeconds = Math.max(1, Math.ceil(((resetTime?.getTime() ?? Date.now()) - Date.now()) / 1000));
      next(
        new SwitchyardError(
          'rate_limited',
          `Too many requests: at most ${perMinute} a minute; retry in ${retryAfterSeconds} s`,
          {
            retryAfterSeconds,
          },
        ),
      );
    },
  });
}
