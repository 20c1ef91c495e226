--[[ Fragment: a task's record is written with its event. Every record a script stores is appended,
  byte for byte, to its queue's event stream (XADD, same hash tag), so the gateway's live events
  (GET /tasks/{id}/events, /events) are fed by the very step that changed the record, and a client
  that reconnects with Last-Event-ID reads on from the stream. The stream keeps about EVENTS_KEPT
  entries per queue (trimmed with `~`, which costs nearly nothing). ]]
local EVENTS_KEPT = 10000

local function write_record(recordKey, eventsKey, id, record, ttl)
  redis.call('SET', recordKey, record, 'EX', ttl)
  redis.call('XADD', eventsKey, 'MAXLEN', '~', EVENTS_KEPT, '*', 'task', id, 'record', record)
end
