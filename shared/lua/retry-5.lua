--[[ Schedule another attempt of a task that failed: it waits in the delayed set until its backoff is
  over, then maintenance puts it back in the queue.
  KEYS[1] active (LIST)             ARGV[1] task id
  KEYS[2] leases (ZSET)             ARGV[2] worker token
  KEYS[3] delayed (ZSET)            ARGV[3] RETRY record (MessagePack)
  KEYS[4] job hash                  ARGV[4] record TTL in seconds
  KEYS[5] task record (STRING)      ARGV[5] when the retry is due (ms since the epoch)
  Returns 1 if scheduled, 0 if the lease is lost. ]]
if redis.call('HGET', KEYS[4], 'token') ~= ARGV[2] then return 0 end
redis.call('LREM', KEYS[1], 1, ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[4], 'token')
redis.call('HINCRBY', KEYS[4], 'failures', 1)
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[1])
redis.call('SET', KEYS[5], ARGV[3], 'EX', ARGV[4])
return 1
