# The Lua scripts behind every change of a task's record and heartbeat, so that each change is one
# atomic step in Redis (run with EVAL; Redis caches the compiled script). Each header lists its KEYS,
# ARGV and replies; the name ends with its number of keys, as the files in shared/lua do.
#
# The rule they keep: a record in a terminal state (SUCCESS, FAILURE, REVOKED) never changes again,
# whoever tries to write it, the service, a child, an orphaned child of a dead service; and a task's
# heartbeat goes when its record becomes terminal. Records are MessagePack maps; Lua reads their
# `state` with cmsgpack, which every Redis since 2.6 has.

redis_scripts <- list(
  create_record_2 = "--[[ Write a new task's first record, and its heartbeat, unless a record with its id exists.
  KEYS[1] task record (STRING)      ARGV[1] record (MessagePack)
  KEYS[2] heartbeat (STRING)        ARGV[2] record TTL in seconds
                                    ARGV[3] heartbeat TTL in seconds; 0: none (the record is terminal)
  Returns 1 if written, 0 if a record with that id exists (it is left alone). ]]
if not redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2], 'NX') then return 0 end
if tonumber(ARGV[3]) > 0 then redis.call('SET', KEYS[2], '1', 'EX', ARGV[3]) end
return 1",

  write_record_2 = "--[[ Replace a task's record unless the stored one is terminal; a terminal record also ends the
  task's heartbeat.
  KEYS[1] task record (STRING)      ARGV[1] record (MessagePack)
  KEYS[2] heartbeat (STRING)        ARGV[2] record TTL in seconds
                                    ARGV[3] 1 if the new record is terminal, else 0
  Returns 1 if written, 0 if the stored record is terminal (nothing changed). ]]
local stored = redis.call('GET', KEYS[1])
if stored then
  local ok, record = pcall(cmsgpack.unpack, stored)
  if ok and type(record) == 'table' then
    local state = record['state']
    if state == 'SUCCESS' or state == 'FAILURE' or state == 'REVOKED' then return 0 end
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
if ARGV[3] == '1' then redis.call('DEL', KEYS[2]) end
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
