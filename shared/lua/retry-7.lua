--[[ Schedule another attempt of a task that failed: it waits in the delayed set, under no lease, until
  its backoff is over; then a claim (or upkeep) moves it back in line.
  KEYS[1] leases (ZSET)             ARGV[1] task id
  KEYS[2] delayed (ZSET)            ARGV[2] worker token
  KEYS[3] job hash                  ARGV[3] RETRY record (MessagePack)
  KEYS[4] task record (STRING)      ARGV[4] record TTL in seconds
  KEYS[5] marker (ZSET)             ARGV[5] when the retry is due (ms since the epoch)
  KEYS[6] events (STREAM)           ARGV[6] now (ms since the epoch)
  KEYS[7] stats (HASH)              ARGV[7] task name
  Returns 1 (ok) scheduled (or already, by this very call sent before); -1 (lease_lost). ]]
--@include lease
--@include events
--@include stats
if not holds_lease(KEYS[3], ARGV[2]) then
  if already_written(KEYS[4], ARGV[3]) then return 1 end
  return -1
end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[3], 'token')
redis.call('HINCRBY', KEYS[3], 'failures', 1)
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])
redis.call('ZADD', KEYS[5], 'LT', ARGV[5], '0')
write_record(KEYS[4], KEYS[6], ARGV[1], ARGV[3], ARGV[4])
count_outcome(KEYS[7], ARGV[7], 'RETRY', ARGV[6])
return 1
