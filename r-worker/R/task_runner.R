# What a forked child does with one attempt of a claimed task (the twin of node-worker's TaskRun):
# open its own Redis connection, write STARTED, run the task writing PROGRESS after each step, and
# acknowledge the task itself, every write carrying the worker's token (task_queue.R):
# - SUCCESS with the result (finish-claim-10);
# - a failed attempt with attempts left: RETRY (retry-7), the backoff from the task's options;
# - given up: FAILURE with the R error's message, "... (gave up after N attempts)" when max_attempts
#   > 1 (finish-claim-10, a dead letter);
# - FAILURE "soft time limit exceeded (N ms)" when the worker interrupted it (SIGINT) at its soft limit.
# A write answered lease_lost (another worker owns the task now, or it was cancelled and acknowledged
# by the worker) stops the child quietly. While Redis is down a write waits for it, up to
# REDIS_RETRY_SECONDS (redis_retry.R), and the task's own work waits with it; if Redis stays away
# longer the child abandons the attempt without writing: its lease runs out and the task is
# redelivered. Any other interrupt (the whole service stopping) ends the attempt without a write: the
# worker hands the task back.
#
# Returns the child's report to the worker: list(outcome, retry_due_ms?), outcome one of "success",
# "failure", "retry", "lease_lost", "abandoned", "interrupted".

soft_limit_message <- function(ms) sprintf("soft time limit exceeded (%s ms)", format_whole(ms))
hard_limit_message <- function(ms) sprintf("time limit exceeded (%s ms)", format_whole(ms))

# The record a claimed task had when it was accepted, rebuilt from its payload.
record_of_claimed <- function(task) {
  payload <- task$payload
  mark_pending(
    list(
      task_id = task$task_id, worker = "r", queue = task$queue, task = payload$task, args = payload$args,
      options = payload$options, workflow_id = payload$workflow_id, parent_id = payload$parent_id,
      traceparent = payload$traceparent
    ),
    now = payload$created_at
  )
}

# What an attempt that failed with `message` becomes: list(record, retry_delay_ms) (RETRY, delay NULL
# when given up: FAILURE).
failed_attempt <- function(record, message, failures, options) {
  failed <- failures + 1L
  if (failed >= options$max_attempts) {
    reason <- if (options$max_attempts > 1) sprintf("%s (gave up after %s attempts)", message, format_whole(failed)) else message
    return(list(record = mark_failed(record, reason), delay_ms = NULL))
  }
  delay_ms <- backoff_delay_ms(options$backoff, failed)
  list(record = mark_retrying(record, message, failed, delay_ms), delay_ms = delay_ms)
}

# `job`: task (a claimed task: task_id, queue, payload, attempts, failures), args (validated), token,
# started (when the worker started the attempt, seconds since the epoch: time limits count from then).
# `settings`: redis_url, retry_seconds, step_ms, ttl_seconds, scripts, keys.
run_task <- function(job, settings, logger, connect = redis_connect, tasks = r_tasks) {
  task <- job$task
  task_id <- task$task_id
  options <- task$payload$options
  # The caller's trace id (W3C traceparent) on every line of the task, as the Node worker logs it.
  trace_id <- if (is.null(task$payload$traceparent)) NULL else strsplit(task$payload$traceparent, "-", fixed = TRUE)[[1]][[2]]
  log_fields <- list(task_id = task_id, task = task$payload$task, attempts = task$attempts, trace_id = trace_id)
  say <- function(level, msg, ...) do.call(logger[[level]], c(list(msg), log_fields, list(...)))

  redis <- tryCatch(
    connect(settings$redis_url, retry_seconds = settings$retry_seconds, on_outage = outage_logger(logger, task_id, settings$retry_seconds)),
    redis_error = function(e) e
  )
  if (inherits(redis, "redis_error")) {
    return(abandon_attempt(say, redis, "attempt abandoned: no Redis connection"))
  }
  on.exit(redis$close(), add = TRUE)
  queues <- new_task_queues(redis, settings$scripts, settings$keys, settings$ttl_seconds)
  record <- mark_started(record_of_claimed(task), task$attempts)
  save <- function(updated) {
    record <<- updated
    if (!queues$write_record(record, job$token)) stop(lease_lost_condition())
    invisible(TRUE)
  }

  outcome <- tryCatch(
    withCallingHandlers(
      {
        save(record)
        say("info", "task started", pid = Sys.getpid())
        progress <- function(current, total, status) {
          save(mark_progress(record, current, total, status))
          logger$debug("task progress", task_id = task_id, current = current, total = total)
        }
        context <- list(step_ms = settings$step_ms, progress = progress)
        list(kind = "success", result = tasks[[task$payload$task]]$run(job$args, context))
      },
      warning = function(w) {
        say("warn", "task warning", warning = conditionMessage(w))
        invokeRestart("muffleWarning")
      }
    ),
    lease_lost = function(e) list(kind = "lease_lost"),
    redis_error = function(e) list(kind = "redis", error = e),
    error = function(e) list(kind = "error", error = conditionMessage(e)),
    interrupt = function(e) list(kind = "interrupt")
  )
  if (outcome$kind == "lease_lost") {
    say("warn", "lease lost; another worker owns the task now (or it was cancelled)")
    return(list(outcome = "lease_lost"))
  }
  if (outcome$kind == "redis") {
    return(abandon_attempt(say, outcome$error))
  }
  if (outcome$kind == "interrupt") {
    # The interrupt may have cut a Redis command short, leaving its reply unread: start afresh.
    redis$close()
    soft_ms <- options$soft_time_limit_ms
    elapsed_ms <- (as.numeric(Sys.time()) - job$started) * 1000
    if (is.null(soft_ms) || elapsed_ms < soft_ms) {
      say("warn", "task interrupted: its worker is stopping")
      return(list(outcome = "interrupted"))
    }
  }
  acknowledged <- tryCatch(acknowledge(queues, job, record, outcome, options, say), redis_error = function(e) e)
  if (inherits(acknowledged, "redis_error")) {
    return(abandon_attempt(say, acknowledged))
  }
  acknowledged
}

# The attempt's end, written with the lease: the report for the worker.
acknowledge <- function(queues, job, record, outcome, options, say) {
  lost <- function() {
    say("warn", "lease lost; another worker owns the task now (or it was cancelled)")
    list(outcome = "lease_lost")
  }
  if (outcome$kind == "success") {
    if (!queues$finish(mark_succeeded(record, outcome$result), job$token)) return(lost())
    say("info", "task succeeded")
    return(list(outcome = "success"))
  }
  if (outcome$kind == "interrupt") {
    error <- soft_limit_message(options$soft_time_limit_ms)
    if (!queues$finish(mark_failed(record, error), job$token, dead_letter = TRUE)) return(lost())
    say("warn", "task failed", error = error)
    return(list(outcome = "failure"))
  }
  next_step <- failed_attempt(record, outcome$error, job$task$failures, options)
  if (is.null(next_step$delay_ms)) {
    if (!queues$finish(next_step$record, job$token, dead_letter = TRUE)) return(lost())
    say("warn", "task failed", error = next_step$record$error)
    return(list(outcome = "failure"))
  }
  scheduled <- queues$retry(next_step$record, job$token, next_step$delay_ms)
  if (!isTRUE(as.logical(scheduled))) return(lost())
  say("warn", "task attempt failed; retrying", error = outcome$error, delay_ms = next_step$delay_ms)
  list(outcome = "retry", retry_due_ms = attr(scheduled, "due_ms"))
}

# The child gives up on an attempt whose records it cannot write (redis_error `e`): nothing is
# written; the lease runs out and the task is redelivered.
abandon_attempt <- function(say, e, msg = "attempt abandoned: Redis stayed unavailable; the task is redelivered when its lease runs out") {
  say("error", msg, error = conditionMessage(e))
  list(outcome = "abandoned", redis_unavailable = inherits(e, "redis_unavailable"))
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

lease_lost_condition <- function() {
  structure(
    class = c("lease_lost", "error", "condition"),
    list(message = "the task's lease is lost", call = NULL)
  )
}
