--[[ Run a dead letter again, with its attempts reset: it joins the back of its priority.
  KEYS[1] dead letters (ZSET)       ARGV[1] task id
  KEYS[2] job hash                  ARGV[2] PENDING record (MessagePack)
  KEYS[3] waiting (ZSET)            ARGV[3] record TTL in seconds
  KEYS[4] task record (STRING)      ARGV[4] wake channel to PUBLISH the queue's name on, or '' (optional)
  KEYS[5] marker (ZSET)             ARGV[5] the queue's name (`<kind>:<queue>`)
  KEYS[6] seq (STRING)
  KEYS[7] events (STREAM)
  Returns 1 (ok) requeued; -6 (not_dead_letter) not a dead letter of this queue; -7 (payload_expired)
  it cannot run again (its job hash expired; it is taken off the dead set). ]]
--@include waiting
--@include events
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return -6 end
if redis.call('EXISTS', KEYS[2]) == 0 then return -7 end
redis.call('HDEL', KEYS[2], 'dead')
redis.call('HSET', KEYS[2], 'attempts', 0, 'failures', 0)
redis.call('PERSIST', KEYS[2])
push_waiting(KEYS[3], KEYS[6], KEYS[5], ARGV[1], redis.call('HGET', KEYS[2], 'priority') or '5', false)
write_record(KEYS[4], KEYS[7], ARGV[1], ARGV[2], ARGV[3])
if ARGV[4] and ARGV[4] ~= '' then redis.call('PUBLISH', ARGV[4], ARGV[5]) end
return 1
