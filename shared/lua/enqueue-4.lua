--[[ Accept a Node task: write its PENDING record, its payload, and queue its id, all or nothing. With
  an Idempotency-Key, a key already used returns the task id it was first used for, and nothing else
  happens.
  KEYS[1] task record (STRING)      ARGV[1] task id
  KEYS[2] job hash                  ARGV[2] PENDING record (MessagePack)
  KEYS[3] queue (LIST)              ARGV[3] payload (MessagePack)
  KEYS[4] idempotency key (STRING)  ARGV[4] record TTL in seconds
                                    ARGV[5] '1' if KEYS[4] is a real Idempotency-Key, else ''
  Returns the task id: ARGV[1] if queued now, an earlier id if the Idempotency-Key was used before. ]]
if ARGV[5] == '1' then
  local earlier = redis.call('GET', KEYS[4])
  if earlier then return earlier end
  redis.call('SET', KEYS[4], ARGV[1], 'EX', ARGV[4])
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[4])
redis.call('HSET', KEYS[2], 'msg', ARGV[3], 'attempts', 0, 'failures', 0)
redis.call('LPUSH', KEYS[3], ARGV[1])
return ARGV[1]
