# How a task's payload is kept in its job hash, as shared/src/stored-payload.ts keeps it: `payload`
# holds the task, its arguments, a workflow step's ids and only the options that differ from what
# the task runs with when nothing is asked; `created_at` and `traceparent` ('' when none) are fields
# of their own. Each then stays short enough (64 bytes by default) for Redis to keep a waiting
# task's job hash as a compact listpack instead of a hashtable.

# What R task `task` runs with when nothing is asked (its tasks.json defaults, priority 5, no limits),
# resolved once per task and process: every enqueue and claim asks.
default_options_by_task <- new.env(parent = emptyenv())

default_task_options <- function(task) {
  known <- default_options_by_task[[task]]
  if (!is.null(known)) {
    return(known)
  }
  resolved <- resolve_task_options(task_defaults(task))
  assign(task, resolved, envir = default_options_by_task)
  resolved
}

same_option <- function(a, b) {
  if (is.null(a) || is.null(b)) {
    return(is.null(a) && is.null(b))
  }
  if (is.list(a) && is.list(b)) {
    return(isTRUE(a$type == b$type && a$delay_ms == b$delay_ms && isTRUE(a$jitter) == isTRUE(b$jitter)))
  }
  isTRUE(a == b)
}

# list(payload = raw MessagePack, created_at, traceparent) for enqueue-7.
store_payload <- function(payload) {
  defaults <- default_task_options(payload$task)
  options <- payload$options
  differs <- vapply(names(options), function(name) !same_option(options[[name]], defaults[[name]]), logical(1))
  stored <- list(task = payload$task, args = payload$args, options = options[differs])
  if (!is.null(payload$workflow_id)) stored[c("workflow_id", "parent_id")] <- list(payload$workflow_id, payload$parent_id)
  list(payload = msgpack_encode(stored), created_at = payload$created_at, traceparent = payload$traceparent %or% "")
}

# The payload stored as these job fields, the defaults put back. A job written before the payload was
# split holds created_at and traceparent inside `payload`, and reads back the same.
read_payload <- function(bytes, created_at, traceparent) {
  stored <- msgpack_decode(as_bytes(bytes))
  options <- default_task_options(stored$task)
  for (name in names(stored$options)) options[name] <- list(stored$options[[name]])
  payload <- list(
    task = stored$task, args = stored$args, created_at = if (nzchar(created_at)) created_at else stored$created_at,
    options = options
  )
  trace <- if (nzchar(traceparent)) traceparent else stored$traceparent
  if (!is.null(trace)) payload$traceparent <- trace
  if (!is.null(stored$workflow_id)) {
    payload$workflow_id <- stored$workflow_id
    payload["parent_id"] <- list(stored$parent_id)
  }
  payload
}
