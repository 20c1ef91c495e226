# The service in-process (no HTTP, no port), with a real Redis and real forked children.
server <- start_redis_server()

test_config <- function(...) {
  config <- list(
    redis_url = server$url, key_prefix = new_test_prefix(), result_ttl_seconds = 600, log_level = "error",
    host = "127.0.0.1", port = 0, max_concurrent_tasks = 2, long_task_step_ms = 10, shutdown_grace_ms = 1000
  )
  modifyList(config, list(...))
}

# Closed when the calling test ends, its children killed and collected first.
new_test_service <- function(config = test_config(), ...) {
  redis <- redis_connect(config$redis_url, use_redux = FALSE)
  service <- new_service(config, redis, silent_logger, ...)
  withr::defer({
    kill_children(service$pool)
    wait_for(function() {
      reap_children(service$pool)
      service$running() == 0
    }, what = "the test's children to end")
    redis$close()
  }, envir = parent.frame())
  list(service = service, redis = redis, keys = new_key_layout(config$key_prefix), config = config)
}

submit <- function(service, task_id, task, args) {
  body <- jsonlite::toJSON(list(task_id = task_id, task = task, args = args), auto_unbox = TRUE)
  service$submit_task(charToRaw(as.character(body)))
}

wait_for_state <- function(setup, task_id, states, timeout = 10) {
  wait_for(function() {
    record <- read_record(setup$redis, setup$keys, task_id)
    setup$service$settle_ended_children()
    if (!is.null(record) && record$state %in% states) record else NULL
  }, timeout = timeout, what = sprintf("task %s to reach %s", task_id, paste(states, collapse = "/")))
}

child_pid_of <- function(setup, task_id) {
  for (info in setup$service$pool$children) {
    if (identical(info$record$task_id, task_id)) return(info$pid)
  }
  NULL
}

test_that("the PENDING record is in Redis before submit_task answers 202", {
  started <- NULL
  setup <- new_test_service(start_child = function(record, args) {
    started <<- record
    99999L
  })
  task_id <- new_task_id()
  answer <- submit(setup$service, task_id, "long_task", list(3))
  expect_identical(answer$status, 202L)
  expect_identical(answer$body, list(task_id = task_id, status = "created"))
  record <- read_record(setup$redis, setup$keys, task_id)
  expect_identical(record$state, "PENDING")
  expect_identical(record$worker, "r")
  expect_identical(record$attempts, 0L)
  expect_identical(record$current, 0L)
  expect_identical(record$total, 3L)
  expect_identical(record$status, "Pending...")
  expect_identical(record$created_at, record$updated_at)
  expect_identical(started$task_id, task_id)
  ttl <- setup$redis$command(list("TTL", setup$keys$task(task_id)))
  expect_true(ttl > 590 && ttl <= 600)
})

test_that("a submitted long_task runs in a child to SUCCESS", {
  setup <- new_test_service()
  task_id <- new_task_id()
  expect_identical(submit(setup$service, task_id, "long_task", list(3))$status, 202L)
  record <- wait_for_state(setup, task_id, c("SUCCESS", "FAILURE"))
  expect_identical(record$state, "SUCCESS")
  expect_identical(record$result, 3L)
  expect_identical(record$attempts, 1L)
})

test_that("single-step tasks have total 1, and summary_stats runs to SUCCESS", {
  setup <- new_test_service()
  task_id <- new_task_id()
  submit(setup$service, task_id, "summary_stats", list(c(1, 2, 3, 4, 100)))
  record <- wait_for_state(setup, task_id, c("SUCCESS", "FAILURE"))
  expect_identical(record$total, 1L)
  expect_identical(record$result$quantiles, list(`25%` = 2L, `50%` = 3L, `75%` = 4L))
})

test_that("a second submit with the same task id is 409 task_exists and leaves the record alone", {
  setup <- new_test_service(start_child = function(record, args) 99999L)
  task_id <- new_task_id()
  submit(setup$service, task_id, "long_task", list(3))
  before <- setup$redis$get_raw(setup$keys$task(task_id))
  answer <- submit(setup$service, task_id, "long_task", list(5))
  expect_identical(answer$status, 409L)
  expect_identical(answer$body$error$code, "task_exists")
  expect_identical(setup$redis$get_raw(setup$keys$task(task_id)), before)
})

test_that("an invalid request is 422 and writes nothing", {
  setup <- new_test_service()
  task_id <- new_task_id()
  answer <- submit(setup$service, task_id, "long_task", list(0))
  expect_identical(answer$status, 422L)
  expect_identical(answer$body$error$fields, list(list(field = "args.0", message = "must be a whole number between 1 and 10000")))
  expect_null(read_record(setup$redis, setup$keys, task_id))
})

test_that("at MAX_CONCURRENT_TASKS running, a task is refused with 429, Retry-After, and nothing written", {
  setup <- new_test_service(test_config(max_concurrent_tasks = 1, long_task_step_ms = 100))
  first <- new_task_id()
  expect_identical(submit(setup$service, first, "long_task", list(100))$status, 202L)
  second <- new_task_id()
  answer <- submit(setup$service, second, "long_task", list(1))
  expect_identical(answer$status, 429L)
  expect_identical(answer$body$error$code, "worker_busy")
  expect_identical(answer$headers$`Retry-After`, "1")
  expect_null(read_record(setup$redis, setup$keys, second))
  expect_identical(setup$service$running(), 1L)
  tools::pskill(child_pid_of(setup, first), tools::SIGKILL)
  wait_for_state(setup, first, "FAILURE")
})

test_that("a child killed with SIGKILL leaves FAILURE 'worker lost', not PROGRESS", {
  setup <- new_test_service(test_config(long_task_step_ms = 50))
  task_id <- new_task_id()
  submit(setup$service, task_id, "long_task", list(200))
  wait_for_state(setup, task_id, "PROGRESS")
  tools::pskill(child_pid_of(setup, task_id), tools::SIGKILL)
  record <- wait_for_state(setup, task_id, c("SUCCESS", "FAILURE"))
  expect_identical(record$state, "FAILURE")
  expect_identical(record$error, worker_lost_message)
  expect_identical(record$status, "Task failed")
  expect_true(record$current >= 1)
  expect_identical(setup$service$running(), 0L)
})

test_that("a child that could not be started gets 500 internal and its PENDING record is removed", {
  setup <- new_test_service(start_child = function(record, args) stop("fork failed"))
  task_id <- new_task_id()
  answer <- submit(setup$service, task_id, "long_task", list(1))
  expect_identical(answer$status, 500L)
  expect_identical(answer$body$error$code, "internal")
  expect_null(read_record(setup$redis, setup$keys, task_id))
})

test_that("health is 200 with running and max while Redis answers, 503 redis_unavailable when it does not", {
  setup <- new_test_service(test_config(max_concurrent_tasks = 3))
  answer <- setup$service$health()
  expect_identical(answer$status, 200L)
  expect_identical(answer$body, list(status = "ok", running = 0L, max = 3))
  unreachable <- test_config(redis_url = sprintf("redis://127.0.0.1:%d", free_port()))
  redis <- redis_connect(unreachable$redis_url, use_redux = FALSE, connect_now = FALSE)
  on.exit(redis$close(), add = TRUE)
  down <- new_service(unreachable, redis, silent_logger)
  answer <- down$health()
  expect_identical(answer$status, 503L)
  expect_identical(answer$body$error$code, "redis_unavailable")
  answer <- submit(down, new_task_id(), "long_task", list(1))
  expect_identical(answer$status, 503L)
  expect_identical(answer$body$error$code, "redis_unavailable")
})

test_that("shutdown lets a task that ends within the grace period finish, and kills and fails the rest", {
  setup <- new_test_service(test_config(long_task_step_ms = 50))
  quick <- new_task_id()
  slow <- new_task_id()
  submit(setup$service, quick, "long_task", list(2))
  submit(setup$service, slow, "long_task", list(400))
  killed <- setup$service$shutdown(grace_ms = 1000)
  expect_identical(killed, 1L)
  expect_identical(setup$service$running(), 0L)
  expect_identical(read_record(setup$redis, setup$keys, quick)$state, "SUCCESS")
  slow_record <- read_record(setup$redis, setup$keys, slow)
  expect_identical(slow_record$state, "FAILURE")
  expect_identical(slow_record$error, "worker shut down before the task finished")
})
