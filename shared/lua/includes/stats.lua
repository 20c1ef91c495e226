--[[ Fragment: what workers report, counted where every gateway replica reads the same numbers: the
  queue's stats hash. Fields (task names hold no '|'):
    outcome|<task>|<state>     tasks that ended (SUCCESS, FAILURE, REVOKED) or were retried (RETRY)
    runtime|<task>|<le>        run times that fell in the bucket with upper bound <le> (not cumulative)
    runtime_sum|<task>         the sum of those run times, in seconds
    minute|<minute>|<state>    the same outcomes by minute since the epoch, for the last 60 minutes
    minute_floor, minute_last  the oldest and newest minute that may have minute fields
  The caller says which bucket a run time falls in (RUNTIME_BUCKETS_SECONDS in rules.json). A script
  that ends many tasks tallies them first and counts the tally once: one HINCRBY per distinct field,
  and the minute bookkeeping once per call, not once per task. ]]
local MINUTES_KEPT = 60

local function forget_minutes(statsKey, from, to)
  for minute = from, to do
    redis.call('HDEL', statsKey, 'minute|' .. minute .. '|SUCCESS', 'minute|' .. minute .. '|FAILURE',
      'minute|' .. minute .. '|REVOKED', 'minute|' .. minute .. '|RETRY')
  end
end

local function new_tally()
  return { counts = {}, sums = {}, states = {}, any = false }
end

local function tally_outcome(tally, task, state, seconds, bucket)
  local counts = tally.counts
  local field = 'outcome|' .. task .. '|' .. state
  counts[field] = (counts[field] or 0) + 1
  if seconds and seconds ~= '' then
    field = 'runtime|' .. task .. '|' .. bucket
    counts[field] = (counts[field] or 0) + 1
    field = 'runtime_sum|' .. task
    tally.sums[field] = (tally.sums[field] or 0) + tonumber(seconds)
  end
  tally.states[state] = (tally.states[state] or 0) + 1
  tally.any = true
end

local function count_tally(statsKey, tally, nowMs)
  if not tally.any then return end
  for field, n in pairs(tally.counts) do redis.call('HINCRBY', statsKey, field, n) end
  for field, seconds in pairs(tally.sums) do
    redis.call('HINCRBYFLOAT', statsKey, field, string.format('%.17g', seconds))
  end
  local minute = math.floor(tonumber(nowMs) / 60000)
  local bounds = redis.call('HMGET', statsKey, 'minute_floor', 'minute_last')
  local floor = tonumber(bounds[1]) or minute
  local last = tonumber(bounds[2]) or minute
  -- Minute fields lie in [floor, last], never more than MINUTES_KEPT apart: at most that many to forget.
  local keepFrom = minute - MINUTES_KEPT + 1
  if floor < keepFrom then forget_minutes(statsKey, floor, math.min(last, keepFrom - 1)) end
  if floor < keepFrom or last < minute or bounds[1] == false then
    redis.call('HSET', statsKey, 'minute_floor', math.max(floor, keepFrom), 'minute_last', math.max(last, minute))
  end
  for state, n in pairs(tally.states) do redis.call('HINCRBY', statsKey, 'minute|' .. minute .. '|' .. state, n) end
end

local function count_outcome(statsKey, task, state, nowMs, seconds, bucket)
  local tally = new_tally()
  tally_outcome(tally, task, state, seconds, bucket)
  count_tally(statsKey, tally, nowMs)
end
