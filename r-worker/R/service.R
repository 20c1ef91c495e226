# The worker service behind the HTTP endpoints, built from its dependencies so tests can run it
# in-process (no port): accepting tasks, cancelling them, requeueing dead letters (requeue.R), health,
# the upkeep loop and shutdown. plumber.R only turns HTTP requests into these calls and the answers
# back into HTTP; the tasks the service holds are looked after by supervisor.R.

# Seconds a caller is asked to wait after 429 worker_busy.
busy_retry_after_seconds <- 1

worker_busy_answer <- function(max_concurrent_tasks) {
  http_error(
    "worker_busy",
    sprintf("The R worker is already running its limit of %d tasks; retry later", max_concurrent_tasks),
    headers = list(`Retry-After` = as.character(busy_retry_after_seconds))
  )
}

accepted_answer <- function(task_id) {
  http_answer(202L, list(task_id = task_id, status = "created"))
}

# What a valid request (validate_task_request) runs as: its options resolved at `now`, and its first
# record: PENDING, or REVOKED at once when `expires` has passed. A requeued task's first record says so
# and keeps the created_at of the record it replaces.
plan_task_run <- function(tasks, request, now = Sys.time(), requeued_from = NULL) {
  options <- resolve_task_options(tasks[[request$task]]$defaults, request$options, now = now)
  total <- tasks[[request$task]]$steps(request$args)
  record <- new_pending_record(request$task_id, request$task, request$args, total, options$max_attempts, options$expires_at)
  if (!is.null(requeued_from)) {
    record <- update_record(record, status = requeued_status, created_at = requeued_from$created_at)
  }
  expired <- !is.null(options$expires_at) && parse_iso_datetime(options$expires_at) <= as.numeric(now)
  if (expired) {
    record <- mark_revoked(record, expired_status(options$expires_at), now = record$updated_at)
  }
  list(options = options, record = record, expired = expired)
}

new_service <- function(config, redis, logger, keys = new_key_layout(config$key_prefix), start_child = NULL, tasks = r_tasks) {
  supervisor <- new_supervisor(config, redis, keys, logger, start_child = start_child, tasks = tasks)
  watching <- FALSE

  submit_task <- function(body_raw) {
    validated <- validate_task_request(body_raw)
    if (!is.null(validated$error)) {
      logger$debug("task rejected", code = validated$error$body$error$code)
      return(validated$error)
    }
    request <- validated$request
    task_id <- request$task_id
    supervisor$upkeep()
    plan <- plan_task_run(tasks, request)
    options <- plan$options
    if (!plan$expired && supervisor$running_count() >= config$max_concurrent_tasks) {
      logger$warn("task refused: worker busy", task_id = task_id, running = supervisor$running_count())
      return(worker_busy_answer(config$max_concurrent_tasks))
    }
    created <- tryCatch(
      create_record(
        redis, keys, plan$record, config$result_ttl_seconds, config$heartbeat_ttl_seconds,
        stored_request_json(request$given)
      ),
      redis_error = function(e) e
    )
    if (inherits(created, "redis_error")) {
      logger$error("task refused: Redis unavailable", task_id = task_id, error = conditionMessage(created))
      return(http_error("redis_unavailable", "Redis cannot be reached; the task was not accepted"))
    }
    if (!created) {
      return(http_error("task_exists", sprintf("A task with id %s already exists", task_id)))
    }
    if (plan$expired) {
      logger$warn("task revoked: expired before it started", task_id = task_id, expires_at = options$expires_at)
      return(accepted_answer(task_id))
    }
    pid <- tryCatch(supervisor$hold(plan$record, request$args, options), error = function(e) e)
    if (inherits(pid, "error")) {
      logger$error("task could not be started", task_id = task_id, error = conditionMessage(pid))
      try(redis$command(list("DEL", keys$task(task_id), keys$r_heartbeat(task_id), keys$r_request(task_id))), silent = TRUE)
      return(http_error("internal", "The R worker could not start the task"))
    }
    logger$info(
      "task accepted",
      task_id = task_id, task = request$task, pid = pid, max_attempts = options$max_attempts,
      soft_time_limit_ms = options$soft_time_limit_ms, time_limit_ms = options$time_limit_ms,
      expires_at = options$expires_at
    )
    accepted_answer(task_id)
  }

  requeue_task <- new_requeue(config, redis, keys, supervisor, logger, tasks = tasks)

  cancel_task <- function(task_id) {
    invalid <- validate_task_id(task_id)
    if (!is.null(invalid)) {
      return(invalid)
    }
    unavailable <- function(e) {
      logger$error("cancel: Redis unavailable", task_id = task_id, error = conditionMessage(e))
      http_error("redis_unavailable", "Redis cannot be reached; the cancellation could not be recorded")
    }
    outcome <- tryCatch(
      {
        supervisor$upkeep()
        supervisor$cancel(task_id)
      },
      redis_error = function(e) e
    )
    if (inherits(outcome, "redis_error")) {
      return(unavailable(outcome))
    }
    if (outcome == "revoked") {
      return(http_answer(200L, list(task_id = task_id, state = "REVOKED")))
    }
    record <- tryCatch(read_record(redis, keys, task_id), redis_error = function(e) e)
    if (inherits(record, "redis_error")) {
      return(unavailable(record))
    }
    if (is_terminal_record(record)) {
      return(http_error(
        "task_finished",
        sprintf("Task %s has already finished (%s): there is nothing to cancel", task_id, record$state)
      ))
    }
    if (is.null(record)) {
      return(http_error("task_not_found", sprintf("No task with id %s (it never existed, or its record expired)", task_id)))
    }
    http_error("task_not_found", sprintf("Task %s is not held by this R service (its record is %s)", task_id, record$state))
  }

  health <- function() {
    tryCatch(supervisor$upkeep(), redis_error = function(e) NULL)
    pong <- tryCatch(redis$command(list("PING"), idempotent = TRUE), error = function(e) e)
    if (inherits(pong, "error")) {
      logger$warn("health: Redis unavailable", error = conditionMessage(pong))
      return(http_error("redis_unavailable", "Redis does not answer PING"))
    }
    http_answer(200L, list(status = "ok", running = supervisor$running_count(), max = config$max_concurrent_tasks))
  }

  # Runs the supervisor's upkeep from the event loop until stop_watching(): every `interval` seconds,
  # or sooner when a time limit, a retry or a heartbeat is due.
  start_watching <- function(interval = 0.25) {
    watching <<- TRUE
    tick <- function() {
      if (!watching) {
        return(invisible(NULL))
      }
      tryCatch(supervisor$upkeep(), error = function(e) {
        logger$error("upkeep failed", error = conditionMessage(e))
      })
      later::later(tick, max(0.005, min(interval, supervisor$next_wake())))
    }
    later::later(tick, interval)
  }

  stop_watching <- function() {
    watching <<- FALSE
  }

  # After the HTTP server has stopped: tasks waiting for a retry are failed; running tasks get
  # `grace_ms` to finish (their time limits and heartbeats still kept); the rest are killed and marked
  # FAILURE. A second interrupt (SIGINT/SIGTERM) during the wait cuts it short.
  shutdown <- function(grace_ms = config$shutdown_grace_ms, poll_seconds = 0.05) {
    stop_watching()
    upkeep <- function() {
      tryCatch(supervisor$upkeep(), error = function(e) logger$error("upkeep failed", error = conditionMessage(e)))
    }
    deadline <- Sys.time() + grace_ms / 1000
    logger$info("shutting down", running = supervisor$running_count(), grace_ms = grace_ms)
    supervisor$stop_accepting()
    tryCatch(
      while (supervisor$running_count() > 0 && Sys.time() < deadline) {
        upkeep()
        if (supervisor$running_count() > 0) Sys.sleep(poll_seconds)
      },
      interrupt = function(e) logger$warn("second stop signal: not waiting any longer for running tasks")
    )
    upkeep()
    left <- supervisor$kill_running("shutdown")
    if (length(left) > 0) {
      logger$warn("killing tasks still running after the grace period", pids = I(left))
    }
    kill_deadline <- Sys.time() + 5
    while (supervisor$held_count() > 0 && Sys.time() < kill_deadline) {
      upkeep()
      if (supervisor$held_count() > 0) Sys.sleep(poll_seconds)
    }
    logger$info("shut down", unsettled = supervisor$held_count())
    invisible(length(left))
  }

  list(
    submit_task = submit_task,
    cancel_task = cancel_task,
    requeue_task = requeue_task,
    health = health,
    upkeep = supervisor$upkeep,
    start_watching = start_watching,
    stop_watching = stop_watching,
    shutdown = shutdown,
    running = supervisor$running_count,
    supervisor = supervisor,
    pool = supervisor$pool
  )
}
