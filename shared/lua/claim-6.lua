--[[ Take up to ARGV[1] tasks of one queue for one worker: due delayed tasks join the waiting set first,
  then the highest-priority waiting ids (FIFO within a priority) are taken, each under a lease held by
  the worker's token. Nothing is taken from a paused queue. O(log N) in the waiting tasks.
  KEYS[1] waiting (ZSET)            ARGV[1] most tasks to take
  KEYS[2] delayed (ZSET)            ARGV[2] lease deadline (ms since the epoch)
  KEYS[3] leases (ZSET)             ARGV[3] worker token
  KEYS[4] marker (ZSET)             ARGV[4] job key prefix (the id is appended)
  KEYS[5] seq (STRING)              ARGV[5] now (ms since the epoch)
  KEYS[6] paused (STRING)
  Returns { taken, next }: taken is a flat array, 5 entries a task: id, payload, attempts (deliveries,
  this one included), failures (attempts that ended in an error), revoked ('1' if cancelled while a
  worker that died held it, else ''); next is when the queue next has work (ms; 0 now, -1 never),
  which bounds how long the worker may block. ]]
--@include waiting
if redis.call('EXISTS', KEYS[6]) == 1 then return { {}, -1 } end
promote_due(KEYS[2], KEYS[1], KEYS[5], KEYS[4], ARGV[4], ARGV[5], 1000)
local taken = {}
local popped = redis.call('ZPOPMIN', KEYS[1], ARGV[1])
for i = 1, #popped, 2 do
  local id = popped[i]
  local job = ARGV[4] .. id
  if redis.call('EXISTS', job) == 1 then
    redis.call('ZADD', KEYS[3], ARGV[2], id)
    redis.call('HSET', job, 'token', ARGV[3])
    local attempts = redis.call('HINCRBY', job, 'attempts', 1)
    local fields = redis.call('HMGET', job, 'payload', 'failures', 'revoked')
    taken[#taken + 1] = id
    taken[#taken + 1] = fields[1]
    taken[#taken + 1] = attempts
    taken[#taken + 1] = tonumber(fields[2] or '0')
    taken[#taken + 1] = fields[3] or ''
  end
end
return { taken, hand_on_marker(KEYS[1], KEYS[2], KEYS[4]) }
