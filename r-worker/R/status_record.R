# The task status record (shared/src/status.ts TaskRecord) as the R worker writes it: a MessagePack
# map under keys$task(task_id), with the schema's required fields in the schema's order (the optional
# ones, for Node retries and expiry, are left out), re-written whole on every change with
# SET ... EX RESULT_TTL_SECONDS.
#
# PENDING (parent, before it answers 202) -> STARTED -> PROGRESS ... -> SUCCESS | FAILURE (child);
# FAILURE is also written by the parent for a child that died without a terminal record.

record_fields <- c(
  "task_id", "worker", "task", "args", "state", "current", "total", "status", "result", "error",
  "attempts", "created_at", "started_at", "updated_at", "finished_at"
)

# A record in one of these states will not change again (TERMINAL_STATES in shared/src/status.ts; the
# R worker itself ends in SUCCESS or FAILURE, but never overwrites a record another component ended).
terminal_states <- c("SUCCESS", "FAILURE", "REVOKED")

new_pending_record <- function(task_id, task, args, total, now = iso_now()) {
  list(
    task_id = task_id,
    worker = "r",
    task = task,
    args = args,
    state = "PENDING",
    current = 0L,
    total = total,
    status = "Pending...",
    result = NULL,
    error = NULL,
    attempts = 0L,
    created_at = now,
    started_at = NULL,
    updated_at = now,
    finished_at = NULL
  )
}

# Sets fields by name; a NULL value is kept as a field holding nil (plain `x$f <- NULL` would drop it).
update_record <- function(record, ...) {
  changes <- list(...)
  for (name in names(changes)) {
    record[name] <- list(changes[[name]])
  }
  record
}

mark_started <- function(record, now = iso_now()) {
  update_record(record, state = "STARTED", attempts = record$attempts + 1L, started_at = now, updated_at = now)
}

mark_progress <- function(record, current, now = iso_now()) {
  update_record(
    record,
    state = "PROGRESS", current = current,
    status = sprintf("Step %s of %s", format_whole(current), format_whole(record$total)),
    updated_at = now
  )
}

mark_success <- function(record, result, now = iso_now()) {
  update_record(
    record,
    state = "SUCCESS", current = record$total, status = "Task completed!", result = result,
    updated_at = now, finished_at = now
  )
}

mark_failure <- function(record, error, now = iso_now()) {
  update_record(
    record,
    state = "FAILURE", status = "Task failed", error = error, updated_at = now, finished_at = now
  )
}

is_terminal_record <- function(record) {
  !is.null(record) && isTRUE(record$state %in% terminal_states)
}

encode_record <- function(record) {
  missing_fields <- setdiff(record_fields, names(record))
  if (length(missing_fields) > 0) {
    stop(sprintf("status record lacks %s", paste(missing_fields, collapse = ", ")), call. = FALSE)
  }
  msgpack_encode(record[record_fields])
}

# only_if_new: write only when no record exists (SET NX); returns FALSE when one did.
write_record <- function(redis, keys, record, ttl_seconds, only_if_new = FALSE) {
  args <- list("SET", keys$task(record$task_id), encode_record(record), "EX", ttl_seconds)
  if (only_if_new) {
    return(!is.null(redis$command(c(args, list("NX")))))
  }
  redis$command(args, idempotent = TRUE)
  TRUE
}

read_record <- function(redis, keys, task_id) {
  bytes <- redis$get_raw(keys$task(task_id))
  if (is.null(bytes)) NULL else msgpack_decode(bytes)
}
