--[[ Fragment: a workflow step that ended goes in its queue's handoffs set (the outbox), in the same
  step as its terminal record, and the workflow advancers are told; they hand its result on and take
  it out. A step whose hand-off is lost to a crash is still in the set, so nothing is lost. ]]
local function hand_off(jobKey, handoffsKey, id, now, channel, queueName)
  if not redis.call('HGET', jobKey, 'workflow') then return end
  redis.call('ZADD', handoffsKey, now, id)
  if channel and channel ~= '' then redis.call('PUBLISH', channel, queueName) end
end
