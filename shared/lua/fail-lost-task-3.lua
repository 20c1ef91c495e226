--[[ Record FAILURE for a task whose R service died: only if its heartbeat is still gone and its record
  is still exactly the one the caller read (compare-and-set), so a late write by a live worker wins.
  The task becomes a dead letter, as every R FAILURE does.
  KEYS[1] task record (STRING)      ARGV[1] the record as read (MessagePack bytes)
  KEYS[2] heartbeat (STRING)        ARGV[2] the FAILURE record (MessagePack)
  KEYS[3] R dead letters (LIST)     ARGV[3] record TTL in seconds
                                    ARGV[4] task id
  Returns 1 if the FAILURE was written, 0 if anything changed meanwhile. ]]
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
redis.call('LREM', KEYS[3], 0, ARGV[4])
redis.call('LPUSH', KEYS[3], ARGV[4])
return 1
