--[[ Accept a task: its first record, its job hash and its place in the queue (waiting, or delayed until
  its countdown or eta), all or nothing. Used by the gateway (Node tasks) and the R service (R tasks).
  KEYS[1] task record (STRING)      ARGV[1] task id
  KEYS[2] job hash                  ARGV[2] first record (MessagePack)
  KEYS[3] waiting (ZSET)            ARGV[3] payload (MessagePack: task, args, options, see below)
  KEYS[4] delayed (ZSET)            ARGV[4] record TTL in seconds
  KEYS[5] marker (ZSET)             ARGV[5] priority 0-9
  KEYS[6] seq (STRING)              ARGV[6] when it may run (ms since the epoch; 0: now; -1: held, see below)
  KEYS[7] events (STREAM)           ARGV[7] most tasks waiting or delayed in this queue; 0: no bound
                                    ARGV[8] wake channel to PUBLISH the queue's name on, or ''
                                    ARGV[9] now (ms since the epoch)
                                    ARGV[10] the queue's name (`<kind>:<queue>`), for the wake message
                                    ARGV[11] the workflow it is a step of, or ''
                                    ARGV[12] attempts already made elsewhere (a Celery message's
                                             `retries`), counted as failed ones
                                    ARGV[13] when the task was created (ISO 8601)
                                    ARGV[14] its W3C traceparent, or ''
  The payload is split over the job hash's `payload`, `created_at` and `traceparent` fields, each
  short enough for Redis's compact hash encoding (shared/src/stored-payload.ts).
  A held task (a workflow step waiting for earlier steps) gets its record and job but no place in the
  queue; release-held-7 gives it its arguments and its place later.
  Returns 1 (ok) queued; -2 (task_exists) a task with that id exists, nothing changed; -3 (queue_full)
  the queue holds ARGV[7] tasks already, nothing changed. ]]
--@include waiting
--@include events
local bound = tonumber(ARGV[7])
if bound > 0 and redis.call('ZCARD', KEYS[3]) + redis.call('ZCARD', KEYS[4]) >= bound then return -3 end
if redis.call('EXISTS', KEYS[1]) == 1 then return -2 end
write_record(KEYS[1], KEYS[7], ARGV[1], ARGV[2], ARGV[4])
local earlier = tonumber(ARGV[12]) or 0
redis.call('HSET', KEYS[2], 'payload', ARGV[3], 'created_at', ARGV[13], 'priority', ARGV[5], 'attempts', earlier, 'failures', earlier, 'enqueued_at', ARGV[9])
if ARGV[14] ~= '' then redis.call('HSET', KEYS[2], 'traceparent', ARGV[14]) end
if ARGV[11] ~= '' then redis.call('HSET', KEYS[2], 'workflow', ARGV[11]) end
if ARGV[6] == '-1' then
  redis.call('HSET', KEYS[2], 'held', 1)
  return 1
end
if tonumber(ARGV[6]) > tonumber(ARGV[9]) then
  redis.call('ZADD', KEYS[4], ARGV[6], ARGV[1])
  redis.call('ZADD', KEYS[5], 'LT', ARGV[6], '0')
else
  push_waiting(KEYS[3], KEYS[6], KEYS[5], ARGV[1], ARGV[5], false)
end
if ARGV[8] ~= '' then redis.call('PUBLISH', ARGV[8], ARGV[10]) end
return 1
