# The supervisor: takes R tasks from this service's QUEUES (in order of preference) while it has free
# slots (MAX_CONCURRENT_TASKS), runs each in a forked child (children.R, task_runner.R) and looks
# after it until the child ends. Everything it does runs from upkeep(), which the event loop calls
# every few milliseconds (service.R); Redis is asked only when something is due:
# - claim (finish-claim-10) when woken: a wake message naming one of its queues, its own submission, a slot
#   freeing while work waits, the time claim's `next` said work is due; and at the latest every
#   claim_safety_net_seconds;
# - renew the leases of running tasks every LEASE_MS / 3 (extend-leases-1): a lost lease kills the
#   child and forgets the task; a cancelled one kills it and records REVOKED "Cancelled while running";
# - sweep each queue (maintain-5) every maintain_interval_seconds: redelivers tasks of dead workers,
#   moves due delayed tasks in line;
# - enforce time limits: SIGINT at soft_time_limit_ms (the child records FAILURE), SIGKILL at
#   time_limit_ms (FAILURE "time limit exceeded (N ms)");
# - settle ended children: one that acknowledged its task (or lost its lease, or gave up on Redis) is
#   forgotten; one that died without a word (SIGKILL, segfault, OOM) is a failed attempt, "worker
#   lost": RETRY when attempts are left, else FAILURE;
# - read the wake and cancel channels without blocking (subscriber.R), and beat the worker registry.
# A claimed task that was cancelled, expired, delivered more than MAX_DELIVERIES times, or whose args
# fail their rules, is finished here without a child.

worker_lost_message <- "worker lost: the R child process exited without a result"

claim_safety_net_seconds <- 2
maintain_interval_seconds <- 1

new_worker_identity <- function(host = Sys.info()[["nodename"]]) {
  random_hex <- function(n) paste(sample(c(0:9, letters[1:6]), n, replace = TRUE), collapse = "")
  list(token = random_hex(32), id = sprintf("r-%s-%d-%s", host, Sys.getpid(), random_hex(6)))
}

# `deps`: redis (the service's connection), scripts, keys, logger, subscriber (or NULL),
# start_child (optional: job -> pid), tasks.
new_supervisor <- function(config, deps) {
  redis <- deps$redis
  keys <- deps$keys
  logger <- deps$logger
  tasks <- deps$tasks %or% r_tasks
  queues <- new_task_queues(redis, deps$scripts, keys, config$result_ttl_seconds)
  identity <- deps$identity %or% new_worker_identity()
  token <- identity$token
  queue_ids <- vapply(config$queues, function(name) keys$queue("r", name)$id, character(1), USE.NAMES = FALSE)
  pool <- new_child_pool()
  tally <- new_run_tally() # runs ended since start, for GET /metrics (metrics.R)
  running <- new.env(parent = emptyenv()) # task_id -> entry (an environment, changed in place)
  state <- new.env(parent = emptyenv())
  state$accepting <- TRUE
  state$claim_at <- 0
  state$work_waits <- TRUE # the last claim left work behind (or we do not know): claim when a slot frees
  state$next_renew <- 0
  state$next_maintain <- 0
  state$next_beat <- 0
  state$failing <- character(0) # upkeep steps failing for want of Redis (logged once each)

  registry <- new_worker_registry(redis, keys, function() {
    list(id = identity$id, queues = config$queues, concurrency = config$max_concurrent_tasks, running = ls(running, sorted = TRUE))
  })

  settings <- list(
    redis_url = config$redis_url, retry_seconds = config$redis_retry_seconds, step_ms = config$long_task_step_ms,
    ttl_seconds = config$result_ttl_seconds, scripts = deps$scripts, keys = keys
  )
  start_child <- deps$start_child %or% function(job) {
    fork_child(pool, function() run_task(job, settings, logger, tasks = tasks), info = list(task_id = job$task$task_id))
  }

  now_seconds <- function() as.numeric(Sys.time())
  entries <- function() mget(ls(running, sorted = FALSE), envir = running)
  running_count <- function() length(ls(running, sorted = FALSE))
  live_entries <- function() Filter(function(entry) is.null(entry$stop_reason), entries())

  # Runs `step` (a function); a Redis failure is logged once until the step works again.
  guarded <- function(name, step) {
    outcome <- tryCatch(step(), redis_error = function(e) e)
    if (inherits(outcome, "redis_error")) {
      if (!name %in% state$failing) logger$warn(sprintf("%s: Redis unavailable; trying again", name), error = conditionMessage(outcome))
      state$failing <- union(state$failing, name)
      return(invisible(NULL))
    }
    if (name %in% state$failing) logger$info(sprintf("%s: Redis answers again", name))
    state$failing <- setdiff(state$failing, name)
    invisible(outcome)
  }

  # The task's record as stored, else as it was accepted.
  current_record <- function(task) {
    queues$read_record(task$queue, task$task_id) %or% record_of_claimed(task)
  }

  # The record of a task whose child was forked: it counts as this delivery even when the child was
  # stopped before it wrote STARTED (a time limit or a cancel within its first milliseconds).
  running_record <- function(task) update_record(current_record(task), attempts = task$attempts)

  # Finishes a claimed task without running it.
  finish_unrun <- function(task, record, dead_letter, msg, ...) {
    done <- queues$finish(record, token, dead_letter = dead_letter)
    count_run(tally, task$payload$task, tolower(record$state))
    logger$warn(msg, task_id = task$task_id, task = task$payload$task, attempts = task$attempts, acknowledged = done, ...)
  }

  launch <- function(task) {
    options <- task$payload$options
    now <- now_seconds()
    if (task$revoked) {
      return(finish_unrun(task, mark_revoked(current_record(task), "Cancelled"), FALSE, "task revoked: cancelled before it ran"))
    }
    if (!is.null(options$expires_at) && parse_iso_datetime(options$expires_at) <= now) {
      status <- expired_status(options$expires_at)
      return(finish_unrun(task, mark_revoked(current_record(task), status), FALSE, "task revoked: expired before it started", expires_at = options$expires_at))
    }
    if (task$attempts > config$max_deliveries) {
      error <- sprintf("gave up after %s deliveries: its worker was lost each time", format_whole(config$max_deliveries))
      record <- mark_failed(update_record(current_record(task), attempts = task$attempts), error)
      return(finish_unrun(task, record, TRUE, "task failed", error = error))
    }
    checked <- check_task_args(task$payload$task, task$payload$args)
    if (!is.null(checked$error)) {
      record <- mark_failed(update_record(current_record(task), attempts = task$attempts), checked$error)
      return(finish_unrun(task, record, TRUE, "task failed", error = checked$error))
    }
    job <- list(task = task, args = checked$args, token = token, started = now)
    pid <- tryCatch(start_child(job), error = function(e) e)
    if (inherits(pid, "error")) {
      # Not ours to fail: the lease runs out and the task is redelivered (to a worker that can fork).
      logger$error("could not start a child for the task; it is redelivered when its lease runs out", task_id = task$task_id, error = conditionMessage(pid))
      return(invisible(NULL))
    }
    entry <- new.env(parent = emptyenv())
    entry$task <- task
    entry$task_id <- task$task_id
    entry$queue <- task$queue
    entry$options <- options
    entry$pid <- pid
    entry$started <- now
    entry$soft_sent <- FALSE
    entry$stop_reason <- NULL
    entry$ended <- FALSE
    entry$report <- NULL
    assign(task$task_id, entry, envir = running)
    logger$info("task claimed", task_id = task$task_id, task = task$payload$task, queue = task$queue, attempts = task$attempts, pid = pid)
  }

  claim <- function(now) {
    free <- config$max_concurrent_tasks - running_count()
    next_times <- numeric(0)
    work_waits <- FALSE
    for (name in config$queues) {
      if (free <= 0) {
        work_waits <- TRUE # not asked: it may have work
        break
      }
      claimed <- queues$claim(name, free, token, config$lease_ms)
      for (task in claimed$tasks) {
        launch(task)
        free <- free - 1
      }
      if (claimed$next_work_at == 0) work_waits <- TRUE else if (claimed$next_work_at > 0) next_times <- c(next_times, claimed$next_work_at / 1000)
    }
    state$work_waits <- work_waits
    state$claim_at <- if (work_waits && free > 0) now else min(c(now + claim_safety_net_seconds, next_times))
  }

  # Kills a child that may no longer run: `reason` says what then happens to its task.
  stop_child <- function(entry, reason, signal = tools::SIGKILL) {
    entry$stop_reason <- entry$stop_reason %or% reason
    if (!entry$ended) tools::pskill(entry$pid, signal)
  }

  # A task cancelled while it runs here: its child is killed and its record becomes REVOKED.
  cancel_running <- function(entry) {
    if (!is.null(entry$stop_reason)) {
      return(invisible(NULL))
    }
    stop_child(entry, "cancel")
    record <- mark_revoked(running_record(entry$task), record_status("cancelledRunning"))
    done <- queues$finish(record, token)
    logger$info("task cancelled while running", task_id = entry$task_id, pid = entry$pid, acknowledged = done)
  }

  hear <- function() {
    if (is.null(deps$subscriber)) {
      return(invisible(NULL))
    }
    for (heard in deps$subscriber$poll()) {
      if (identical(heard$channel, keys$cancel_channel("r"))) {
        entry <- get0(heard$message, envir = running, inherits = FALSE)
        if (!is.null(entry)) guarded("cancel", function() cancel_running(entry))
      } else if (heard$message %in% queue_ids || identical(heard$channel, "")) {
        state$work_waits <- TRUE
        state$claim_at <- 0
        if (identical(heard$channel, "")) state$next_renew <- 0 # messages may have been missed
      }
    }
  }

  settle <- function(entry) {
    report <- entry$report
    outcome <- if (is.list(report) && !inherits(report, "try-error")) report$outcome %or% "" else ""
    if (!is.null(entry$stop_reason) || outcome %in% c("success", "failure", "retry", "lease_lost", "abandoned")) {
      if (identical(outcome, "abandoned")) logger$warn("child abandoned its attempt (Redis unavailable); the task is redelivered when its lease runs out", task_id = entry$task_id)
      if (identical(outcome, "retry") && !is.null(report$retry_due_ms)) state$claim_at <- min(state$claim_at, report$retry_due_ms / 1000)
      count_run(tally, entry$task$payload$task, run_state_of(entry$stop_reason, outcome))
      return(TRUE)
    }
    if (identical(outcome, "interrupted") && !state$accepting) {
      hand_back(entry)
      count_run(tally, entry$task$payload$task, "released")
      return(TRUE)
    }
    task <- entry$task
    step <- failed_attempt(current_record(task), worker_lost_message, task$failures, entry$options)
    done <- if (is.null(step$delay_ms)) {
      queues$finish(step$record, token, dead_letter = TRUE)
    } else {
      as.logical(queues$retry(step$record, token, step$delay_ms))
    }
    count_run(tally, task$payload$task, if (is.null(step$delay_ms)) "failure" else "retry")
    logger$error("task attempt failed: the child ended without a result", task_id = entry$task_id, pid = entry$pid, state = step$record$state, acknowledged = done)
    TRUE
  }

  # Ended children are settled now, or on a later round when Redis cannot be reached.
  settle_ended <- function() {
    for (info in reap_children(pool)) {
      entry <- get0(info$task_id %or% "", envir = running, inherits = FALSE)
      if (is.null(entry) || !identical(entry$pid, info$pid)) next
      entry$ended <- TRUE
      entry$report <- info$report
    }
    for (entry in Filter(function(entry) entry$ended, entries())) {
      settled <- guarded("settle", function() settle(entry))
      if (isTRUE(settled)) {
        rm(list = entry$task_id, envir = running)
        if (state$work_waits) state$claim_at <- 0
      }
    }
  }

  enforce_limits <- function(now) {
    for (entry in live_entries()) {
      elapsed_ms <- (now - entry$started) * 1000
      hard <- entry$options$time_limit_ms
      soft <- entry$options$soft_time_limit_ms
      if (!is.null(hard) && elapsed_ms >= hard) {
        stop_child(entry, "time_limit")
        logger$warn("task killed: time limit exceeded", task_id = entry$task_id, pid = entry$pid, time_limit_ms = hard)
        guarded("time limit", function() {
          queues$finish(mark_failed(running_record(entry$task), hard_limit_message(hard)), token, dead_letter = TRUE)
        })
      } else if (!is.null(soft) && !entry$soft_sent && elapsed_ms >= soft) {
        entry$soft_sent <- TRUE
        tools::pskill(entry$pid, tools::SIGINT)
        logger$warn("task interrupted: soft time limit exceeded", task_id = entry$task_id, pid = entry$pid, soft_time_limit_ms = soft)
      }
    }
  }

  renew_leases <- function() {
    live <- live_entries()
    for (name in unique(vapply(live, function(entry) entry$queue, ""))) {
      ids <- vapply(Filter(function(entry) entry$queue == name, live), function(entry) entry$task_id, "")
      renewed <- queues$extend_leases(name, ids, token, config$lease_ms)
      for (task_id in renewed$lost) {
        entry <- get0(task_id, envir = running, inherits = FALSE)
        if (is.null(entry)) next
        stop_child(entry, "lease_lost")
        logger$warn("lease lost; another worker owns the task now: its child is stopped", task_id = task_id, pid = entry$pid)
      }
      for (task_id in renewed$revoked) {
        entry <- get0(task_id, envir = running, inherits = FALSE)
        if (!is.null(entry)) cancel_running(entry)
      }
    }
  }

  sweep <- function() {
    promoted <- FALSE
    for (name in config$queues) {
      swept <- queues$maintain(name)
      for (task_id in swept$requeued) logger$warn("lease expired; task requeued", task_id = task_id, queue = name)
      if (length(swept$requeued) + length(swept$promoted) > 0) promoted <- TRUE
    }
    if (promoted) {
      state$work_waits <- TRUE
      state$claim_at <- 0
    }
  }

  upkeep <- function() {
    hear()
    settle_ended()
    now <- now_seconds()
    enforce_limits(now)
    if (now >= state$next_renew) {
      state$next_renew <- now + config$lease_ms / 3000
      guarded("lease renewal", renew_leases)
    }
    if (state$accepting && now >= state$next_maintain) {
      state$next_maintain <- now + maintain_interval_seconds
      guarded("queue upkeep", sweep)
    }
    if (state$accepting && now >= state$claim_at && running_count() < config$max_concurrent_tasks) {
      state$claim_at <- now + claim_safety_net_seconds # until claim says better (or fails)
      guarded("claim", function() claim(now))
    }
    if (now >= state$next_beat) {
      state$next_beat <- now + registry$interval_seconds()
      if (state$accepting) guarded("worker registry", registry$beat)
    }
    invisible(NULL)
  }

  # Seconds until upkeep has something to do that a child's end or a message would not announce.
  next_wake <- function() {
    now <- now_seconds()
    times <- c(state$next_renew, state$next_beat, if (state$accepting) c(state$next_maintain, state$claim_at))
    for (entry in live_entries()) {
      if (!is.null(entry$options$time_limit_ms)) times <- c(times, entry$started + entry$options$time_limit_ms / 1000)
      if (!is.null(entry$options$soft_time_limit_ms) && !entry$soft_sent) times <- c(times, entry$started + entry$options$soft_time_limit_ms / 1000)
    }
    max(0, min(times) - now)
  }

  # Its own submission to `queue` went in: claim at once if it serves that queue.
  wake <- function(queue) {
    if (queue %in% config$queues) {
      state$work_waits <- TRUE
      state$claim_at <- 0
    }
  }

  # Shutdown, first step: no more claims, and the worker leaves the registry.
  stop_accepting <- function() {
    state$accepting <- FALSE
    guarded("worker registry", registry$stop)
  }

  # Shutdown, last step: kills every running child and hands its task back (release-7), so another
  # worker (or this service, restarted) runs it next. Returns the pids killed.
  hand_back <- function(entry) {
    stop_child(entry, "shutdown")
    released <- queues$release(mark_released(current_record(entry$task)), token)
    logger$info(if (released) "task handed back to the queue" else "lease already lost", task_id = entry$task_id)
    TRUE
  }
  hand_back_all <- function() {
    live <- live_entries()
    for (entry in live) {
      stop_child(entry, "shutdown")
    }
    for (entry in live) {
      guarded("hand back", function() hand_back(entry))
    }
    invisible(vapply(live, function(entry) as.integer(entry$pid), integer(1), USE.NAMES = FALSE))
  }

  list(
    upkeep = upkeep,
    next_wake = next_wake,
    wake = wake,
    stop_accepting = stop_accepting,
    hand_back_all = hand_back_all,
    running_count = running_count,
    running_ids = function() ls(running, sorted = TRUE),
    entry = function(task_id) get0(task_id, envir = running, inherits = FALSE),
    queues = queues,
    registry = registry,
    identity = identity,
    pool = pool,
    tally = tally
  )
}
