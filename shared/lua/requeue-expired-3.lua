--[[ Redeliver the tasks of dead workers. Any worker may run this at any time; it is idempotent.
  1. Every id whose lease ran out goes back to the consumer end of the queue (it runs next) and its
     token is cleared, so the old holder can no longer write its record or acknowledge it.
  2. An id in the active list with no lease at all (its worker died between BLMOVE and claim) gets
     one, so step 1 redelivers it if nobody claims it in time.
  KEYS[1] active (LIST)             ARGV[1] now (ms since the epoch)
  KEYS[2] leases (ZSET)             ARGV[2] lease length in ms (for orphans)
  KEYS[3] queue (LIST)              ARGV[3] job key prefix
                                    ARGV[4] most ids to requeue in one call
  Returns the requeued ids. ]]
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[4]))
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
return expired
