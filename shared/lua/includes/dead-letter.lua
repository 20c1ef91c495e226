--[[ Fragment: a task given up on (FAILURE) becomes a dead letter of its queue: its id goes in the
  dead set scored by when it failed, and its job hash stays, without a lease and expiring with the
  record, so an operator can requeue it. ]]
local function dead_letter(deadKey, jobKey, id, now, ttl)
  redis.call('HDEL', jobKey, 'token', 'revoked')
  redis.call('HSET', jobKey, 'dead', 1)
  redis.call('EXPIRE', jobKey, ttl)
  redis.call('ZADD', deadKey, now, id)
end
