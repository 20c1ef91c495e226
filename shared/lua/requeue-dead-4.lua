--[[ Run a dead-lettered task again, with its attempts reset.
  KEYS[1] dead letters (LIST)       ARGV[1] task id
  KEYS[2] job hash                  ARGV[2] PENDING record (MessagePack)
  KEYS[3] queue (LIST)              ARGV[3] record TTL in seconds
  KEYS[4] task record (STRING)
  Returns 1 requeued, 0 not a dead letter, -1 its payload expired (it cannot run again). ]]
if redis.call('LREM', KEYS[1], 0, ARGV[1]) == 0 then return 0 end
if redis.call('EXISTS', KEYS[2]) == 0 then return -1 end
redis.call('HDEL', KEYS[2], 'dead')
redis.call('HSET', KEYS[2], 'attempts', 0, 'failures', 0)
redis.call('PERSIST', KEYS[2])
redis.call('LPUSH', KEYS[3], ARGV[1])
redis.call('SET', KEYS[4], ARGV[2], 'EX', ARGV[3])
return 1
