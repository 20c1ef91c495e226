# The task status record (TaskRecord in shared/src/status.ts) as the R worker writes it: a
# MessagePack map with the fields of rules.json `record_fields`, in that order. Every change is one of
# the named transitions below, the twins of shared/src/transitions.ts (pending, started, progress,
# retrying, succeeded, failed, revoked, released, requeued); tests/testthat/test-status_record.R runs
# them against shared/contracts/transition-vectors.json byte for byte. Each returns a new record;
# `now` is an ISO timestamp (clock.R).
#
# The record is written only through the queue scripts (task_queue.R), which check the writer's lease.

# The record in field order (msgpack keeps key order, so the bytes match TypeScript's). A NULL value
# is kept as a field holding nil.
in_field_order <- function(record) {
  fields <- record_fields()
  out <- lapply(fields, function(field) record[[field]])
  names(out) <- fields
  out
}

# Sets fields by name (a NULL value sets nil, where `x$f <- NULL` would drop the field).
update_record <- function(record, ...) {
  changes <- list(...)
  for (name in names(changes)) {
    record[name] <- list(changes[[name]])
  }
  in_field_order(record)
}

# How many steps a task reports (stepsOf): long_task counts to its total; every other task is one step.
steps_of <- function(task, args) {
  first <- if (length(args) >= 1) args[[1]] else NULL
  if (identical(task, "long_task") && is.numeric(first) && length(first) == 1) first else 1L
}

# The record a task starts with. `init`: task_id, worker, queue, task, args, options (max_attempts,
# expires_at, priority, eta).
mark_pending <- function(init, now = iso_now()) {
  options <- init$options
  in_field_order(list(
    task_id = init$task_id,
    worker = init$worker,
    queue = init$queue,
    priority = options$priority,
    workflow_id = init$workflow_id,
    parent_id = init$parent_id,
    traceparent = init$traceparent,
    task = init$task,
    args = init$args,
    state = "PENDING",
    current = 0L,
    total = steps_of(init$task, init$args),
    status = record_status("pending"),
    result = NULL,
    error = NULL,
    attempts = 0L,
    max_attempts = options$max_attempts,
    eta = options$eta,
    expires_at = options$expires_at,
    created_at = now,
    started_at = NULL,
    updated_at = now,
    finished_at = NULL
  ))
}

# A worker began delivery number `attempts` (1 = the first): the last attempt's progress and error go.
mark_started <- function(record, attempts, now = iso_now()) {
  update_record(
    record,
    state = "STARTED", current = 0L,
    status = if (attempts > 1) sprintf("Started (attempt %s)", format_whole(attempts)) else "Started",
    result = NULL, error = NULL, attempts = attempts, started_at = now, updated_at = now
  )
}

mark_progress <- function(record, current, total, status, now = iso_now()) {
  update_record(record, state = "PROGRESS", current = current, total = total, status = status, updated_at = now)
}

# Attempt number `failed_attempts` failed with `error`; the next one starts after `delay_ms`.
mark_retrying <- function(record, error, failed_attempts, delay_ms, now = iso_now()) {
  update_record(
    record,
    state = "RETRY",
    status = sprintf(
      "Attempt %s of %s failed; retrying in %s s",
      format_whole(failed_attempts), format_whole(record$max_attempts), format_seconds_tenths(delay_ms)
    ),
    error = error, updated_at = now
  )
}

mark_succeeded <- function(record, result, now = iso_now()) {
  update_record(
    record,
    state = "SUCCESS", current = record$total, status = record_status("succeeded"), result = result,
    error = NULL, updated_at = now, finished_at = now
  )
}

mark_failed <- function(record, error, now = iso_now()) {
  update_record(record, state = "FAILURE", status = record_status("failed"), error = error, updated_at = now, finished_at = now)
}

mark_revoked <- function(record, status, now = iso_now()) {
  update_record(record, state = "REVOKED", status = status, error = NULL, updated_at = now, finished_at = now)
}

# Its worker stopped before the task finished and handed it back to the queue (attempts kept).
mark_released <- function(record, now = iso_now()) {
  update_record(record, state = "PENDING", status = record_status("released"), updated_at = now)
}

# An operator runs a dead letter again: a fresh start, attempts reset, created_at kept.
mark_requeued <- function(record, now = iso_now()) {
  update_record(
    record,
    state = "PENDING", current = 0L, status = record_status("requeued"), result = NULL, error = NULL,
    attempts = 0L, started_at = NULL, updated_at = now, finished_at = NULL
  )
}

expired_status <- function(expires_at) {
  sprintf("Expired at %s before it started", expires_at)
}

# As JavaScript's (ms / 1000).toFixed(1): halves round up.
format_seconds_tenths <- function(ms) {
  sprintf("%.1f", floor(ms / 100 + 0.5) / 10)
}

is_terminal_record <- function(record) {
  !is.null(record) && isTRUE(record$state %in% terminal_states())
}

# The record as it is stored (shared/src/stored-record.ts): without task_id, which its key and its
# event's `task` field name, without its NULL fields, and without updated_at while it equals
# created_at; decode_record puts them back.
encode_record <- function(record) {
  missing_fields <- setdiff(record_fields(), names(record))
  if (length(missing_fields) > 0) {
    stop(sprintf("status record lacks %s", paste(missing_fields, collapse = ", ")), call. = FALSE)
  }
  stored <- in_field_order(record)
  stored$task_id <- NULL
  if (identical(stored$updated_at, stored$created_at)) stored$updated_at <- NULL
  msgpack_encode(stored[!vapply(stored, is.null, logical(1))])
}

# The whole record of `task_id` stored as `bytes`, in field order, or NULL when there is none.
decode_record <- function(bytes, task_id) {
  if (is.null(bytes)) {
    return(NULL)
  }
  stored <- msgpack_decode(as_bytes(bytes))
  stored$task_id <- task_id
  if (is.null(stored$updated_at)) stored$updated_at <- stored$created_at
  in_field_order(stored)
}
