# The Lua scripts behind every change of a task's record and heartbeat, so that each change is one
# atomic step in Redis (run with EVAL; Redis caches the compiled script). Each header lists its KEYS,
# ARGV and replies; the name ends with its number of keys, as the files in shared/lua do.
#
# The rules they keep:
# - a record in a terminal state (SUCCESS, FAILURE, REVOKED) never changes again, whoever tries to
#   write it (the service, a child, an orphaned child of a dead service), except through
#   requeue_dead_4: an operator running a dead letter again;
# - a write that continues an attempt must belong to the attempt stored (same `started_at`), so a child
#   of a run that was given up and requeued (an orphan of a dead service) cannot write into the new run;
# - a task's heartbeat goes when its record becomes terminal;
# - every FAILURE puts the task id on the R dead-letter list (once, at its head), in the same step;
# - the request a task was accepted with lives exactly as long as its record.
# Records are MessagePack maps; Lua reads their `state` and `started_at` with cmsgpack, which every
# Redis since 2.6 has. LPOS needs Redis 6.0.6 or later.
#
# Sent again after a lost answer (redis_retry.R: a script that reached Redis just before the
# connection broke may have run), and whether that is safe:
# - write_record_4: yes (sent with idempotent = TRUE). A record stored byte for byte as sent was
#   written by this very call: it answers 1 and changes nothing, so neither a terminal record's
#   dead-letter push nor anything else happens twice. Otherwise the first one did not run, or another
#   write came after it (a cancel's REVOKED), and it is judged against what is stored now, as any
#   write is. (Equal bytes, updated_at to the millisecond included, mean the same record: stored.)
# - end_heartbeat_2, refresh_heartbeats_n: yes (a DEL or SET EX done twice).
# - create_record_3: no: sent again it would find its own record and answer "exists" (409).
# - requeue_dead_4: no: the id is off the list after the first run, so the second answers "not a dead
#   letter" while the task waits unstarted.
#   These two are never sent again once they may have reached Redis (idempotent = FALSE), and they run
#   only while answering POST /tasks or a requeue, which answer 503 instead.

redis_scripts <- list(
  create_record_3 = "--[[ Write a new task's first record, its heartbeat and the request it was accepted with, unless
  a record with its id exists.
  KEYS[1] task record (STRING)      ARGV[1] record (MessagePack)
  KEYS[2] heartbeat (STRING)        ARGV[2] record TTL in seconds (the request's too)
  KEYS[3] request (STRING)          ARGV[3] heartbeat TTL in seconds; 0: none (the record is terminal)
                                    ARGV[4] request (JSON)
  Returns 1 if written, 0 if a record with that id exists (nothing is changed). ]]
if not redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2], 'NX') then return 0 end
if tonumber(ARGV[3]) > 0 then redis.call('SET', KEYS[2], '1', 'EX', ARGV[3]) end
redis.call('SET', KEYS[3], ARGV[4], 'EX', ARGV[2])
return 1",

  write_record_4 = "--[[ Replace a task's record unless the stored one is terminal or belongs to another run of the
  task. A terminal record also ends the task's heartbeat; a FAILURE makes the task a dead letter.
  KEYS[1] task record (STRING)      ARGV[1] record (MessagePack)
  KEYS[2] heartbeat (STRING)        ARGV[2] record TTL in seconds (the request's too)
  KEYS[3] request (STRING)          ARGV[3] the record's state
  KEYS[4] R dead letters (LIST)     ARGV[4] the record's started_at ('' when null)
                                    ARGV[5] task id
  A STARTED record begins an attempt: the stored record must be PENDING or RETRY. Any other record
  continues an attempt: the stored one must have its started_at. A stored record identical to ARGV[1]
  is this very write, sent again after its answer was lost: it counts as written, and nothing changes.
  Returns 1 if written (or already written), 0 if refused (nothing changed). ]]
local stored = redis.call('GET', KEYS[1])
if stored == ARGV[1] then return 1 end
if stored then
  local ok, record = pcall(cmsgpack.unpack, stored)
  if ok and type(record) == 'table' then
    local state = record['state']
    if state == 'SUCCESS' or state == 'FAILURE' or state == 'REVOKED' then return 0 end
    local same_attempt = (record['started_at'] or '') == ARGV[4]
    local begins = ARGV[3] == 'STARTED' and (state == 'PENDING' or state == 'RETRY')
    if not same_attempt and not begins then return 0 end
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('EXPIRE', KEYS[3], ARGV[2])
local new_state = ARGV[3]
if new_state == 'SUCCESS' or new_state == 'FAILURE' or new_state == 'REVOKED' then redis.call('DEL', KEYS[2]) end
if new_state == 'FAILURE' then
  redis.call('LREM', KEYS[4], 0, ARGV[5])
  redis.call('LPUSH', KEYS[4], ARGV[5])
end
return 1",

  requeue_dead_4 = "--[[ Run a dead-lettered task again: replace its FAILURE record with a new first record.
  KEYS[1] R dead letters (LIST)     ARGV[1] task id
  KEYS[2] task record (STRING)      ARGV[2] new record (MessagePack; PENDING, or REVOKED when expired);
  KEYS[3] heartbeat (STRING)                '' when the caller could not build one (no usable request)
  KEYS[4] request (STRING)          ARGV[3] record TTL in seconds (the request's too)
                                    ARGV[4] heartbeat TTL in seconds; 0: none (the record is terminal)
                                    ARGV[5] '1' if the worker has no free slot for it, else '0'
  Returns 1 requeued (taken off the list); 0 not a dead letter (nothing changed; an id whose record is
  not FAILURE is taken off the list); -1 it can no longer run: its request or record expired, or no
  record was given (taken off the list); -2 no free slot (nothing changed). ]]
if not redis.call('LPOS', KEYS[1], ARGV[1]) then return 0 end
local state = nil
local stored = redis.call('GET', KEYS[2])
if stored then
  local ok, record = pcall(cmsgpack.unpack, stored)
  if ok and type(record) == 'table' then state = record['state'] end
end
if stored and state ~= 'FAILURE' then
  redis.call('LREM', KEYS[1], 0, ARGV[1])
  return 0
end
if not stored or redis.call('EXISTS', KEYS[4]) == 0 or ARGV[2] == '' then
  redis.call('LREM', KEYS[1], 0, ARGV[1])
  return -1
end
if ARGV[5] == '1' then return -2 end
redis.call('LREM', KEYS[1], 0, ARGV[1])
redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
redis.call('EXPIRE', KEYS[4], ARGV[3])
if tonumber(ARGV[4]) > 0 then redis.call('SET', KEYS[3], '1', 'EX', ARGV[4]) end
return 1",

  end_heartbeat_2 = "--[[ Delete a task's heartbeat once the service lets the task go, unless its record is live again
  (not terminal): then the task was requeued, and the heartbeat belongs to its new run.
  KEYS[1] task record (STRING)
  KEYS[2] heartbeat (STRING)
  Returns 1 if deleted (or there was none to delete), 0 if kept. ]]
local stored = redis.call('GET', KEYS[1])
if stored then
  local ok, record = pcall(cmsgpack.unpack, stored)
  if ok and type(record) == 'table' then
    local state = record['state']
    if state ~= 'SUCCESS' and state ~= 'FAILURE' and state ~= 'REVOKED' then return 0 end
  end
end
redis.call('DEL', KEYS[2])
return 1",

  refresh_heartbeats_n = "--[[ Keep the heartbeats of the tasks a live service holds.
  KEYS[1..n] heartbeats (STRING)    ARGV[1] heartbeat TTL in seconds
  Returns n. ]]
for _, key in ipairs(KEYS) do redis.call('SET', key, '1', 'EX', ARGV[1]) end
return #KEYS"
)

run_redis_script <- function(redis, name, keys, args = list(), idempotent = FALSE) {
  redis$command(c(list("EVAL", redis_scripts[[name]], length(keys)), as.list(keys), args), idempotent = idempotent)
}
