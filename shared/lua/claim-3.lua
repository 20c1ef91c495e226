--[[ Take up to ARGV[1] tasks for one worker: move ids from the queue to the active list and give each a
  lease held by the worker's token. An id a blocking BLMOVE already moved to the active list is passed
  in ARGV[5] and claimed first.
  KEYS[1] queue (LIST)              ARGV[1] most tasks to take
  KEYS[2] active (LIST)             ARGV[2] lease deadline (ms since the epoch)
  KEYS[3] leases (ZSET)             ARGV[3] worker token
                                    ARGV[4] job key prefix (the id is appended)
                                    ARGV[5] id already moved by BLMOVE, or ''
  Returns a flat array, 5 entries a task: id, payload, attempts (deliveries, this one included),
  failures (attempts that ended in an error), revoked ('1' if cancelled while a worker that died held
  it, else ''). An id whose job hash is gone (cancelled while queued) is dropped from the active list. ]]
local taken = {}
local function claim(id)
  local job = ARGV[4] .. id
  if redis.call('EXISTS', job) == 0 then
    redis.call('LREM', KEYS[2], 1, id)
    return
  end
  redis.call('ZADD', KEYS[3], ARGV[2], id)
  redis.call('HSET', job, 'token', ARGV[3])
  local attempts = redis.call('HINCRBY', job, 'attempts', 1)
  local fields = redis.call('HMGET', job, 'msg', 'failures', 'revoked')
  taken[#taken + 1] = id
  taken[#taken + 1] = fields[1]
  taken[#taken + 1] = attempts
  taken[#taken + 1] = tonumber(fields[2] or '0')
  taken[#taken + 1] = fields[3] or ''
end

local wanted = tonumber(ARGV[1])
if ARGV[5] ~= '' then
  -- Only if maintenance has not already handed it back (it would be in the queue again).
  if redis.call('LPOS', KEYS[2], ARGV[5]) then claim(ARGV[5]) end
  wanted = wanted - 1
end
for _ = 1, wanted do
  local id = redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'LEFT')
  if not id then break end
  claim(id)
end
return taken
