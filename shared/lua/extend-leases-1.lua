--[[ Renew the leases a worker still holds on its running tasks, and tell it which were cancelled.
  KEYS[1] leases (ZSET)             ARGV[1] new lease deadline (ms since the epoch)
                                    ARGV[2] worker token
                                    ARGV[3] job key prefix
                                    ARGV[4..] task ids
  Returns { lost, revoked }: ids whose lease this worker no longer holds (expired and handed to
  another worker), and ids cancelled while running (a missed pub/sub message is caught here). ]]
local lost, revoked = {}, {}
for i = 4, #ARGV do
  local id = ARGV[i]
  local fields = redis.call('HMGET', ARGV[3] .. id, 'token', 'revoked')
  if fields[1] == ARGV[2] then
    redis.call('ZADD', KEYS[1], 'XX', ARGV[1], id)
    if fields[2] then revoked[#revoked + 1] = id end
  else
    lost[#lost + 1] = id
  end
end
return { lost, revoked }
