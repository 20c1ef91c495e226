--[[ Count one request of a caller in a fixed window.
  KEYS[1] the caller's counter (STRING)   ARGV[1] window length in ms
  Returns { requests in this window, ms until the window resets }. ]]
local hits = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return { hits, ttl }
