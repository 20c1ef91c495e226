--[[ Replace a workflow's state if it is still the version the caller read (compare-and-set): the
  workflow engine (TypeScript) computes each change; this makes it atomic against other advancers.
  KEYS[1] workflow state (STRING, MessagePack)   ARGV[1] the version read ('0': none yet, create)
  KEYS[2] workflow version (STRING)              ARGV[2] the new state (MessagePack)
  KEYS[3] workflow events (STREAM)               ARGV[3] the new version
                                                 ARGV[4] TTL in seconds
  Returns 1 (ok) written; -1 (lease_lost) another advancer changed it first: read it again. ]]
local current = redis.call('GET', KEYS[2]) or '0'
if current ~= ARGV[1] then return -1 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[4])
redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[4])
-- GET /workflows/{id}/events reads this: each change, by version (the state itself is read fresh).
redis.call('XADD', KEYS[3], 'MAXLEN', '~', 100, '*', 'version', ARGV[3])
redis.call('EXPIRE', KEYS[3], ARGV[4])
return 1
