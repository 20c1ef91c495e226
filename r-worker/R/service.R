# The worker service behind the HTTP endpoints, built from its dependencies so tests can run it
# in-process (no port): accepting a submission into its queue (enqueue-7: record, job and queue entry
# in one step), health, the upkeep loop and shutdown. plumber.R only turns HTTP requests into these
# calls and the answers back into HTTP; the tasks are claimed and run by the supervisor
# (supervisor.R), which never refuses a submission for lack of a free child.

queue_full_retry_after_seconds <- 1

accepted_answer <- function(task_id) {
  http_answer(202L, list(task_id = task_id, status = "created"))
}

# What a valid submission (validate_submission) is stored as: its options resolved at `now`, its
# PENDING record and its payload (the job hash's MessagePack map {task, args, created_at, options}).
plan_submission <- function(submission, now = Sys.time()) {
  options <- resolve_task_options(task_defaults(submission$task), submission$options, now = now)
  created_at <- format_iso_time(floor(as.numeric(now) * 1000) / 1000)
  record <- mark_pending(
    list(
      task_id = submission$task_id, worker = "r", queue = submission$queue, task = submission$task, args = submission$args,
      options = options, traceparent = submission$traceparent
    ),
    now = created_at
  )
  payload <- list(task = submission$task, args = submission$args, created_at = created_at, options = options)
  if (!is.null(submission$traceparent)) payload$traceparent <- submission$traceparent
  list(options = options, record = record, payload = payload)
}

# `deps`: redis, scripts, keys, logger, subscriber (or NULL), and for tests start_child, tasks, identity.
new_service <- function(config, deps) {
  logger <- deps$logger
  supervisor <- new_supervisor(config, deps)
  queues <- supervisor$queues
  watching <- FALSE
  started_at <- as.numeric(Sys.time())

  submit_task <- function(body_raw) {
    validated <- validate_submission(body_raw)
    if (!is.null(validated$error)) {
      logger$debug("task rejected", code = validated$error$body$error$code)
      return(validated$error)
    }
    submission <- validated$submission
    task_id <- submission$task_id
    plan <- plan_submission(submission)
    outcome <- tryCatch(
      queues$enqueue(plan$record, plan$payload, max_length = config$max_queue_length),
      redis_error = function(e) e
    )
    if (inherits(outcome, "redis_error")) {
      logger$error("task refused: Redis unavailable", task_id = task_id, error = conditionMessage(outcome))
      return(http_error("redis_unavailable", "Redis cannot be reached; the task was not accepted"))
    }
    if (outcome == "task_exists") {
      return(http_error("task_exists", sprintf("A task with id %s already exists", task_id)))
    }
    if (outcome == "queue_full") {
      logger$warn("task refused: queue full", task_id = task_id, queue = submission$queue, max_queue_length = config$max_queue_length)
      return(http_error(
        "queue_full",
        sprintf("The R queue %s holds MAX_QUEUE_LENGTH (%s) tasks already; retry later", submission$queue, format_whole(config$max_queue_length)),
        headers = list(`Retry-After` = as.character(queue_full_retry_after_seconds))
      ))
    }
    options <- plan$options
    logger$info(
      "task accepted",
      task_id = task_id, task = submission$task, queue = submission$queue, priority = options$priority,
      eta = options$eta, max_attempts = options$max_attempts, expires_at = options$expires_at
    )
    supervisor$wake(submission$queue)
    if (watching) later::later(run_upkeep, 0)
    accepted_answer(task_id)
  }

  health <- function() {
    pong <- tryCatch(deps$redis$command(list("PING"), idempotent = TRUE), error = function(e) e)
    if (inherits(pong, "error")) {
      logger$warn("health: Redis unavailable", error = conditionMessage(pong))
      return(http_error("redis_unavailable", "Redis does not answer PING"))
    }
    http_answer(200L, list(
      status = "ok", worker_id = supervisor$identity$id, queues = I(config$queues),
      running = supervisor$running_count(), max = config$max_concurrent_tasks
    ))
  }

  # GET /metrics: Prometheus text of this process (metrics.R); reads no Redis, so it answers while Redis is away.
  metrics <- function() {
    render_metrics(supervisor, config, started_at)
  }

  run_upkeep <- function() {
    tryCatch(supervisor$upkeep(), error = function(e) logger$error("upkeep failed", error = conditionMessage(e)))
  }

  # Runs the supervisor's upkeep from the event loop until stop_watching(): every `interval` seconds
  # while children run (a cheap look at their pipes and the subscription; Redis only when something
  # is due), every `idle_interval` seconds while none does. Each turn of the event loop costs the
  # process ~1.5 ms (later's timer, httpuv's loop, R's GC): at 20 ms an idle service spent ~8 % of a
  # core doing nothing. Idle, only the subscription can bring work: a submission to this service
  # runs upkeep at once, and work published by others (workflow steps, redeliveries) waits at most
  # `idle_interval`.
  start_watching <- function(interval = 0.02, idle_interval = 0.1) {
    watching <<- TRUE
    tick <- function() {
      if (!watching) {
        return(invisible(NULL))
      }
      run_upkeep()
      every <- if (supervisor$running_count() > 0) interval else idle_interval
      later::later(tick, max(0.005, min(every, supervisor$next_wake())))
    }
    later::later(tick, 0)
  }

  stop_watching <- function() {
    watching <<- FALSE
  }

  # After the HTTP server has stopped: no more claims; running tasks get `grace_ms` to finish (their
  # time limits and leases still kept); the rest are killed and handed back to their queue. A second
  # interrupt (SIGINT/SIGTERM) during the wait cuts it short.
  shutdown <- function(grace_ms = config$shutdown_grace_ms, poll_seconds = 0.02) {
    stop_watching()
    logger$info("shutting down", running = supervisor$running_count(), grace_ms = grace_ms)
    supervisor$stop_accepting()
    deadline <- Sys.time() + grace_ms / 1000
    tryCatch(
      while (supervisor$running_count() > 0 && Sys.time() < deadline) {
        run_upkeep()
        if (supervisor$running_count() > 0) Sys.sleep(poll_seconds)
      },
      interrupt = function(e) logger$warn("second stop signal: not waiting any longer for running tasks")
    )
    left <- supervisor$hand_back_all()
    if (length(left) > 0) logger$warn("handed back the tasks still running after the grace period", pids = I(left))
    kill_deadline <- Sys.time() + 5
    while (supervisor$running_count() > 0 && Sys.time() < kill_deadline) {
      run_upkeep()
      if (supervisor$running_count() > 0) Sys.sleep(poll_seconds)
    }
    if (!is.null(deps$subscriber)) deps$subscriber$close()
    logger$info("shut down", unsettled = supervisor$running_count())
    invisible(length(left))
  }

  list(
    submit_task = submit_task,
    health = health,
    metrics = metrics,
    upkeep = run_upkeep,
    start_watching = start_watching,
    stop_watching = stop_watching,
    shutdown = shutdown,
    running = supervisor$running_count,
    supervisor = supervisor,
    pool = supervisor$pool
  )
}
