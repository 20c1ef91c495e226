--[[ Release a held workflow step: it gets its final payload (its arguments now include what earlier
  steps handed it) and record, and its place in the queue (waiting, or delayed until its eta).
  Idempotent: a step released already is left as it is.
  KEYS[1] job hash                  ARGV[1] task id
  KEYS[2] task record (STRING)      ARGV[2] payload (MessagePack)
  KEYS[3] waiting (ZSET)            ARGV[3] record (MessagePack, PENDING)
  KEYS[4] delayed (ZSET)            ARGV[4] record TTL in seconds
  KEYS[5] marker (ZSET)             ARGV[5] when it may run (ms since the epoch; 0: now)
  KEYS[6] seq (STRING)              ARGV[6] now (ms since the epoch)
                                    ARGV[7] wake channel to PUBLISH the queue's name on, or ''
  KEYS[7] events (STREAM)           ARGV[8] the queue's name (`<kind>:<queue>`)
  Returns 1 (ok) released (now or before); -4 (no_such_task) there is no such job (never held, or
  cancelled: its record says which). ]]
--@include waiting
--@include events
if redis.call('EXISTS', KEYS[1]) == 0 then return -4 end
if redis.call('HGET', KEYS[1], 'held') ~= '1' then return 1 end
redis.call('HDEL', KEYS[1], 'held')
redis.call('HSET', KEYS[1], 'payload', ARGV[2], 'enqueued_at', ARGV[6])
write_record(KEYS[2], KEYS[7], ARGV[1], ARGV[3], ARGV[4])
if tonumber(ARGV[5]) > tonumber(ARGV[6]) then
  redis.call('ZADD', KEYS[4], ARGV[5], ARGV[1])
  redis.call('ZADD', KEYS[5], 'LT', ARGV[5], '0')
else
  push_waiting(KEYS[3], KEYS[6], KEYS[5], ARGV[1], redis.call('HGET', KEYS[1], 'priority') or '5', false)
end
if ARGV[7] ~= '' then redis.call('PUBLISH', ARGV[7], ARGV[8]) end
return 1
