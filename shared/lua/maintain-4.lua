--[[ Periodic upkeep any worker may run at any time (idempotent):
  1. Redeliver the tasks of dead workers: every id whose lease ran out goes back to the consumer end
     of the queue (it runs next) and its token is cleared, so the old holder can no longer write its
     record or acknowledge it.
  2. An id in the active list with no lease at all (its worker died between BLMOVE and claim) gets
     one, so step 1 redelivers it if nobody claims it in time.
  3. Retries whose backoff is over join the back of the queue.
  KEYS[1] active (LIST)             ARGV[1] now (ms since the epoch)
  KEYS[2] leases (ZSET)             ARGV[2] lease length in ms (for orphans)
  KEYS[3] queue (LIST)              ARGV[3] job key prefix
  KEYS[4] delayed (ZSET)            ARGV[4] most ids to move in one call, per step
  Returns { requeued ids, promoted ids }. ]]
local limit = tonumber(ARGV[4])
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, limit)
for _, id in ipairs(expired) do
  redis.call('ZREM', KEYS[2], id)
  redis.call('LREM', KEYS[1], 1, id)
  redis.call('HDEL', ARGV[3] .. id, 'token')
  redis.call('RPUSH', KEYS[3], id)
end
local orphanDeadline = tonumber(ARGV[1]) + tonumber(ARGV[2])
for _, id in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  if not redis.call('ZSCORE', KEYS[2], id) then
    redis.call('ZADD', KEYS[2], orphanDeadline, id)
  end
end
local due = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', ARGV[1], 'LIMIT', 0, limit)
for _, id in ipairs(due) do
  redis.call('ZREM', KEYS[4], id)
  redis.call('LPUSH', KEYS[3], id)
end
return { expired, due }
