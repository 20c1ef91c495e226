# The worker service behind the HTTP endpoints, built from its dependencies so tests can run it
# in-process (no port): accepting tasks, health, watching children, shutdown. plumber.R only turns
# HTTP requests into these calls and the answers back into HTTP.

worker_lost_message <- "worker lost: the R child process exited without a result"

# Seconds a caller is asked to wait after 429 worker_busy.
busy_retry_after_seconds <- 1

new_service <- function(config, redis, logger, keys = new_key_layout(config$key_prefix), start_child = NULL) {
  pool <- new_child_pool()
  # Children that ended while Redis could not be reached: their records are checked again later.
  unsettled <- list()
  watching <- FALSE

  if (is.null(start_child)) {
    start_child <- function(record, args) {
      work <- function() {
        run_task(
          record, args, config$redis_url, keys, config$result_ttl_seconds, config$long_task_step_ms,
          logger
        )
      }
      fork_child(pool, work, info = list(record = record))
    }
  }

  submit_task <- function(body_raw) {
    validated <- validate_task_request(body_raw)
    if (!is.null(validated$error)) {
      logger$debug("task rejected", code = validated$error$body$error$code)
      return(validated$error)
    }
    request <- validated$request
    task_id <- request$task_id
    settle_ended_children()
    if (running_count(pool) >= config$max_concurrent_tasks) {
      logger$warn("task refused: worker busy", task_id = task_id, running = running_count(pool))
      return(http_error(
        "worker_busy",
        sprintf("The R worker is already running its limit of %d tasks; retry later", config$max_concurrent_tasks),
        headers = list(`Retry-After` = as.character(busy_retry_after_seconds))
      ))
    }
    total <- r_tasks[[request$task]]$steps(request$args)
    record <- new_pending_record(task_id, request$task, request$args, total)
    created <- tryCatch(
      write_record(redis, keys, record, config$result_ttl_seconds, only_if_new = TRUE),
      redis_error = function(e) e
    )
    if (inherits(created, "redis_error")) {
      logger$error("task refused: Redis unavailable", task_id = task_id, error = conditionMessage(created))
      return(http_error("redis_unavailable", "Redis cannot be reached; the task was not accepted"))
    }
    if (!created) {
      return(http_error("task_exists", sprintf("A task with id %s already exists", task_id)))
    }
    pid <- tryCatch(start_child(record, request$args), error = function(e) e)
    if (inherits(pid, "error")) {
      logger$error("task could not be started", task_id = task_id, error = conditionMessage(pid))
      try(redis$command(list("DEL", keys$task(task_id))), silent = TRUE)
      return(http_error("internal", "The R worker could not start the task"))
    }
    logger$info("task accepted", task_id = task_id, task = request$task, pid = pid)
    http_answer(202L, list(task_id = task_id, status = "created"))
  }

  health <- function() {
    settle_ended_children()
    pong <- tryCatch(redis$command(list("PING"), idempotent = TRUE), error = function(e) e)
    if (inherits(pong, "error")) {
      logger$warn("health: Redis unavailable", error = conditionMessage(pong))
      return(http_error("redis_unavailable", "Redis does not answer PING"))
    }
    http_answer(200L, list(status = "ok", running = running_count(pool), max = config$max_concurrent_tasks))
  }

  # Every ended child whose record is not SUCCESS or FAILURE gets FAILURE with `reason`.
  settle_ended_children <- function(reason = worker_lost_message) {
    for (info in reap_children(pool)) {
      unsettled[[length(unsettled) + 1L]] <<- list(info = info, reason = reason)
    }
    waiting <- unsettled
    unsettled <<- list()
    for (item in waiting) {
      done <- tryCatch(settle_child(item$info, item$reason), redis_error = function(e) {
        logger$error(
          "could not check the record of an ended child; will retry",
          task_id = item$info$record$task_id, error = conditionMessage(e)
        )
        FALSE
      })
      if (!done) unsettled[[length(unsettled) + 1L]] <<- item
    }
    invisible(NULL)
  }

  # The parent is the only writer left once the child has gone, so read-then-write cannot race.
  settle_child <- function(info, reason) {
    task_id <- info$record$task_id
    if (isTRUE(info$report)) {
      logger$debug("child ended after writing its final record", task_id = task_id, pid = info$pid)
      return(TRUE)
    }
    record <- read_record(redis, keys, task_id)
    if (is_terminal_record(record)) {
      logger$debug("child ended", task_id = task_id, pid = info$pid, state = record$state)
      return(TRUE)
    }
    base <- if (is.null(record)) info$record else record
    write_record(redis, keys, mark_failure(base, reason), config$result_ttl_seconds)
    logger$error("task failed: child ended without a result", task_id = task_id, pid = info$pid, error = reason)
    TRUE
  }

  # Checks on the children every `interval` seconds from the event loop until stop_watching().
  start_watching <- function(interval = 0.25) {
    watching <<- TRUE
    tick <- function() {
      if (!watching) {
        return(invisible(NULL))
      }
      tryCatch(settle_ended_children(), error = function(e) {
        logger$error("watching children failed", error = conditionMessage(e))
      })
      later::later(tick, interval)
    }
    later::later(tick, interval)
  }

  stop_watching <- function() {
    watching <<- FALSE
  }

  # After the HTTP server has stopped: running tasks get `grace_ms` to finish; the rest are killed
  # and marked FAILURE. A second interrupt (SIGINT/SIGTERM) during the wait cuts it short.
  shutdown <- function(grace_ms = config$shutdown_grace_ms, poll_seconds = 0.05) {
    stop_watching()
    deadline <- Sys.time() + grace_ms / 1000
    logger$info("shutting down", running = running_count(pool), grace_ms = grace_ms)
    tryCatch(
      while (running_count(pool) > 0 && Sys.time() < deadline) {
        settle_ended_children()
        if (running_count(pool) > 0) Sys.sleep(poll_seconds)
      },
      interrupt = function(e) logger$warn("second stop signal: not waiting any longer for running tasks")
    )
    settle_ended_children()
    left <- kill_children(pool)
    if (length(left) > 0) {
      logger$warn("killing tasks still running after the grace period", pids = I(left))
    }
    kill_deadline <- Sys.time() + 5
    while (running_count(pool) > 0 && Sys.time() < kill_deadline) {
      settle_ended_children(reason = shutdown_message)
      if (running_count(pool) > 0) Sys.sleep(poll_seconds)
    }
    settle_ended_children(reason = shutdown_message)
    logger$info("shut down", unsettled = length(unsettled))
    invisible(length(left))
  }

  list(
    submit_task = submit_task,
    health = health,
    settle_ended_children = settle_ended_children,
    start_watching = start_watching,
    stop_watching = stop_watching,
    shutdown = shutdown,
    running = function() running_count(pool),
    pool = pool
  )
}
