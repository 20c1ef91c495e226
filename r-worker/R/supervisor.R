# The tasks this service holds, from its 202 until the task's record is terminal. A held task is
# running (in a forked child: children.R, task_runner.R), waiting out the backoff before its next
# attempt (no child, no concurrency slot), or ended (its child is gone and its record could not be
# checked yet, because Redis was down).
#
# upkeep() runs from the event loop (service.R), every quarter second or sooner when a deadline is
# nearer, and:
# - settles ended children: a child that wrote SUCCESS, FAILURE or REVOKED is done; one that wrote
#   RETRY waits for its backoff; one that ended without either gets FAILURE with the reason the service
#   knows (cancel: REVOKED; hard limit; soft limit; shutdown; the child gave up on an absent Redis;
#   else "worker lost");
# - enforces time limits: SIGINT at soft_time_limit_ms (R raises `interrupt` in the child, which
#   records FAILURE "soft time limit exceeded"), SIGKILL at time_limit_ms (FAILURE "time limit exceeded");
# - starts due retries while a slot is free, or records REVOKED when the task's expires_at has passed;
# - refreshes the heartbeat of every held task each HEARTBEAT_TTL_SECONDS / 3 (one round trip), and
#   every round while Redis is down.
# Nothing here waits for Redis: what fails for want of it is tried again on a later round.
# Every record write goes through write_record, which never overwrites a terminal record, so the
# order in which a child and the service write never matters.

worker_lost_message <- "worker lost: the R child process exited without a result"

# Why a child that abandoned its task (task_runner.R) did so.
abandoned_message <- function(report, retry_seconds) {
  if (isTRUE(report$redis_unavailable)) {
    return(sprintf(
      "Redis was unavailable for longer than REDIS_RETRY_SECONDS (%s s); the task was abandoned",
      format_whole(retry_seconds)
    ))
  }
  sprintf("Redis refused the task's record (%s); the task was abandoned", report$error)
}
cancelled_running_status <- "Cancelled while running"
cancelled_waiting_status <- "Cancelled while waiting to retry"

# How much longer a due retry waits when every slot is busy.
busy_retry_wait_seconds <- 0.25

# How soon a heartbeat refresh that failed (Redis down) is tried again: the upkeep's round.
heartbeat_retry_seconds <- 0.25

new_supervisor <- function(config, redis, keys, logger, start_child = NULL, tasks = r_tasks) {
  pool <- new_child_pool()
  held <- new.env(parent = emptyenv()) # task_id -> entry (an environment, changed in place)
  stopping <- FALSE
  next_heartbeat <- 0
  heartbeats_failing <- FALSE

  if (is.null(start_child)) {
    start_child <- function(job) {
      work <- function() {
        run_task(
          job, config$redis_url, keys, config$result_ttl_seconds, config$long_task_step_ms, logger,
          tasks = tasks, retry_seconds = config$redis_retry_seconds
        )
      }
      fork_child(pool, work, info = list(task_id = job$record$task_id))
    }
  }

  now_seconds <- function() as.numeric(Sys.time())
  entries <- function(phases = c("running", "waiting", "ended")) {
    Filter(function(entry) entry$phase %in% phases, mget(ls(held, sorted = FALSE), envir = held))
  }
  running_count <- function() length(entries("running"))

  # Takes on a task whose PENDING record is written, and starts its first attempt; returns its pid. A
  # requeued task may still have an entry here from its last run when that run's child wrote FAILURE
  # and has not been seen to exit yet: the new entry replaces it, and that child's end is ignored.
  hold <- function(record, args, options) {
    entry <- new.env(parent = emptyenv())
    entry$task_id <- record$task_id
    entry$record <- record
    entry$args <- args
    entry$options <- options
    entry$expires <- if (is.null(options$expires_at)) NULL else parse_iso_datetime(options$expires_at)
    pid <- start_attempt(entry)
    assign(record$task_id, entry, envir = held)
    pid
  }

  start_attempt <- function(entry) {
    started <- now_seconds()
    retry_delay_ms <- backoff_delay_ms(entry$options$backoff, entry$record$attempts + 1L)
    job <- list(
      record = entry$record, args = entry$args, options = entry$options,
      retry_delay_ms = retry_delay_ms, started = started
    )
    pid <- start_child(job)
    entry$pid <- pid
    entry$phase <- "running"
    entry$started <- started
    entry$retry_delay_ms <- retry_delay_ms
    entry$soft_sent <- FALSE
    entry$stop_reason <- NULL
    entry$report <- NULL
    pid
  }

  # Writes the task's terminal record (unless one is there already) and lets the task go.
  finish <- function(entry, record) {
    written <- write_record(redis, keys, record, config$result_ttl_seconds)
    release(entry)
    written
  }

  # The heartbeat is deleted here too: a refresh may have re-created it after the child's final write.
  # It is kept when the record is live again: the task was requeued, and the heartbeat is its new run's.
  release <- function(entry) {
    if (identical(get0(entry$task_id, envir = held, inherits = FALSE), entry)) rm(list = entry$task_id, envir = held)
    tryCatch(end_heartbeat(redis, keys, entry$task_id), redis_error = function(e) {
      logger$warn("could not delete the heartbeat of a finished task; it expires by itself", task_id = entry$task_id, error = conditionMessage(e))
    })
    TRUE
  }

  settle <- function(entry) {
    task_id <- entry$task_id
    report <- entry$report
    if (is.list(report) && !inherits(report, "try-error") && !is.null(report$record)) {
      record <- report$record
      record["args"] <- list(entry$args)
    } else {
      record <- read_record(redis, keys, task_id) %or% entry$record
    }
    if (identical(entry$stop_reason, "cancel")) {
      return(finish(entry, mark_revoked(record, cancelled_running_status)))
    }
    if (is_terminal_record(record)) {
      logger$debug("child ended", task_id = task_id, pid = entry$pid, state = record$state)
      return(release(entry))
    }
    if (identical(record$state, "RETRY") && record$attempts > entry$record$attempts) {
      if (stopping) {
        return(finish(entry, mark_failure(record, shutdown_message)))
      }
      entry$record <- record
      entry$phase <- "waiting"
      entry$due <- now_seconds() + entry$retry_delay_ms / 1000
      logger$info("retry scheduled", task_id = task_id, attempt = record$attempts, delay_ms = entry$retry_delay_ms)
      return(TRUE)
    }
    reason <- lost_reason(entry)
    finish(entry, mark_failure(record, reason))
    logger$error("task failed: child ended without a result", task_id = task_id, pid = entry$pid, error = reason)
    TRUE
  }

  lost_reason <- function(entry) {
    report <- entry$report
    abandoned <- is.list(report) && isTRUE(report$abandoned)
    stop_reason <- entry$stop_reason %or% if (entry$soft_sent) "soft_limit" else if (abandoned) "abandoned" else "lost"
    switch(stop_reason,
      time_limit = hard_limit_message(entry$options$time_limit_ms),
      soft_limit = soft_limit_message(entry$options$soft_time_limit_ms),
      shutdown = shutdown_message,
      abandoned = abandoned_message(report, config$redis_retry_seconds),
      worker_lost_message
    )
  }

  # Ended children are settled now, or on a later round when Redis cannot be reached.
  settle_ended <- function() {
    for (info in reap_children(pool)) {
      entry <- get0(info$task_id %or% "", envir = held, inherits = FALSE)
      if (is.null(entry) || !identical(entry$pid, info$pid)) next
      entry$phase <- "ended"
      entry$report <- info$report
    }
    for (entry in entries("ended")) {
      tryCatch(settle(entry), redis_error = function(e) {
        logger$error("could not check the record of an ended child; will retry", task_id = entry$task_id, error = conditionMessage(e))
      })
    }
  }

  enforce_limits <- function(now) {
    for (entry in entries("running")) {
      if (!is.null(entry$stop_reason)) next
      elapsed_ms <- (now - entry$started) * 1000
      hard <- entry$options$time_limit_ms
      soft <- entry$options$soft_time_limit_ms
      if (!is.null(hard) && elapsed_ms >= hard) {
        entry$stop_reason <- "time_limit"
        tools::pskill(entry$pid, tools::SIGKILL)
        logger$warn("task killed: time limit exceeded", task_id = entry$task_id, pid = entry$pid, time_limit_ms = hard)
      } else if (!is.null(soft) && !entry$soft_sent && elapsed_ms >= soft) {
        entry$soft_sent <- TRUE
        tools::pskill(entry$pid, tools::SIGINT)
        logger$warn("task interrupted: soft time limit exceeded", task_id = entry$task_id, pid = entry$pid, soft_time_limit_ms = soft)
      }
    }
  }

  start_due_retries <- function(now) {
    if (stopping) {
      return(invisible(NULL))
    }
    for (entry in entries("waiting")) {
      if (entry$due > now) next
      tryCatch(start_retry(entry, now), redis_error = function(e) {
        logger$error("could not record the end of a waiting task; will retry", task_id = entry$task_id, error = conditionMessage(e))
      })
    }
  }

  start_retry <- function(entry, now) {
    task_id <- entry$task_id
    if (!is.null(entry$expires) && now >= entry$expires) {
      finish(entry, mark_revoked(entry$record, expired_status(entry$options$expires_at)))
      logger$warn("task revoked: expired before its retry", task_id = task_id, expires_at = entry$options$expires_at)
      return(invisible(NULL))
    }
    if (running_count() >= config$max_concurrent_tasks) {
      entry$due <- now + busy_retry_wait_seconds
      return(invisible(NULL))
    }
    pid <- tryCatch(start_attempt(entry), error = function(e) e)
    if (inherits(pid, "error")) {
      error <- sprintf("the R worker could not start attempt %d: %s", entry$record$attempts + 1L, conditionMessage(pid))
      finish(entry, mark_failure(entry$record, error))
      logger$error("task failed: retry could not be started", task_id = task_id, error = error)
      return(invisible(NULL))
    }
    logger$info("retry started", task_id = task_id, attempt = entry$record$attempts + 1L, pid = pid)
  }

  # Refreshed every third of their TTL, so each has at least two thirds of it left at any time: a Redis
  # outage shorter than that cannot let one lapse. While Redis is down the refresh is tried again every
  # round, so after a longer outage they are back within a round of Redis answering.
  keep_heartbeats <- function(now) {
    if (now < next_heartbeat) {
      return(invisible(NULL))
    }
    task_ids <- ls(held, sorted = FALSE)
    next_heartbeat <<- now + config$heartbeat_ttl_seconds / 3
    refreshed <- tryCatch(refresh_heartbeats(redis, keys, task_ids, config$heartbeat_ttl_seconds), redis_error = function(e) e)
    if (inherits(refreshed, "redis_error")) {
      if (!heartbeats_failing) {
        logger$error("could not refresh heartbeats; trying again every round", tasks = length(task_ids), error = conditionMessage(refreshed))
      }
      heartbeats_failing <<- TRUE
      next_heartbeat <<- now + heartbeat_retry_seconds
    } else if (heartbeats_failing) {
      heartbeats_failing <<- FALSE
      logger$info("heartbeats refreshed again", tasks = length(task_ids))
    }
  }

  upkeep <- function() {
    settle_ended()
    now <- now_seconds()
    enforce_limits(now)
    start_due_retries(now)
    keep_heartbeats(now)
    invisible(NULL)
  }

  # Seconds until upkeep has something to do (a time limit, a due retry, a heartbeat).
  next_wake <- function() {
    now <- now_seconds()
    times <- next_heartbeat
    for (entry in entries("running")) {
      if (!is.null(entry$stop_reason)) next
      if (!is.null(entry$options$time_limit_ms)) times <- c(times, entry$started + entry$options$time_limit_ms / 1000)
      if (!is.null(entry$options$soft_time_limit_ms) && !entry$soft_sent) {
        times <- c(times, entry$started + entry$options$soft_time_limit_ms / 1000)
      }
    }
    for (entry in entries("waiting")) times <- c(times, entry$due)
    max(0, min(times) - now)
  }

  # "revoked", "finished" (its record was already terminal) or "not_held"; a redis_error when Redis
  # cannot be reached (a running child is killed all the same, and recorded REVOKED once it can).
  cancel <- function(task_id) {
    entry <- get0(task_id, envir = held, inherits = FALSE)
    if (is.null(entry)) {
      return("not_held")
    }
    if (entry$phase == "waiting") {
      written <- finish(entry, mark_revoked(entry$record, cancelled_waiting_status))
      logger$info("task cancelled while waiting to retry", task_id = task_id)
      return(if (written) "revoked" else "finished")
    }
    entry$stop_reason <- "cancel"
    if (entry$phase == "running") tools::pskill(entry$pid, tools::SIGKILL)
    # A write the killed child sent just before may land between our read and our write (write_record
    # then refuses a REVOKED of the attempt before it): read again. It sent at most one.
    for (try in 1:3) {
      record <- read_record(redis, keys, task_id) %or% entry$record
      if (is_terminal_record(record)) break
      written <- write_record(redis, keys, mark_revoked(record, cancelled_running_status), config$result_ttl_seconds)
      if (written) break
    }
    written <- !is_terminal_record(record) && written
    logger$info("task cancelled while running", task_id = task_id, pid = entry$pid, revoked = written)
    if (written) "revoked" else "finished"
  }

  # Shutdown: no retry starts any more, and tasks waiting for one are failed.
  stop_accepting <- function() {
    stopping <<- TRUE
    for (entry in entries("waiting")) {
      tryCatch(finish(entry, mark_failure(entry$record, shutdown_message)), redis_error = function(e) {
        logger$error("could not fail a waiting task at shutdown", task_id = entry$task_id, error = conditionMessage(e))
      })
    }
  }

  # Kills every running child; upkeep() then records their tasks FAILURE with `reason`'s message.
  kill_running <- function(reason = "shutdown") {
    running <- entries("running")
    for (entry in running) {
      entry$stop_reason <- entry$stop_reason %or% reason
      tools::pskill(entry$pid, tools::SIGKILL)
    }
    invisible(vapply(running, function(entry) as.integer(entry$pid), integer(1), USE.NAMES = FALSE))
  }

  list(
    hold = hold,
    cancel = cancel,
    upkeep = upkeep,
    next_wake = next_wake,
    stop_accepting = stop_accepting,
    kill_running = kill_running,
    running_count = running_count,
    held_count = function() length(ls(held)),
    held = function(task_id) get0(task_id, envir = held, inherits = FALSE),
    pool = pool
  )
}
