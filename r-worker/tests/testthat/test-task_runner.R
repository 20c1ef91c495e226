# run_task is what a forked child runs; here it runs in this process against a real Redis.
server <- start_redis_server()

# A Redis client that also keeps every record it is asked to write, decoded.
recording_client <- function(url) {
  client <- redis_connect(url, use_redux = FALSE)
  written <- list()
  command <- client$command
  client$command <- function(args, idempotent = FALSE) {
    if (identical(args[[1]], "EVAL") && grepl("^--\\[\\[ Replace", args[[2]])) {
      written[[length(written) + 1L]] <<- msgpack_decode(args[[4L + as.integer(args[[3]])]]) # ARGV[1]
    }
    command(args, idempotent)
  }
  client$written <- function() written
  client
}

new_job <- function(task, args, total, options = resolve_task_options(r_tasks[[task]]$defaults), record = NULL, retry_delay_ms = 100) {
  record <- record %or% new_pending_record(new_task_id(), task, args, total, options$max_attempts, options$expires_at)
  list(record = record, args = args, options = options, retry_delay_ms = retry_delay_ms, started = as.numeric(Sys.time()))
}

run_with <- function(job, logger = silent_logger, tasks = r_tasks, keys = new_key_layout(new_test_prefix())) {
  client <- recording_client(server$url)
  redis <- redis_connect(server$url, use_redux = FALSE)
  withr::defer(redis$close(), envir = parent.frame())
  if (is.null(read_record(redis, keys, job$record$task_id))) write_record(redis, keys, job$record, 60)
  report <- run_task(job, server$url, keys, 60, 0, logger, connect = function(url, ...) client, tasks = tasks)
  list(
    report = report, written = client$written(), keys = keys, task_id = job$record$task_id, redis = redis,
    final = read_record(redis, keys, job$record$task_id)
  )
}


test_that("long_task writes STARTED, a PROGRESS per step, then SUCCESS with the result, and reports it", {
  run <- run_with(new_job("long_task", list(3), 3))
  states <- vapply(run$written, function(r) r$state, "")
  expect_identical(states, c("STARTED", "PROGRESS", "PROGRESS", "PROGRESS", "SUCCESS"))
  expect_identical(vapply(run$written[2:4], function(r) r$current, 1L), 1:3)
  expect_identical(run$written[[1]]$status, "Started")
  expect_identical(run$written[[3]]$status, "Step 2 of 3")
  final <- run$final
  expect_identical(final$state, "SUCCESS")
  expect_identical(final$result, 3L)
  expect_identical(final$current, 3L)
  expect_identical(final$attempts, 1L)
  expect_identical(final$max_attempts, 3L)
  expect_null(final$expires_at)
  expect_identical(final$worker, "r")
  expect_identical(final$status, "Task completed!")
  expect_false(is.null(final$started_at))
  expect_identical(final$finished_at, final$updated_at)
  expect_null(final$error)
  expect_identical(run$report$state, "SUCCESS")
  expect_null(run$report$record$args) # the service has the args; the report stays small
  expect_equal(run$redis$command(list("LLEN", run$keys$r_dead)), 0) # SUCCESS is no dead letter
  expect_identical(run$report$record$result, 3)
})

test_that("lm_fit's result is stored as a map of coefficients and numbers", {
  run <- run_with(new_job("lm_fit", list(I(c(2.1, 3.9, 6.2, 7.8, 10.1)), list(x = I(c(1, 2, 3, 4, 5)))), 1))
  expect_identical(run$final$state, "SUCCESS")
  expect_identical(names(run$final$result), c("coefficients", "r_squared", "adj_r_squared", "n"))
  expect_equal(run$final$result$coefficients$x, 1.99, tolerance = 1e-9)
  expect_identical(run$final$args, list(list(2.1, 3.9, 6.2, 7.8, 10.1), list(x = list(1L, 2L, 3L, 4L, 5L))))
})

test_that("an R error with no attempts left is FAILURE with the error's message, logged with the task id", {
  logger <- new_test_logger()
  run <- run_with(new_job("lm_fit", list(I(c(1, 2, 3)), list(x = I(c(1, 2, 3, 4)))), 1), logger)
  final <- run$final
  expect_identical(final$state, "FAILURE")
  expect_identical(final$status, "Task failed")
  expect_identical(final$error, "every predictor column must hold as many values as y (3); x holds 4")
  expect_null(final$result)
  expect_false(is.null(final$finished_at))
  expect_identical(run$report$state, "FAILURE")
  expect_identical(run$redis$command(list("LRANGE", run$keys$r_dead, 0, -1)), list(charToRaw(run$task_id)))
  failed <- Filter(function(line) line$msg == "task failed", logger$lines())
  expect_length(failed, 1)
  expect_identical(failed[[1]]$task_id, run$task_id)
})

test_that("an R error with attempts left is RETRY with the message, the attempt and the wait", {
  logger <- new_test_logger()
  tasks <- tasks_with(function(args, context) stop("flaky"))
  options <- resolve_task_options(r_tasks$long_task$defaults, list(max_attempts = 3))
  run <- run_with(new_job("long_task", list(2), 2, options, retry_delay_ms = 1250), logger, tasks)
  expect_identical(
    run$final[c("state", "status", "error", "attempts", "finished_at")],
    list(state = "RETRY", status = "Attempt 1 of 3 failed; retrying in 1.3 s", error = "flaky", attempts = 1L, finished_at = NULL)
  )
  expect_identical(run$report$state, "RETRY")
  expect_equal(run$redis$command(list("LLEN", run$keys$r_dead)), 0)
  retrying <- Filter(function(line) line$msg == "task attempt failed; retrying", logger$lines())
  expect_identical(retrying[[1]]$delay_ms, 1250L)
  expect_identical(retrying[[1]]$task_id, run$task_id)
})

test_that("the next attempt starts from the RETRY record: STARTED with attempts + 1, and the last one gives up", {
  tasks <- tasks_with(function(args, context) stop("still broken"))
  options <- resolve_task_options(r_tasks$long_task$defaults, list(max_attempts = 2))
  first <- run_with(new_job("long_task", list(2), 2, options), tasks = tasks)
  retry <- first$final
  second <- run_with(new_job("long_task", list(2), 2, options, record = retry), tasks = tasks, keys = first$keys)
  expect_identical(second$written[[1]][c("state", "status", "attempts", "error")], list(state = "STARTED", status = "Started (attempt 2)", attempts = 2L, error = NULL))
  expect_identical(
    second$final[c("state", "error", "attempts")],
    list(state = "FAILURE", error = "still broken (gave up after 2 attempts)", attempts = 2L)
  )
})

test_that("an interrupt after the soft limit is FAILURE 'soft time limit exceeded', not retried", {
  tasks <- tasks_with(function(args, context) {
    context$progress(1, 2)
    tools::pskill(Sys.getpid(), tools::SIGINT) # what the service sends at the soft limit
    Sys.sleep(5)
  })
  options <- resolve_task_options(r_tasks$long_task$defaults, list(soft_time_limit_ms = 1))
  job <- new_job("long_task", list(2), 2, options)
  job$started <- job$started - 0.01
  run <- run_with(job, tasks = tasks)
  expect_identical(run$final[c("state", "error", "current", "attempts")], list(state = "FAILURE", error = "soft time limit exceeded (1 ms)", current = 1L, attempts = 1L))
  expect_identical(run$report$state, "FAILURE")
})

test_that("an interrupt before any soft limit is a stop of the service: FAILURE 'worker shut down'", {
  tasks <- tasks_with(function(args, context) {
    tools::pskill(Sys.getpid(), tools::SIGINT)
    Sys.sleep(5)
  })
  run <- run_with(new_job("long_task", list(2), 2), tasks = tasks)
  expect_identical(run$final[c("state", "error")], list(state = "FAILURE", error = shutdown_message))
  expect_identical(run$redis$command(list("LINDEX", run$keys$r_dead, 0)), charToRaw(run$task_id))
})

test_that("a child of an earlier run (an orphan, after its task was requeued) cannot write into the new run", {
  keys <- new_key_layout(new_test_prefix())
  job <- new_job("long_task", list(5), 5)
  requeued_run <- NULL
  tasks <- tasks_with(function(args, context) {
    context$progress(1, 5)
    # Meanwhile the task was given up and requeued: its record is PENDING again, or a new attempt's.
    redis <- redis_connect(server$url, use_redux = FALSE)
    requeued_run <<- update_record(job$record, status = requeued_status)
    redis$command(list("SET", keys$task(job$record$task_id), encode_record(requeued_run)))
    redis$close()
    context$progress(2, 5)
    stop("never reached")
  })
  run <- run_with(job, tasks = tasks, keys = keys)
  expect_null(run$report)
  expect_identical(run$final, msgpack_decode(encode_record(requeued_run)))
  new_attempt <- mark_progress(mark_started(requeued_run, now = "2020-01-01T00:00:00.000Z"), 1)
  run$redis$command(list("SET", keys$task(job$record$task_id), encode_record(new_attempt)))
  late <- run_with(job, tasks = tasks_with(function(args, context) NULL), keys = keys)
  expect_identical(late$final$state, "PROGRESS") # its STARTED is refused: not PENDING or RETRY
  expect_identical(late$final$started_at, new_attempt$started_at)
})

test_that("the task stops when its record was ended elsewhere (cancelled), and reports nothing", {
  keys <- new_key_layout(new_test_prefix())
  steps <- 0
  job <- new_job("long_task", list(5), 5)
  tasks <- tasks_with(function(args, context) {
    for (i in 1:5) {
      steps <<- i
      if (i == 2) {
        redis <- redis_connect(server$url, use_redux = FALSE) # as the service cancels: from the record stored
        write_record(redis, keys, mark_revoked(read_record(redis, keys, job$record$task_id), "Cancelled while running"), 60)
        redis$close()
      }
      context$progress(i, 5)
    }
  })
  run <- run_with(job, tasks = tasks, keys = keys)
  expect_null(run$report)
  expect_identical(steps, 2L)
  expect_identical(run$final$state, "REVOKED")
})

test_that("every log line about the task carries its task id", {
  logger <- new_test_logger()
  run <- run_with(new_job("long_task", list(2), 2), logger)
  lines <- logger$lines()
  expect_true(length(lines) >= 3)
  expect_true(all(vapply(lines, function(line) identical(line$task_id, run$task_id), logical(1))))
})

test_that("without a Redis connection the child logs the failure, writes nothing and reports the task abandoned", {
  logger <- new_test_logger()
  job <- new_job("long_task", list(1), 1)
  result <- run_task(job, "redis://127.0.0.1:1", new_key_layout("x"), 60, 0, logger,
    connect = function(url, ...) stop(redis_unavailable_error("cannot connect"))
  )
  expect_identical(result, list(abandoned = TRUE, redis_unavailable = TRUE, error = "cannot connect"))
  expect_identical(logger$lines()[[1]]$msg, "task could not start: no Redis connection")
  expect_identical(logger$lines()[[1]]$task_id, job$record$task_id)
})

# A task whose second step finds Redis stopped (restarted `restart_after` seconds later, if given).
outage_tasks <- function(server, restart_after = NULL) {
  restarted <- NULL
  withr::defer(if (!is.null(restarted)) restarted$kill(), envir = parent.frame())
  tasks_with(function(args, context) {
    context$progress(1, 3)
    server$stop()
    if (!is.null(restart_after)) restarted <<- restart_redis_later(server, restart_after)
    context$progress(2, 3)
    context$progress(3, 3)
    3L
  })
}

test_that("a write while Redis is down waits for it (up to retry_seconds), and the task goes on to SUCCESS", {
  server <- start_redis_server(extra_args = c("--appendonly", "yes", "--appendfsync", "always"))
  keys <- new_key_layout(new_test_prefix())
  job <- new_job("long_task", list(3), 3)
  logger <- new_test_logger()
  tasks <- outage_tasks(server, restart_after = 1)
  report <- run_task(job, server$url, keys, 60, 0, logger, tasks = tasks, retry_seconds = 20)
  expect_identical(report$state, "SUCCESS")
  redis <- redis_connect(server$url, use_redux = FALSE)
  on.exit(redis$close(), add = TRUE)
  expect_identical(read_record(redis, keys, job$record$task_id)[c("state", "current", "result", "attempts")], list(state = "SUCCESS", current = 3L, result = 3L, attempts = 1L))
  messages <- vapply(logger$lines(), function(line) line$msg, "")
  expect_true(all(c("Redis unavailable: the task waits for it", "Redis reachable again: the task goes on", "task succeeded") %in% messages))
  waiting <- logger$lines()[[match("Redis unavailable: the task waits for it", messages)]]
  expect_identical(waiting[c("task_id", "retry_seconds")], list(task_id = job$record$task_id, retry_seconds = 20L))
})

test_that("when Redis stays away longer than retry_seconds the child abandons the task and says why", {
  server <- start_redis_server()
  job <- new_job("long_task", list(3), 3)
  logger <- new_test_logger()
  report <- run_task(job, server$url, new_key_layout(new_test_prefix()), 60, 0, logger, tasks = outage_tasks(server), retry_seconds = 1)
  expect_identical(report[c("abandoned", "redis_unavailable")], list(abandoned = TRUE, redis_unavailable = TRUE))
  expect_match(report$error, "could not be reached for 1 s (REDIS_RETRY_SECONDS)", fixed = TRUE)
  abandoned <- Filter(function(line) line$msg == "task abandoned: its record could not be written to Redis", logger$lines())
  expect_length(abandoned, 1)
  expect_identical(abandoned[[1]]$task_id, job$record$task_id)
})
