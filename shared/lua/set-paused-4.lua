--[[ Pause or resume a queue. A paused queue still accepts tasks; no worker takes any until it is
  resumed, when blocked workers are woken.
  KEYS[1] paused (STRING)           ARGV[1] '1' to pause, '' to resume
  KEYS[2] waiting (ZSET)            ARGV[2] wake channel to PUBLISH the queue's name on at resume, or ''
  KEYS[3] delayed (ZSET)            ARGV[3] the queue's name (`<kind>:<queue>`)
  KEYS[4] marker (ZSET)
  Returns 1 (ok). ]]
--@include waiting
if ARGV[1] == '1' then
  redis.call('SET', KEYS[1], '1')
  return 1
end
redis.call('DEL', KEYS[1])
if hand_on_marker(KEYS[2], KEYS[3], KEYS[4]) == 0 and ARGV[2] ~= '' then redis.call('PUBLISH', ARGV[2], ARGV[3]) end
return 1
