# The task status record (shared/src/status.ts TaskRecord) as the R worker writes it: a MessagePack
# map under keys$task(task_id), with every field of the schema in the schema's order, re-written whole
# on every change with a TTL of RESULT_TTL_SECONDS (through the scripts of redis_scripts.R, so a
# terminal record is never overwritten, a finished task's heartbeat goes with it, a FAILURE goes on
# the dead-letter list, and the stored request keeps the record's TTL).
#
# PENDING (service, before it answers 202) -> STARTED -> PROGRESS ... -> SUCCESS | FAILURE, or RETRY
# (a failed attempt waiting out its backoff) -> STARTED again (child); REVOKED when cancelled or
# expired, and FAILURE for a child that ended without a terminal record (service). A FAILURE may
# become PENDING again only through a requeue (requeue.R).

record_fields <- c(
  "task_id", "worker", "task", "args", "state", "current", "total", "status", "result", "error",
  "attempts", "max_attempts", "expires_at", "created_at", "started_at", "updated_at", "finished_at"
)

# A record in one of these states will not change again (TERMINAL_STATES in shared/src/status.ts).
terminal_states <- c("SUCCESS", "FAILURE", "REVOKED")

new_pending_record <- function(task_id, task, args, total, max_attempts = 1L, expires_at = NULL, now = iso_now()) {
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
    max_attempts = as.integer(max_attempts),
    expires_at = expires_at,
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

# A new attempt: the previous attempt's progress and error are cleared.
mark_started <- function(record, now = iso_now()) {
  attempts <- record$attempts + 1L
  update_record(
    record,
    state = "STARTED", current = 0L, status = if (attempts > 1) sprintf("Started (attempt %d)", attempts) else "Started",
    result = NULL, error = NULL, attempts = attempts, started_at = now, updated_at = now
  )
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

# A failed attempt with attempts left; `delay_ms` is the backoff before the next one.
mark_retry <- function(record, error, delay_ms, now = iso_now()) {
  update_record(
    record,
    state = "RETRY",
    status = sprintf(
      "Attempt %d of %d failed; retrying in %s s",
      record$attempts, record$max_attempts, format_seconds_tenths(delay_ms)
    ),
    error = error, updated_at = now
  )
}

mark_revoked <- function(record, status, now = iso_now()) {
  update_record(record, state = "REVOKED", status = status, error = NULL, updated_at = now, finished_at = now)
}

expired_status <- function(expires_at) {
  sprintf("Expired at %s before it started", expires_at)
}

# As JavaScript's (ms / 1000).toFixed(1): halves round up.
format_seconds_tenths <- function(ms) {
  sprintf("%.1f", floor(ms / 100 + 0.5) / 10)
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

# The first record of a task, with its heartbeat when the record is not terminal, and the request it
# was accepted with (JSON, same TTL), unless a record with its id exists (then FALSE, and nothing is
# written).
create_record <- function(redis, keys, record, ttl_seconds, heartbeat_ttl_seconds, request_json) {
  task_id <- record$task_id
  heartbeat <- if (is_terminal_record(record)) 0 else heartbeat_ttl_seconds
  created <- run_redis_script(
    redis, "create_record_3", c(keys$task(task_id), keys$r_heartbeat(task_id), keys$r_request(task_id)),
    list(encode_record(record), ttl_seconds, heartbeat, request_json)
  )
  identical(as.numeric(created), 1)
}

# Replaces the record unless the stored one is terminal or belongs to another run of the task (then
# FALSE): see write_record_4. A terminal record also deletes the task's heartbeat, and a FAILURE puts
# the task on the dead-letter list. Safe to send again after its answer was lost (the script counts a
# stored record identical to the one sent as written), so it is sent as idempotent: a child's writes
# wait out a Redis outage (redis_retry.R).
write_record <- function(redis, keys, record, ttl_seconds) {
  task_id <- record$task_id
  written <- run_redis_script(
    redis, "write_record_4",
    c(keys$task(task_id), keys$r_heartbeat(task_id), keys$r_request(task_id), keys$r_dead),
    list(encode_record(record), ttl_seconds, record$state, record$started_at %or% "", task_id),
    idempotent = TRUE
  )
  identical(as.numeric(written), 1)
}

read_record <- function(redis, keys, task_id) {
  bytes <- redis$get_raw(keys$task(task_id))
  if (is.null(bytes)) NULL else msgpack_decode(bytes)
}

# Sets the heartbeat of every task in `task_ids` (one round trip).
refresh_heartbeats <- function(redis, keys, task_ids, heartbeat_ttl_seconds) {
  if (length(task_ids) == 0) {
    return(invisible(0))
  }
  heartbeat_keys <- vapply(task_ids, keys$r_heartbeat, character(1), USE.NAMES = FALSE)
  invisible(run_redis_script(redis, "refresh_heartbeats_n", heartbeat_keys, list(heartbeat_ttl_seconds), idempotent = TRUE))
}

# Deletes the heartbeat of a task the service lets go, unless its record is live again (requeued: the
# heartbeat is its new run's). TRUE if deleted or absent.
end_heartbeat <- function(redis, keys, task_id) {
  ended <- run_redis_script(redis, "end_heartbeat_2", c(keys$task(task_id), keys$r_heartbeat(task_id)), idempotent = TRUE)
  identical(as.numeric(ended), 1)
}
