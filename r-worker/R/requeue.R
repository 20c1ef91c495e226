# Dead letters and POST /tasks/<task_id>/requeue. A task whose record becomes FAILURE is a dead letter:
# the script that writes the FAILURE puts its id on keys$r_dead (redis_scripts.R). The request it was
# accepted with is stored at acceptance, as JSON, under keys$r_request(task_id), and lives as long as
# the record. A requeue reads that request back, checks it and resolves its options again as for a new
# task, replaces the FAILURE record with a new first record (attempts reset, created_at kept) in one
# script that checks the task is still a dead letter, and then starts the task exactly as a new one.

requeued_status <- "Requeued by an operator"

# The JSON stored for a requeue: {"task", "args", "options"?} as the request gave them (`given` of
# validate_task_request). Each number is written with the fewest digits that read back as the same
# double: jsonlite's own 15 digits change some values, and turn the largest doubles into Inf.
stored_request_json <- function(given) {
  as.character(jsonlite::toJSON(exact_json_numbers(given), auto_unbox = TRUE, null = "null", json_verbatim = TRUE))
}

exact_json_numbers <- function(value) {
  if (is.list(value)) {
    value[] <- lapply(value, exact_json_numbers)
    return(value)
  }
  if (is.double(value) && length(value) == 1 && is.finite(value)) {
    return(structure(shortest_double_text(value), class = "json"))
  }
  value
}

shortest_double_text <- function(x) {
  if (x == 0 && 1 / x < 0) {
    return("-0.0") # "-0" would read back as the integer 0
  }
  for (digits in 15:17) {
    text <- sprintf(paste0("%.", digits, "g"), x)
    if (as.numeric(text) == x) break
  }
  text
}

# The stored request of a task, parsed (a list with task, args and maybe options); NULL when there is
# none (it expired with its record); an "invalid_json" condition when it cannot be read.
read_stored_request <- function(redis, keys, task_id) {
  bytes <- redis$get_raw(keys$r_request(task_id))
  if (is.null(bytes)) {
    return(NULL)
  }
  parse_json_body(bytes)
}

# Runs requeue_dead_4: "requeued", "not_dead", "unusable" (taken off the list: it can no longer run)
# or "busy" (nothing changed). `record` is the new first record, or NULL when none could be built.
requeue_dead_record <- function(redis, keys, task_id, record, ttl_seconds, heartbeat_ttl_seconds, busy) {
  heartbeat <- if (is.null(record) || is_terminal_record(record)) 0 else heartbeat_ttl_seconds
  code <- run_redis_script(
    redis, "requeue_dead_4",
    c(keys$r_dead, keys$task(task_id), keys$r_heartbeat(task_id), keys$r_request(task_id)),
    list(task_id, if (is.null(record)) "" else encode_record(record), ttl_seconds, heartbeat, if (busy) "1" else "0")
  )
  switch(as.character(code), "1" = "requeued", "0" = "not_dead", "-1" = "unusable", "-2" = "busy",
    stop(sprintf("requeue_dead_4 answered %s", format(code)), call. = FALSE)
  )
}

# The handler of POST /tasks/<task_id>/requeue, for the service (service.R), which passes its supervisor.
new_requeue <- function(config, redis, keys, supervisor, logger, tasks = r_tasks) {
  # The new run's plan (plan_task_run), or the reason the task can no longer run.
  plan_again <- function(task_id, old) {
    stored <- read_stored_request(redis, keys, task_id)
    if (is.null(stored)) {
      return(list(reason = "its request expired"))
    }
    checked <- if (inherits(stored, "invalid_json")) NULL else validate_task_body(c(list(task_id = task_id), stored))
    if (is.null(checked) || !is.null(checked$error)) {
      detail <- if (is.null(checked)) conditionMessage(stored) else checked$error$body$error$message
      return(list(reason = sprintf("its stored request is not valid (%s)", detail)))
    }
    list(plan = plan_task_run(tasks, checked$request, requeued_from = old), request = checked$request)
  }

  requeue <- function(task_id) {
    supervisor$upkeep()
    old <- read_record(redis, keys, task_id)
    again <- if (is.null(old)) list(reason = "its record expired") else if (identical(old$state, "FAILURE")) plan_again(task_id, old) else list()
    plan <- again$plan
    busy <- !is.null(plan) && !plan$expired && supervisor$running_count() >= config$max_concurrent_tasks
    outcome <- requeue_dead_record(
      redis, keys, task_id, plan$record, config$result_ttl_seconds, config$heartbeat_ttl_seconds, busy
    )
    if (outcome == "not_dead") {
      return(http_error("task_not_found", sprintf("Task %s is not on the dead-letter list", task_id)))
    }
    if (outcome == "unusable") {
      reason <- again$reason %or% "its request expired" # it expired between our read and the script
      logger$warn("dead letter dropped: it can no longer run", task_id = task_id, reason = reason)
      return(http_error("task_not_found", sprintf("Task %s can no longer run: %s", task_id, reason)))
    }
    if (outcome == "busy") {
      logger$warn("requeue refused: worker busy", task_id = task_id, running = supervisor$running_count())
      return(worker_busy_answer(config$max_concurrent_tasks))
    }
    if (plan$expired) {
      logger$warn("requeued task revoked: expired before it started", task_id = task_id, expires_at = plan$options$expires_at)
      return(accepted_answer(task_id))
    }
    start_requeued(task_id, plan, again$request)
  }

  start_requeued <- function(task_id, plan, request) {
    pid <- tryCatch(supervisor$hold(plan$record, request$args, plan$options), error = function(e) e)
    if (inherits(pid, "error")) {
      error <- sprintf("the R worker could not start attempt 1: %s", conditionMessage(pid))
      # Back to FAILURE, and so onto the dead-letter list again.
      tryCatch(write_record(redis, keys, mark_failure(plan$record, error), config$result_ttl_seconds), redis_error = function(e) NULL)
      logger$error("requeued task could not be started", task_id = task_id, error = error)
      return(http_error("internal", "The R worker could not start the task"))
    }
    logger$info(
      "task requeued",
      task_id = task_id, task = plan$record$task, pid = pid, max_attempts = plan$options$max_attempts,
      soft_time_limit_ms = plan$options$soft_time_limit_ms, time_limit_ms = plan$options$time_limit_ms,
      expires_at = plan$options$expires_at
    )
    accepted_answer(task_id)
  }

  function(task_id) {
    invalid <- validate_task_id(task_id)
    if (!is.null(invalid)) {
      return(invalid)
    }
    outcome <- tryCatch(requeue(task_id), redis_error = function(e) e)
    if (inherits(outcome, "redis_error")) {
      logger$error("requeue: Redis unavailable", task_id = task_id, error = conditionMessage(outcome))
      return(http_error("redis_unavailable", "Redis cannot be reached; the task was not requeued"))
    }
    outcome
  }
}
