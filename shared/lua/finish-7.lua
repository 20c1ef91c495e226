--[[ Acknowledge a task with its terminal record (SUCCESS, FAILURE, REVOKED), if the caller still holds
  the lease. A FAILURE becomes a dead letter of its queue; otherwise the job hash goes. A workflow step
  is handed off to its workflow (the handoffs set).
  KEYS[1] leases (ZSET)             ARGV[1] task id
  KEYS[2] job hash                  ARGV[2] worker token
  KEYS[3] task record (STRING)      ARGV[3] terminal record (MessagePack)
  KEYS[4] dead letters (ZSET)       ARGV[4] record TTL in seconds
  KEYS[5] handoffs (ZSET)           ARGV[5] '1' to dead-letter the task, else ''
  KEYS[6] events (STREAM)           ARGV[6] now (ms since the epoch)
  KEYS[7] stats (HASH)              ARGV[7] handoff channel, or ''
                                    ARGV[8] the queue's name (`<kind>:<queue>`)
                                    ARGV[9] task name, ARGV[10] terminal state
                                    ARGV[11] run time in seconds, or '' (never started)
                                    ARGV[12] its run-time bucket (upper bound, '+Inf' last)
  Returns 1 (ok) acknowledged (or already, by this very call sent before); -1 (lease_lost) another
  worker owns the task now, nothing changed. ]]
--@include lease
--@include dead-letter
--@include handoff
--@include events
--@include stats
if not holds_lease(KEYS[2], ARGV[2]) then
  if already_written(KEYS[3], ARGV[3]) then return 1 end
  return -1
end
redis.call('ZREM', KEYS[1], ARGV[1])
hand_off(KEYS[2], KEYS[5], ARGV[1], ARGV[6], ARGV[7], ARGV[8])
if ARGV[5] == '1' then
  dead_letter(KEYS[4], KEYS[2], ARGV[1], ARGV[6], ARGV[4])
else
  redis.call('DEL', KEYS[2])
end
write_record(KEYS[3], KEYS[6], ARGV[1], ARGV[3], ARGV[4])
count_outcome(KEYS[7], ARGV[9], ARGV[10], ARGV[6], ARGV[11], ARGV[12])
return 1
