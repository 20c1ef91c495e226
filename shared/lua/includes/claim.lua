--[[ Fragment: taking tasks. Due delayed tasks join the waiting set first, then up to `max` of the
  highest-priority waiting ids (FIFO within a priority) are taken, each under a lease held by the
  worker's token; nothing is taken from a paused queue. O(log N) in the waiting tasks. Needs the
  waiting fragment. Appends 7 entries a task to `taken`: id, payload, attempts (deliveries, this one
  included), failures (attempts that ended in an error), revoked ('1' if cancelled while a worker
  that died held it, else ''), created_at and traceparent (the payload's other job fields, '' when
  absent). Returns when the queue next has work (ms; 0 now, -1 never). ]]
local function take_tasks(taken, waitKey, delayedKey, leasesKey, markerKey, seqKey, pausedKey, jobPrefix, max, deadline, token, now)
  if redis.call('EXISTS', pausedKey) == 1 then return -1 end
  promote_due(delayedKey, waitKey, seqKey, markerKey, jobPrefix, now, 1000)
  local popped = redis.call('ZPOPMIN', waitKey, max)
  for i = 1, #popped, 2 do
    local id = popped[i]
    local job = jobPrefix .. id
    local fields = redis.call('HMGET', job, 'payload', 'failures', 'revoked', 'attempts', 'created_at', 'traceparent')
    -- A waiting id without its job hash (expired with a long-gone record) is dropped.
    if fields[1] then
      local attempts = tonumber(fields[4] or '0') + 1
      redis.call('ZADD', leasesKey, deadline, id)
      redis.call('HSET', job, 'token', token, 'attempts', attempts)
      taken[#taken + 1] = id
      taken[#taken + 1] = fields[1]
      taken[#taken + 1] = attempts
      taken[#taken + 1] = tonumber(fields[2] or '0')
      taken[#taken + 1] = fields[3] or ''
      taken[#taken + 1] = fields[5] or ''
      taken[#taken + 1] = fields[6] or ''
    end
  end
  return hand_on_marker(waitKey, delayedKey, markerKey)
end
