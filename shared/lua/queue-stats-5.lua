--[[ Read one queue's figures in one step (changes nothing).
  KEYS[1] waiting (ZSET)            ARGV[1] job key prefix
  KEYS[2] delayed (ZSET)
  KEYS[3] leases (ZSET)
  KEYS[4] dead letters (ZSET)
  KEYS[5] paused (STRING)
  Returns { waiting by priority (10 counts, priority 0 first), delayed, active, dead, paused (1/0),
  when the oldest waiting task was queued (ms since the epoch; -1 if none waits) }. ]]
--@include waiting
local byPriority = {}
local oldest = -1
for priority = 0, 9 do
  local low = string.format('%.0f', (9 - priority) * PRIORITY_BAND)
  local high = string.format('(%.0f', (10 - priority) * PRIORITY_BAND)
  byPriority[priority + 1] = redis.call('ZCOUNT', KEYS[1], low, high)
  local first = redis.call('ZRANGEBYSCORE', KEYS[1], low, high, 'LIMIT', 0, 1)[1]
  if first then
    local queued = tonumber(redis.call('HGET', ARGV[1] .. first, 'enqueued_at'))
    if queued and (oldest < 0 or queued < oldest) then oldest = queued end
  end
end
return {
  byPriority,
  redis.call('ZCARD', KEYS[2]),
  redis.call('ZCARD', KEYS[3]),
  redis.call('ZCARD', KEYS[4]),
  redis.call('EXISTS', KEYS[5]),
  oldest,
}
