# What a forked child does with one attempt of a task: open its own Redis connection, write STARTED,
# run the task writing PROGRESS after each step, and end with one record:
# - SUCCESS with the result;
# - RETRY when the task raised an R error and attempts are left (the service starts the next attempt
#   after the backoff), else FAILURE with the error's message ("... (gave up after N attempts)");
# - FAILURE "soft time limit exceeded (N ms)" when the service interrupted it (SIGINT) at its soft
#   limit; any other interrupt is a stop of the whole service: FAILURE "worker shut down ...".
# Soft limits and exhausted attempts are not retried. Every write goes through write_record, so once
# the record is terminal (the task was cancelled, or a gateway recorded it lost) the child stops.
# While Redis is down a write waits for it, up to REDIS_RETRY_SECONDS (`retry_seconds`, see
# redis_retry.R); the task's own work waits with it. If Redis stays away longer, or refuses a write
# outright, the child abandons the task: it cannot write anything, so it tells the service, which
# records the FAILURE once Redis is back (supervisor.R).
#
# Returns the child's report to the service: list(state, record) of the last record it wrote (without
# args, which the service has); list(abandoned = TRUE, redis_unavailable, error) when it abandoned the
# task for Redis; or NULL when it wrote no terminal or RETRY record. Without `record` the service reads
# the record from Redis instead.

shutdown_message <- "worker shut down before the task finished"

soft_limit_message <- function(ms) sprintf("soft time limit exceeded (%s ms)", format_whole(ms))
hard_limit_message <- function(ms) sprintf("time limit exceeded (%s ms)", format_whole(ms))

# `job`: record (PENDING or RETRY), args, options (resolved), retry_delay_ms (the backoff if this
# attempt fails), started (when the service started the attempt, in seconds since the epoch: time
# limits count from then).
run_task <- function(job, redis_url, keys, ttl_seconds, step_ms, logger, connect = redis_connect, tasks = r_tasks,
                     retry_seconds = 0) {
  record <- job$record
  task_id <- record$task_id
  redis <- tryCatch(
    connect(redis_url, retry_seconds = retry_seconds, on_outage = outage_logger(logger, task_id, retry_seconds)),
    redis_error = function(e) e
  )
  if (inherits(redis, "redis_error")) {
    return(abandon_task(logger, task_id, redis, "task could not start: no Redis connection"))
  }
  on.exit(redis$close(), add = TRUE)
  save <- function(updated) {
    record <<- updated
    if (!write_record(redis, keys, record, ttl_seconds)) stop(record_ended_condition())
    invisible(TRUE)
  }

  outcome <- tryCatch(
    withCallingHandlers(
      {
        save(mark_started(record))
        logger$info("task started", task_id = task_id, task = record$task, attempt = record$attempts, pid = Sys.getpid())
        progress <- function(current, total) {
          save(mark_progress(record, current))
          logger$debug("task progress", task_id = task_id, current = current, total = total)
        }
        context <- list(step_ms = step_ms, progress = progress)
        list(kind = "success", result = tasks[[record$task]]$run(job$args, context))
      },
      warning = function(w) {
        logger$warn("task warning", task_id = task_id, warning = conditionMessage(w))
        invokeRestart("muffleWarning")
      }
    ),
    record_ended = function(e) list(kind = "ended"),
    redis_error = function(e) list(kind = "redis", error = e),
    error = function(e) list(kind = "error", error = conditionMessage(e)),
    interrupt = function(e) list(kind = "interrupt")
  )
  if (outcome$kind == "ended") {
    logger$warn("task stopped: its record was ended elsewhere (cancelled?)", task_id = task_id)
    return(invisible(NULL))
  }
  if (outcome$kind == "redis") {
    return(abandon_task(logger, task_id, outcome$error))
  }
  if (outcome$kind == "interrupt") {
    # The interrupt may have cut a Redis command short, leaving the reply unread: start afresh.
    redis$close()
  }
  final <- final_record(record, outcome, job)
  written <- tryCatch(save(final), record_ended = function(e) FALSE, redis_error = function(e) e)
  if (inherits(written, "redis_error")) {
    return(abandon_task(logger, task_id, written, intended = final$state))
  }
  log_outcome(logger, final, job)
  if (!isTRUE(written)) {
    return(invisible(NULL))
  }
  final["args"] <- list(NULL)
  invisible(list(state = final$state, record = final))
}

final_record <- function(record, outcome, job) {
  if (outcome$kind == "success") {
    return(mark_success(record, outcome$result))
  }
  if (outcome$kind == "interrupt") {
    soft_ms <- job$options$soft_time_limit_ms
    elapsed_ms <- (as.numeric(Sys.time()) - job$started) * 1000
    reason <- if (!is.null(soft_ms) && elapsed_ms >= soft_ms) soft_limit_message(soft_ms) else shutdown_message
    return(mark_failure(record, reason))
  }
  failed <- record$attempts
  max_attempts <- job$options$max_attempts
  if (failed < max_attempts) {
    return(mark_retry(record, outcome$error, job$retry_delay_ms))
  }
  mark_failure(record, if (max_attempts > 1) sprintf("%s (gave up after %d attempts)", outcome$error, failed) else outcome$error)
}

log_outcome <- function(logger, record, job) {
  fields <- list(task_id = record$task_id, task = record$task, attempt = record$attempts)
  switch(record$state,
    SUCCESS = do.call(logger$info, c(list("task succeeded"), fields)),
    RETRY = do.call(logger$warn, c(list("task attempt failed; retrying", error = record$error, delay_ms = job$retry_delay_ms), fields)),
    do.call(logger$warn, c(list("task failed", error = record$error), fields))
  )
}

# The child gives up on a task whose record it cannot write (redis_error `e`), and says why.
abandon_task <- function(logger, task_id, e, msg = "task abandoned: its record could not be written to Redis", intended = NULL) {
  logger$error(msg, task_id = task_id, error = conditionMessage(e), unwritten_state = intended)
  invisible(list(abandoned = TRUE, redis_unavailable = inherits(e, "redis_unavailable"), error = conditionMessage(e)))
}

# One line when a write starts waiting for Redis, one when it gets through.
outage_logger <- function(logger, task_id, retry_seconds) {
  function(phase, waited_seconds, error) {
    if (phase == "started") {
      logger$warn("Redis unavailable: the task waits for it", task_id = task_id, retry_seconds = retry_seconds, error = conditionMessage(error))
    } else {
      logger$info("Redis reachable again: the task goes on", task_id = task_id, waited_ms = round(waited_seconds * 1000))
    }
  }
}

record_ended_condition <- function() {
  structure(
    class = c("record_ended", "error", "condition"),
    list(message = "the task's record is already terminal", call = NULL)
  )
}
