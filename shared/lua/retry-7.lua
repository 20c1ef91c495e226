--[[ Schedule another attempt of a task that failed: it waits in the delayed set, under no lease, until
  its backoff is over; then a claim (or upkeep) moves it back in line.
  KEYS[1] leases (ZSET)             ARGV[1] task id
  KEYS[2] delayed (ZSET)            ARGV[2] worker token
  KEYS[3] job hash                  ARGV[3] RETRY record (MessagePack)
  KEYS[4] task record (STRING)      ARGV[4] record TTL in seconds
  KEYS[5] marker (ZSET)             ARGV[5] when the retry is due (ms since the epoch)
  Returns 1 (ok) scheduled (or already, by this very call sent before); -1 (lease_lost). ]]
--@include lease
if not holds_lease(KEYS[3], ARGV[2]) then
  if already_written(KEYS[4], ARGV[3]) then return 1 end
  return -1
end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[3], 'token')
redis.call('HINCRBY', KEYS[3], 'failures', 1)
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])
redis.call('ZADD', KEYS[5], 'LT', ARGV[5], '0')
redis.call('SET', KEYS[4], ARGV[3], 'EX', ARGV[4])
return 1
