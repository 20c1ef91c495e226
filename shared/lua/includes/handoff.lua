--[[ Fragment: a workflow step that ended goes in its queue's handoffs set (the outbox), in the same
  step as its terminal record, and the workflow advancers are told; they hand its result on and take
  it out. A step whose hand-off is lost to a crash is still in the set, so nothing is lost.
  `workflow` is the job's workflow field when the caller has read it already (false: none), else nil. ]]
local function hand_off(jobKey, handoffsKey, id, now, channel, queueName, workflow)
  if workflow == nil then workflow = redis.call('HGET', jobKey, 'workflow') end
  if not workflow then return end
  redis.call('ZADD', handoffsKey, now, id)
  if channel and channel ~= '' then redis.call('PUBLISH', channel, queueName) end
end
