--[[ Accept a Node task: write its PENDING record, its payload, and queue its id, all or nothing.
  KEYS[1] task record (STRING)      ARGV[1] task id
  KEYS[2] job hash                  ARGV[2] PENDING record (MessagePack)
  KEYS[3] queue (LIST)              ARGV[3] payload (MessagePack)
                                    ARGV[4] record TTL in seconds
  Returns 1. ]]
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[4])
redis.call('HSET', KEYS[2], 'msg', ARGV[3], 'attempts', 0)
redis.call('LPUSH', KEYS[3], ARGV[1])
return 1
