--[[ Cancel a task. A waiting or delayed one is removed and REVOKED at once; a running one is flagged
  and announced on its kind's cancel channel, and the worker holding it stops it and records REVOKED
  (a worker that misses the message sees the flag when it renews its lease).
  KEYS[1] waiting (ZSET)            ARGV[1] task id
  KEYS[2] delayed (ZSET)            ARGV[2] REVOKED record (MessagePack)
  KEYS[3] job hash                  ARGV[3] record TTL in seconds
  KEYS[4] task record (STRING)      ARGV[4] cancel channel
  KEYS[5] handoffs (ZSET)           ARGV[5] now (ms since the epoch)
  KEYS[6] events (STREAM)           ARGV[6] handoff channel, or ''
  KEYS[7] stats (HASH)              ARGV[7] the queue's name (`<kind>:<queue>`)
                                    ARGV[8] task name
  A held workflow step is revoked as a waiting one is; a workflow step revoked now is handed off.
  Returns 1 (ok) revoked now; 2 (running) its worker was asked to stop it; -4 (no_such_task) no such
  unfinished task (finished, or unknown); -5 (task_finished) a dead letter (finished as FAILURE). ]]
--@include handoff
--@include events
--@include stats
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
hand_off(KEYS[3], KEYS[5], ARGV[1], ARGV[5], ARGV[6], ARGV[7])
redis.call('DEL', KEYS[3])
write_record(KEYS[4], KEYS[6], ARGV[1], ARGV[2], ARGV[3])
count_outcome(KEYS[7], ARGV[8], 'REVOKED', ARGV[5])
return 1
