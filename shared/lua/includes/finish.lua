--[[ Fragment: a task acknowledged with its terminal record (SUCCESS, FAILURE, REVOKED), if the caller
  still holds its lease: off the active set; a FAILURE becomes a dead letter of its queue, otherwise
  the job hash goes; a workflow step is handed off to its workflow (the handoffs set). Needs the
  lease, dead-letter, handoff and events fragments. Returns 1 (ok) or -1 (lease_lost: another worker
  owns the task now, nothing changed), and whether it changed anything: a call sent again after its
  answer was lost finds its own record and answers 1, but must not count the outcome twice. ]]
local function finish_task(q, id, token, record, deadLetter)
  local jobKey = q.jobPrefix .. id
  local recordKey = q.taskPrefix .. id
  -- The lease check (holds_lease) and the workflow field in one read.
  local job = redis.call('HMGET', jobKey, 'token', 'workflow')
  if job[1] ~= token then
    if already_written(recordKey, record) then return 1, false end
    return -1, false
  end
  redis.call('ZREM', q.leases, id)
  hand_off(jobKey, q.handoffs, id, q.now, q.channel, q.name, job[2])
  if deadLetter == '1' then
    dead_letter(q.dead, jobKey, id, q.now, q.ttl)
  else
    redis.call('DEL', jobKey)
  end
  write_record(recordKey, q.events, id, record, q.ttl)
  return 1, true
end
