--[[ Cancel a Node task. A waiting one (queued, or delayed for a retry) is removed and REVOKED at once;
  a running one is flagged and announced on the cancel channel, and its worker stops it and records
  REVOKED (a worker that misses the message sees the flag when it renews its lease).
  KEYS[1] queue (LIST)              ARGV[1] task id
  KEYS[2] delayed (ZSET)            ARGV[2] REVOKED record (MessagePack)
  KEYS[3] active (LIST)             ARGV[3] record TTL in seconds
  KEYS[4] job hash                  ARGV[4] cancel channel
  KEYS[5] task record (STRING)
  Returns 1 revoked now, 2 running (stop requested), 0 no such pending task (finished or unknown),
  3 dead-lettered (already finished as FAILURE). ]]
if redis.call('EXISTS', KEYS[4]) == 0 then return 0 end
local fields = redis.call('HMGET', KEYS[4], 'token', 'dead')
if fields[2] then return 3 end
if fields[1] then
  redis.call('HSET', KEYS[4], 'revoked', 1)
  redis.call('PUBLISH', ARGV[4], ARGV[1])
  return 2
end
redis.call('LREM', KEYS[1], 0, ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('LREM', KEYS[3], 0, ARGV[1])
redis.call('DEL', KEYS[4])
redis.call('SET', KEYS[5], ARGV[2], 'EX', ARGV[3])
return 1
