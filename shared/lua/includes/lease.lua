--[[ Fragment: who may change a task that a worker holds. Every worker (Node or R) takes a task under a
  random token stored in the job hash; a worker whose lease ran out (its token was cleared when the
  task was handed on) can no longer write the record or acknowledge the task. ]]
local function holds_lease(jobKey, token)
  return redis.call('HGET', jobKey, 'token') == token
end

-- A call sent again after its answer was lost (the R worker does so across a Redis outage) finds its
-- own record stored byte for byte: it did run, so it counts as done and nothing happens twice.
local function already_written(recordKey, record)
  return redis.call('GET', recordKey) == record
end
