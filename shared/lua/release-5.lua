--[[ Hand a task back to the queue (worker shutting down): it runs next, on whichever worker is free.
  KEYS[1] active (LIST)             ARGV[1] task id
  KEYS[2] leases (ZSET)             ARGV[2] worker token
  KEYS[3] queue (LIST)              ARGV[3] record to show meanwhile (MessagePack)
  KEYS[4] job hash                  ARGV[4] record TTL in seconds
  KEYS[5] task record (STRING)
  Returns 1 if handed back, 0 if the lease was already lost. ]]
if redis.call('HGET', KEYS[4], 'token') ~= ARGV[2] then return 0 end
redis.call('LREM', KEYS[1], 1, ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[4], 'token')
redis.call('RPUSH', KEYS[3], ARGV[1])
redis.call('SET', KEYS[5], ARGV[3], 'EX', ARGV[4])
return 1
