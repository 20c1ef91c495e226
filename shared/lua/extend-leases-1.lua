--[[ Renew the leases a worker still holds on its running tasks.
  KEYS[1] leases (ZSET)             ARGV[1] new lease deadline (ms since the epoch)
                                    ARGV[2] worker token
                                    ARGV[3] job key prefix
                                    ARGV[4..] task ids
  Returns the ids whose lease this worker no longer holds (expired and handed to another worker). ]]
local lost = {}
for i = 4, #ARGV do
  local id = ARGV[i]
  if redis.call('HGET', ARGV[3] .. id, 'token') == ARGV[2] then
    redis.call('ZADD', KEYS[1], 'XX', ARGV[1], id)
  else
    lost[#lost + 1] = id
  end
end
return lost
