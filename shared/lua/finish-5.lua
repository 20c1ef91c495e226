--[[ Acknowledge a task with its terminal record (SUCCESS, FAILURE, REVOKED), if the caller still holds
  the lease. A task given up on (FAILURE) becomes a dead letter: its id goes on the dead-letter list
  and its job hash stays, without a lease and expiring with the record, so an operator can requeue it.
  KEYS[1] active (LIST)             ARGV[1] task id
  KEYS[2] leases (ZSET)             ARGV[2] worker token
  KEYS[3] job hash                  ARGV[3] terminal record (MessagePack)
  KEYS[4] task record (STRING)      ARGV[4] record TTL in seconds
  KEYS[5] dead letters (LIST)       ARGV[5] '1' to dead-letter the task, else ''
  Returns 1 if acknowledged, 0 if the lease is lost (another worker owns the task now). ]]
if redis.call('HGET', KEYS[3], 'token') ~= ARGV[2] then return 0 end
redis.call('LREM', KEYS[1], 1, ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
if ARGV[5] == '1' then
  redis.call('HDEL', KEYS[3], 'token', 'revoked')
  redis.call('HSET', KEYS[3], 'dead', 1)
  redis.call('EXPIRE', KEYS[3], ARGV[4])
  redis.call('LREM', KEYS[5], 0, ARGV[1])
  redis.call('LPUSH', KEYS[5], ARGV[1])
else
  redis.call('DEL', KEYS[3])
end
redis.call('SET', KEYS[4], ARGV[3], 'EX', ARGV[4])
return 1
