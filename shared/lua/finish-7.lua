--[[ Acknowledge a task with its terminal record (SUCCESS, FAILURE, REVOKED), if the caller still holds
  the lease. A FAILURE becomes a dead letter of its queue; otherwise the job hash goes. A workflow step
  is handed off to its workflow (the handoffs set).
  KEYS[1] leases (ZSET)             ARGV[1] task id
  KEYS[2] job hash                  ARGV[2] worker token
  KEYS[3] task record (STRING)      ARGV[3] terminal record (MessagePack)
  KEYS[4] dead letters (ZSET)       ARGV[4] record TTL in seconds
  KEYS[5] handoffs (ZSET)           ARGV[5] '1' to dead-letter the task, else ''
                                    ARGV[6] now (ms since the epoch)
                                    ARGV[7] handoff channel, or '' (optional)
                                    ARGV[8] the queue's name (`<kind>:<queue>`)
  Returns 1 (ok) acknowledged (or already, by this very call sent before); -1 (lease_lost) another
  worker owns the task now, nothing changed. ]]
--@include lease
--@include dead-letter
--@include handoff
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
redis.call('SET', KEYS[3], ARGV[3], 'EX', ARGV[4])
return 1
