# What a forked child does with one task: open its own Redis connection, write STARTED, run the task
# writing PROGRESS after each step, and end with SUCCESS (the result) or FAILURE (the R error's
# message). Returns TRUE once that terminal record is written, which tells the parent it need not
# check the record; a child that dies before then is settled by the parent (see service.R).

shutdown_message <- "worker shut down before the task finished"

run_task <- function(record, args, redis_url, keys, ttl_seconds, step_ms, logger, connect = redis_connect) {
  task_id <- record$task_id
  redis <- tryCatch(connect(redis_url), error = function(e) {
    logger$error("task could not start: no Redis connection", task_id = task_id, error = conditionMessage(e))
    NULL
  })
  if (is.null(redis)) {
    return(invisible(FALSE))
  }
  on.exit(redis$close(), add = TRUE)
  save <- function(updated) {
    record <<- updated
    write_record(redis, keys, record, ttl_seconds)
  }

  save(mark_started(record))
  logger$info("task started", task_id = task_id, task = record$task, pid = Sys.getpid())
  progress <- function(current, total) {
    save(mark_progress(record, current))
    logger$debug("task progress", task_id = task_id, current = current, total = total)
  }
  outcome <- tryCatch(
    withCallingHandlers(
      list(ok = TRUE, result = r_tasks[[record$task]]$run(args, list(step_ms = step_ms, progress = progress))),
      warning = function(w) {
        logger$warn("task warning", task_id = task_id, warning = conditionMessage(w))
        invokeRestart("muffleWarning")
      }
    ),
    error = function(e) list(ok = FALSE, error = conditionMessage(e)),
    interrupt = function(e) list(ok = FALSE, error = shutdown_message)
  )
  if (outcome$ok) {
    save(mark_success(record, outcome$result))
    logger$info("task succeeded", task_id = task_id, task = record$task)
  } else {
    save(mark_failure(record, outcome$error))
    logger$warn("task failed", task_id = task_id, task = record$task, error = outcome$error)
  }
  invisible(TRUE)
}
