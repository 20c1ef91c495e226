--[[ A worker's turn on one queue, in one call: acknowledge the tasks it finished with their terminal
  records, then take up to ARGV[8] more. A worker sends what finished while its last call was out,
  so under load one call settles and refills many slots (each task costs a few commands, the call's
  own cost is shared); with nothing to take (ARGV[8] = 0) it only acknowledges, with nothing finished
  it only takes. Outcomes are counted in the stats hash once per call.
  KEYS[1] leases (ZSET)             ARGV[1] worker token
  KEYS[2] dead letters (ZSET)       ARGV[2] record TTL in seconds
  KEYS[3] handoffs (ZSET)           ARGV[3] now (ms since the epoch)
  KEYS[4] events (STREAM)           ARGV[4] handoff channel, or ''
  KEYS[5] stats (HASH)              ARGV[5] the queue's name (`<kind>:<queue>`)
  KEYS[6] waiting (ZSET)            ARGV[6] job key prefix (the id is appended)
  KEYS[7] delayed (ZSET)            ARGV[7] task record key prefix (the id is appended)
  KEYS[8] marker (ZSET)             ARGV[8] most tasks to take (0: none)
  KEYS[9] seq (STRING)              ARGV[9] lease deadline of the tasks taken (ms since the epoch)
  KEYS[10] paused (STRING)
  ARGV[10...] 7 per finished task: id, terminal record (MessagePack), '1' to dead-letter it (a
    FAILURE), task name, terminal state, run time in seconds or '' (never started), its run-time
    bucket (upper bound, '+Inf' last).
  Returns { acks, taken, next }: acks holds, per finished task in order, 1 (ok: acknowledged, or
  already by this very call sent before) or -1 (lease_lost: another worker owns it, nothing changed);
  taken holds 7 entries a task taken (see the claim fragment); next is when the queue next has work
  (ms; 0 now, -1 never), which bounds how long the worker may block, or -1 when it took none. ]]
--@include lease
--@include dead-letter
--@include handoff
--@include events
--@include stats
--@include finish
--@include waiting
--@include claim
local q = {
  leases = KEYS[1], dead = KEYS[2], handoffs = KEYS[3], events = KEYS[4],
  token = ARGV[1], ttl = ARGV[2], now = ARGV[3], channel = ARGV[4], name = ARGV[5],
  jobPrefix = ARGV[6], taskPrefix = ARGV[7],
}
local acks = {}
local tally = new_tally()
for i = 10, #ARGV, 7 do
  local ack, changed = finish_task(q, ARGV[i], q.token, ARGV[i + 1], ARGV[i + 2])
  acks[#acks + 1] = ack
  if changed then tally_outcome(tally, ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], ARGV[i + 6]) end
end
count_tally(KEYS[5], tally, q.now)
local taken = {}
local nextWorkAt = -1
if tonumber(ARGV[8]) > 0 then
  nextWorkAt = take_tasks(taken, KEYS[6], KEYS[7], KEYS[1], KEYS[8], KEYS[9], KEYS[10], q.jobPrefix, ARGV[8], ARGV[9], q.token, q.now)
end
return { acks, taken, nextWorkAt }
