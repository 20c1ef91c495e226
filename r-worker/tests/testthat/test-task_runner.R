# run_task is what a forked child runs; here it runs in this process against a real Redis, on a task
# enqueued and claimed with the real scripts.
server <- start_redis_server()

# Enqueues a task and claims it as a worker with token "tok" would.
claimed_task <- function(task, args, options = list(), envir = parent.frame()) {
  redis <- redis_connect(server$url, use_redux = FALSE)
  withr::defer(redis$close(), envir = envir)
  keys <- new_key_layout(new_test_prefix())
  queues <- new_task_queues(redis, test_scripts, keys, 600)
  plan <- plan_submission(list(task_id = new_task_id(), task = task, args = args, queue = "default", options = options))
  queues$enqueue(plan$record, plan$payload)
  claimed <- queues$claim("default", 1, "tok", 30000)$tasks[[1]]
  list(redis = redis, keys = keys, queues = queues, task = claimed, task_id = claimed$task_id)
}

run_claimed <- function(setup, tasks = r_tasks, token = "tok", url = server$url, logger = silent_logger) {
  job <- list(task = setup$task, args = check_task_args(setup$task$payload$task, setup$task$payload$args)$args, token = token, started = as.numeric(Sys.time()))
  settings <- list(redis_url = url, retry_seconds = 0, step_ms = 0, ttl_seconds = 600, scripts = test_scripts, keys = setup$keys)
  run_task(job, settings, logger, connect = function(url, ...) redis_connect(url, use_redux = FALSE, ...), tasks = tasks)
}

final_of <- function(setup) setup$queues$read_record("default", setup$task_id)

test_that("long_task writes STARTED and PROGRESS, then acknowledges SUCCESS with the result", {
  setup <- claimed_task("long_task", list(3))
  seen <- character(0)
  tasks <- tasks_with(function(args, context) {
    for (i in 1:3) {
      context$progress(i, 3, sprintf("Step %d of 3", i))
      seen <<- c(seen, final_of(setup)$status)
    }
    3
  })
  report <- run_claimed(setup, tasks = tasks)
  expect_identical(report, list(outcome = "success"))
  expect_identical(seen, c("Step 1 of 3", "Step 2 of 3", "Step 3 of 3"))
  final <- final_of(setup)
  expect_identical(final[c("state", "result", "current", "attempts", "error", "status", "worker", "queue", "priority")], list(
    state = "SUCCESS", result = 3L, current = 3L, attempts = 1L, error = NULL, status = "Task completed!", worker = "r", queue = "default", priority = 5L
  ))
  expect_false(is.null(final$started_at))
  expect_identical(setup$redis$command(list("EXISTS", setup$keys$queue("r", "default")$job(setup$task_id))), 0) # acknowledged
  expect_identical(setup$redis$command(list("ZCARD", setup$keys$queue("r", "default")$leases)), 0)
})

test_that("an R error with no attempts left is FAILURE with the R message, and a dead letter", {
  setup <- claimed_task("lm_fit", list(list(1, 2, 3), list(x = list(1, 2, 3, 4))))
  expect_identical(run_claimed(setup), list(outcome = "failure"))
  final <- final_of(setup)
  expect_identical(final$state, "FAILURE")
  expect_identical(final$error, "every predictor column must hold as many values as y (3); x holds 4")
  expect_identical(dead_letters(setup), setup$task_id)
})

test_that("an R error with attempts left is RETRY: the task waits in the delayed set out of its backoff", {
  setup <- claimed_task("long_task", list(2), options = list(backoff = list(type = "fixed", delay_ms = 60000, jitter = FALSE)))
  report <- run_claimed(setup, tasks = flaky_tasks(1))
  expect_identical(report$outcome, "retry")
  expect_gt(report$retry_due_ms, as.numeric(Sys.time()) * 1000 + 50000)
  final <- final_of(setup)
  expect_identical(final[c("state", "error", "status")], list(state = "RETRY", error = "flaky failure 1", status = "Attempt 1 of 3 failed; retrying in 60.0 s"))
  expect_identical(setup$redis$command(list("ZCARD", setup$keys$queue("r", "default")$delayed)), 1)
})

test_that("the last attempt's failure says how many attempts were made", {
  setup <- claimed_task("long_task", list(2), options = list(max_attempts = 2))
  setup$task$failures <- 1L
  run_claimed(setup, tasks = flaky_tasks(5))
  expect_identical(final_of(setup)$error, "flaky failure 1 (gave up after 2 attempts)")
})

test_that("a child whose lease went to another worker stops quietly at its first write", {
  setup <- claimed_task("long_task", list(2))
  ran <- FALSE
  report <- run_claimed(setup, token = "someone-else", tasks = tasks_with(function(args, context) ran <<- TRUE))
  expect_identical(report, list(outcome = "lease_lost"))
  expect_false(ran)
  expect_identical(final_of(setup)$state, "PENDING")
})

test_that("without Redis the child abandons its attempt, writing nothing", {
  setup <- claimed_task("long_task", list(2))
  report <- run_claimed(setup, url = sprintf("redis://127.0.0.1:%d", free_port()))
  expect_identical(report$outcome, "abandoned")
  expect_identical(final_of(setup)$state, "PENDING")
})

test_that("every line the child logs about its task carries the task_id", {
  setup <- claimed_task("long_task", list(2))
  logger <- new_test_logger()
  run_claimed(setup, logger = logger)
  lines <- logger$lines()
  expect_gt(length(lines), 1)
  expect_true(all(vapply(lines, function(line) identical(line$task_id, setup$task_id), logical(1))))
})
