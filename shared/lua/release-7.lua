--[[ Hand a task back (its worker is shutting down): it goes to the front of its priority and runs next,
  on whichever worker is free.
  KEYS[1] leases (ZSET)             ARGV[1] task id
  KEYS[2] waiting (ZSET)            ARGV[2] worker token
  KEYS[3] job hash                  ARGV[3] record to show meanwhile (MessagePack)
  KEYS[4] task record (STRING)      ARGV[4] record TTL in seconds
  KEYS[5] marker (ZSET)             ARGV[5] wake channel to PUBLISH the queue's name on, or '' (optional)
  KEYS[6] seq (STRING)              ARGV[6] the queue's name (`<kind>:<queue>`)
  KEYS[7] events (STREAM)
  Returns 1 (ok) handed back; -1 (lease_lost) the lease was already lost. ]]
--@include lease
--@include waiting
--@include events
if not holds_lease(KEYS[3], ARGV[2]) then return -1 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[3], 'token')
push_waiting(KEYS[2], KEYS[6], KEYS[5], ARGV[1], redis.call('HGET', KEYS[3], 'priority') or '5', true)
write_record(KEYS[4], KEYS[7], ARGV[1], ARGV[3], ARGV[4])
if ARGV[5] and ARGV[5] ~= '' then redis.call('PUBLISH', ARGV[5], ARGV[6]) end
return 1
