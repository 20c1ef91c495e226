--[[ Upkeep of one queue, which any worker of its kind may run at any time (idempotent): the sweep of
  the active set. Every id whose lease ran out (its worker died or stalled) goes back to the front of
  its priority with its token cleared, so the old holder can no longer write its record or acknowledge
  it; delayed ids that are due join the waiting set.
  KEYS[1] leases (ZSET)             ARGV[1] now (ms since the epoch)
  KEYS[2] waiting (ZSET)            ARGV[2] job key prefix
  KEYS[3] delayed (ZSET)            ARGV[3] most ids to move in one call, per step
  KEYS[4] marker (ZSET)
  KEYS[5] seq (STRING)
  Returns { requeued ids, promoted ids }. ]]
--@include waiting
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, id in ipairs(expired) do
  redis.call('ZREM', KEYS[1], id)
  local job = ARGV[2] .. id
  local priority = redis.call('HGET', job, 'priority')
  if priority then
    redis.call('HDEL', job, 'token')
    push_waiting(KEYS[2], KEYS[5], KEYS[4], id, priority, true)
  end
end
local promoted = promote_due(KEYS[3], KEYS[2], KEYS[5], KEYS[4], ARGV[2], ARGV[1], ARGV[3])
return { expired, promoted }
