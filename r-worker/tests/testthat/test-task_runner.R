# run_task is what a forked child runs; here it runs in this process against a real Redis.
server <- start_redis_server()

# A Redis client that also keeps every record it is asked to write, decoded.
recording_client <- function(url) {
  client <- redis_connect(url, use_redux = FALSE)
  written <- list()
  command <- client$command
  client$command <- function(args, idempotent = FALSE) {
    if (identical(args[[1]], "SET")) written[[length(written) + 1L]] <<- msgpack_decode(args[[3]])
    command(args, idempotent)
  }
  client$written <- function() written
  client
}

run_with <- function(task, args, total, logger = silent_logger) {
  keys <- new_key_layout(new_test_prefix())
  record <- new_pending_record(new_task_id(), task, args, total)
  client <- recording_client(server$url)
  finished <- run_task(record, args, server$url, keys, 60, 0, logger, connect = function(url) client)
  expect_true(finished) # the final record is written, whether SUCCESS or FAILURE
  list(written = client$written(), keys = keys, task_id = record$task_id, redis = redis_connect(server$url, use_redux = FALSE))
}

test_that("long_task writes STARTED, a PROGRESS per step, then SUCCESS with the result", {
  run <- run_with("long_task", list(3), 3)
  on.exit(run$redis$close(), add = TRUE)
  states <- vapply(run$written, function(r) r$state, "")
  expect_identical(states, c("STARTED", "PROGRESS", "PROGRESS", "PROGRESS", "SUCCESS"))
  expect_identical(vapply(run$written[2:4], function(r) r$current, 1L), 1:3)
  expect_identical(run$written[[3]]$status, "Step 2 of 3")
  final <- read_record(run$redis, run$keys, run$task_id)
  expect_identical(final$state, "SUCCESS")
  expect_identical(final$result, 3L)
  expect_identical(final$current, 3L)
  expect_identical(final$attempts, 1L)
  expect_identical(final$worker, "r")
  expect_identical(final$status, "Task completed!")
  expect_false(is.null(final$started_at))
  expect_identical(final$finished_at, final$updated_at)
  expect_null(final$error)
})

test_that("lm_fit's result is stored as a map of coefficients and numbers", {
  run <- run_with("lm_fit", list(I(c(2.1, 3.9, 6.2, 7.8, 10.1)), list(x = I(c(1, 2, 3, 4, 5)))), 1)
  on.exit(run$redis$close(), add = TRUE)
  final <- read_record(run$redis, run$keys, run$task_id)
  expect_identical(final$state, "SUCCESS")
  expect_identical(names(final$result), c("coefficients", "r_squared", "adj_r_squared", "n"))
  expect_equal(final$result$coefficients$x, 1.99, tolerance = 1e-9)
  expect_identical(final$args, list(list(2.1, 3.9, 6.2, 7.8, 10.1), list(x = list(1L, 2L, 3L, 4L, 5L))))
})

test_that("an R error in the task becomes FAILURE with the error's message, logged with the task id", {
  logger <- new_test_logger()
  run <- run_with("lm_fit", list(I(c(1, 2, 3)), list(x = I(c(1, 2, 3, 4)))), 1, logger)
  on.exit(run$redis$close(), add = TRUE)
  final <- read_record(run$redis, run$keys, run$task_id)
  expect_identical(final$state, "FAILURE")
  expect_identical(final$status, "Task failed")
  expect_identical(final$error, "every predictor column must hold as many values as y (3); x holds 4")
  expect_null(final$result)
  expect_false(is.null(final$finished_at))
  failed <- Filter(function(line) line$msg == "task failed", logger$lines())
  expect_length(failed, 1)
  expect_identical(failed[[1]]$task_id, run$task_id)
})

test_that("every log line about the task carries its task id", {
  logger <- new_test_logger()
  run <- run_with("long_task", list(2), 2, logger)
  on.exit(run$redis$close(), add = TRUE)
  lines <- logger$lines()
  expect_true(length(lines) >= 3)
  expect_true(all(vapply(lines, function(line) identical(line$task_id, run$task_id), logical(1))))
})

test_that("without a Redis connection the child logs the failure and writes nothing", {
  logger <- new_test_logger()
  record <- new_pending_record(new_task_id(), "long_task", list(1), 1)
  result <- run_task(record, list(1), "redis://127.0.0.1:1", new_key_layout("x"), 60, 0, logger,
    connect = function(url) stop(redis_error("cannot connect"))
  )
  expect_false(result)
  expect_identical(logger$lines()[[1]]$msg, "task could not start: no Redis connection")
  expect_identical(logger$lines()[[1]]$task_id, record$task_id)
})
