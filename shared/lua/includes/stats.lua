--[[ Fragment: what workers report, counted where every gateway replica reads the same numbers: the
  queue's stats hash. Fields (task names hold no '|'):
    outcome|<task>|<state>     tasks that ended (SUCCESS, FAILURE, REVOKED) or were retried (RETRY)
    runtime|<task>|<le>        run times that fell in the bucket with upper bound <le> (not cumulative)
    runtime_sum|<task>         the sum of those run times, in seconds
    minute|<minute>|<state>    the same outcomes by minute since the epoch, for the last 60 minutes
    minute_floor, minute_last  the oldest and newest minute that may have minute fields
  The caller says which bucket a run time falls in (RUNTIME_BUCKETS_SECONDS in rules.json). ]]
local MINUTES_KEPT = 60

local function forget_minutes(statsKey, from, to)
  for minute = from, to do
    redis.call('HDEL', statsKey, 'minute|' .. minute .. '|SUCCESS', 'minute|' .. minute .. '|FAILURE',
      'minute|' .. minute .. '|REVOKED', 'minute|' .. minute .. '|RETRY')
  end
end

local function count_outcome(statsKey, task, state, nowMs, seconds, bucket)
  redis.call('HINCRBY', statsKey, 'outcome|' .. task .. '|' .. state, 1)
  if seconds and seconds ~= '' then
    redis.call('HINCRBY', statsKey, 'runtime|' .. task .. '|' .. bucket, 1)
    redis.call('HINCRBYFLOAT', statsKey, 'runtime_sum|' .. task, seconds)
  end
  local minute = math.floor(tonumber(nowMs) / 60000)
  local bounds = redis.call('HMGET', statsKey, 'minute_floor', 'minute_last')
  local floor = tonumber(bounds[1]) or minute
  local last = tonumber(bounds[2]) or minute
  -- Minute fields lie in [floor, last], never more than MINUTES_KEPT apart: at most that many to forget.
  local keepFrom = minute - MINUTES_KEPT + 1
  if floor < keepFrom then forget_minutes(statsKey, floor, math.min(last, keepFrom - 1)) end
  redis.call('HSET', statsKey, 'minute_floor', math.max(floor, keepFrom), 'minute_last', math.max(last, minute))
  redis.call('HINCRBY', statsKey, 'minute|' .. minute .. '|' .. state, 1)
end
