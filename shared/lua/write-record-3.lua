--[[ Write a running task's record (STARTED, PROGRESS) if the writer still holds the task's lease, so a
  worker that lost its lease cannot overwrite the record of the worker that now runs the task.
  KEYS[1] job hash                  ARGV[1] worker token
  KEYS[2] task record (STRING)      ARGV[2] record (MessagePack)
  KEYS[3] events (STREAM)           ARGV[3] record TTL in seconds
                                    ARGV[4] task id
  Returns 1 (ok) written; -1 (lease_lost) not written. ]]
--@include lease
--@include events
if not holds_lease(KEYS[1], ARGV[1]) then
  if already_written(KEYS[2], ARGV[2]) then return 1 end
  return -1
end
write_record(KEYS[2], KEYS[3], ARGV[4], ARGV[2], ARGV[3])
return 1
