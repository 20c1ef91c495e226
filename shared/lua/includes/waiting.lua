--[[ Fragment: the waiting set's order. A waiting id's score puts the highest priority first and keeps
  FIFO order within a priority: (9 - priority) * 2^44, plus 2^43 + n for the n-th arrival, or minus n
  for an id handed back to the front (a lease that ran out, a worker shutting down). Scores stay below
  2^53, exact in a double; they are written with %.0f because Lua's own tostring would round them. ]]
local PRIORITY_BAND = 17592186044416
local BAND_MIDDLE = 8796093022208

local function waiting_score(seqKey, priority, front)
  local n = redis.call('INCR', seqKey)
  local base = (9 - tonumber(priority)) * PRIORITY_BAND + BAND_MIDDLE
  if front then return string.format('%.0f', base - n) end
  return string.format('%.0f', base + n)
end

-- Puts `id` in line and wakes a blocked worker (the marker's score 0 means: work now).
local function push_waiting(waitKey, seqKey, markerKey, id, priority, front)
  redis.call('ZADD', waitKey, waiting_score(seqKey, priority, front), id)
  redis.call('ZADD', markerKey, 0, '0')
end

-- Moves up to `limit` ids of the delayed set that are due by `now` into the waiting set, each with the
-- priority its job hash holds; returns them.
local function promote_due(delayedKey, waitKey, seqKey, markerKey, jobPrefix, now, limit)
  local due = redis.call('ZRANGEBYSCORE', delayedKey, '-inf', now, 'LIMIT', 0, limit)
  for _, id in ipairs(due) do
    redis.call('ZREM', delayedKey, id)
    local priority = redis.call('HGET', jobPrefix .. id, 'priority')
    if priority then push_waiting(waitKey, seqKey, markerKey, id, priority, false) end
  end
  return due
end

-- Sets the marker to the truth after a claim or a resume: now if ids wait, else when the first delayed
-- id is due, else no marker (so no worker wakes for nothing). Returns that time in ms, 0 for now, -1
-- for never.
local function hand_on_marker(waitKey, delayedKey, markerKey)
  if redis.call('ZCARD', waitKey) > 0 then
    redis.call('ZADD', markerKey, 0, '0')
    return 0
  end
  local first = redis.call('ZRANGE', delayedKey, 0, 0, 'WITHSCORES')
  if first[2] then
    redis.call('ZADD', markerKey, first[2], '0')
    return tonumber(first[2])
  end
  redis.call('DEL', markerKey)
  return -1
end
