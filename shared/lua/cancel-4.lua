--[[ Cancel a task. A waiting or delayed one is removed and REVOKED at once; a running one is flagged
  and announced on its kind's cancel channel, and the worker holding it stops it and records REVOKED
  (a worker that misses the message sees the flag when it renews its lease).
  KEYS[1] waiting (ZSET)            ARGV[1] task id
  KEYS[2] delayed (ZSET)            ARGV[2] REVOKED record (MessagePack)
  KEYS[3] job hash                  ARGV[3] record TTL in seconds
  KEYS[4] task record (STRING)      ARGV[4] cancel channel
  Returns 1 (ok) revoked now; 2 (running) its worker was asked to stop it; -4 (no_such_task) no such
  unfinished task (finished, or unknown); -5 (task_finished) a dead letter (finished as FAILURE). ]]
if redis.call('EXISTS', KEYS[3]) == 0 then return -4 end
local fields = redis.call('HMGET', KEYS[3], 'token', 'dead')
if fields[2] then return -5 end
if fields[1] then
  redis.call('HSET', KEYS[3], 'revoked', 1)
  redis.call('PUBLISH', ARGV[4], ARGV[1])
  return 2
end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[3])
redis.call('SET', KEYS[4], ARGV[2], 'EX', ARGV[3])
return 1
