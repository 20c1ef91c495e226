--[[ Acknowledge a task: write its terminal record (SUCCESS or FAILURE) and drop its delivery
  bookkeeping, if the caller still holds the lease.
  KEYS[1] active (LIST)             ARGV[1] task id
  KEYS[2] leases (ZSET)             ARGV[2] worker token
  KEYS[3] job hash                  ARGV[3] terminal record (MessagePack)
  KEYS[4] task record (STRING)      ARGV[4] record TTL in seconds
  Returns 1 if acknowledged, 0 if the lease is lost (another worker owns the task now). ]]
if redis.call('HGET', KEYS[3], 'token') ~= ARGV[2] then return 0 end
redis.call('LREM', KEYS[1], 1, ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[3])
redis.call('SET', KEYS[4], ARGV[3], 'EX', ARGV[4])
return 1
