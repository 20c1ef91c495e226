# The service in-process (no HTTP, no port), with a real Redis and real forked children: accepting and
# cancelling tasks, health, shutdown. Time limits, retries and heartbeats: test-supervisor.R.
server <- start_redis_server()

test_that("the PENDING record is in Redis before submit_task answers 202", {
  started <- NULL
  setup <- new_test_service(test_config(server$url), start_child = function(job) {
    started <<- job$record
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
  setup <- new_test_service(test_config(server$url))
  task_id <- new_task_id()
  expect_identical(submit(setup$service, task_id, "long_task", list(3))$status, 202L)
  record <- wait_for_state(setup, task_id, c("SUCCESS", "FAILURE"))
  expect_identical(record$state, "SUCCESS")
  expect_identical(record$result, 3L)
  expect_identical(record$attempts, 1L)
})

test_that("single-step tasks have total 1, and summary_stats runs to SUCCESS", {
  setup <- new_test_service(test_config(server$url))
  task_id <- new_task_id()
  submit(setup$service, task_id, "summary_stats", list(c(1, 2, 3, 4, 100)))
  record <- wait_for_state(setup, task_id, c("SUCCESS", "FAILURE"))
  expect_identical(record$total, 1L)
  expect_identical(record$result$quantiles, list(`25%` = 2L, `50%` = 3L, `75%` = 4L))
})

test_that("a second submit with the same task id is 409 task_exists and leaves the record alone", {
  setup <- new_test_service(test_config(server$url), start_child = function(job) 99999L)
  task_id <- new_task_id()
  submit(setup$service, task_id, "long_task", list(3))
  before <- setup$redis$get_raw(setup$keys$task(task_id))
  answer <- submit(setup$service, task_id, "long_task", list(5))
  expect_identical(answer$status, 409L)
  expect_identical(answer$body$error$code, "task_exists")
  expect_identical(setup$redis$get_raw(setup$keys$task(task_id)), before)
})

test_that("an invalid request is 422 and writes nothing", {
  setup <- new_test_service(test_config(server$url))
  task_id <- new_task_id()
  answer <- submit(setup$service, task_id, "long_task", list(0))
  expect_identical(answer$status, 422L)
  expect_identical(answer$body$error$fields, list(list(field = "args.0", message = "must be a whole number between 1 and 10000")))
  expect_null(read_record(setup$redis, setup$keys, task_id))
})

test_that("at MAX_CONCURRENT_TASKS running, a task is refused with 429, Retry-After, and nothing written", {
  setup <- new_test_service(test_config(server$url, max_concurrent_tasks = 1, long_task_step_ms = 100))
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
  setup <- new_test_service(test_config(server$url, long_task_step_ms = 50))
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
  expect_identical(dead_letters(setup), task_id)
})

test_that("a child that could not be started gets 500 internal and its PENDING record is removed", {
  setup <- new_test_service(test_config(server$url), start_child = function(job) stop("fork failed"))
  task_id <- new_task_id()
  answer <- submit(setup$service, task_id, "long_task", list(1))
  expect_identical(answer$status, 500L)
  expect_identical(answer$body$error$code, "internal")
  expect_null(read_record(setup$redis, setup$keys, task_id))
  expect_null(setup$redis$command(list("GET", setup$keys$r_request(task_id))))
})

test_that("health is 200 with running and max while Redis answers, 503 redis_unavailable when it does not", {
  setup <- new_test_service(test_config(server$url, max_concurrent_tasks = 3))
  answer <- setup$service$health()
  expect_identical(answer$status, 200L)
  expect_identical(answer$body, list(status = "ok", running = 0L, max = 3))
  unreachable <- test_config(sprintf("redis://127.0.0.1:%d", free_port()))
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
  setup <- new_test_service(test_config(server$url, long_task_step_ms = 50))
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
  expect_identical(dead_letters(setup), slow)
})

test_that("the PENDING record carries max_attempts and expires_at, and the task's heartbeat is set with it", {
  setup <- new_test_service(test_config(server$url, heartbeat_ttl_seconds = 9), start_child = function(job) 99999L)
  plain <- new_task_id()
  submit(setup$service, plain, "long_task", list(3))
  record <- read_record(setup$redis, setup$keys, plain)
  expect_identical(record$max_attempts, 3L) # long_task's default
  expect_true("expires_at" %in% names(record))
  expect_null(record$expires_at)
  ttl <- setup$redis$command(list("TTL", setup$keys$r_heartbeat(plain)))
  expect_true(ttl > 5 && ttl <= 9)

  with_options <- new_task_id()
  before <- as.numeric(Sys.time())
  answer <- submit(setup$service, with_options, "summary_stats", list(c(1, 2)), options = list(max_attempts = 4, expires = 3600))
  expect_identical(answer$status, 202L)
  record <- read_record(setup$redis, setup$keys, with_options)
  expect_identical(names(record), record_fields)
  expect_identical(record$max_attempts, 4L)
  expires <- parse_iso_datetime(record$expires_at)
  expect_true(expires >= before + 3600 - 0.001 && expires <= as.numeric(Sys.time()) + 3600)
})

test_that("bad options are 422 naming options.<key>, and nothing is written", {
  setup <- new_test_service(test_config(server$url), start_child = function(job) 99999L)
  task_id <- new_task_id()
  answer <- submit(setup$service, task_id, "long_task", list(3), options = list(retries = 2, soft_time_limit_ms = 20, time_limit_ms = 10))
  expect_identical(answer$status, 422L)
  expect_identical(answer$body$error$fields, list(
    list(field = "options.retries", message = "is not an allowed field"),
    list(field = "options.soft_time_limit_ms", message = "must not be longer than time_limit_ms")
  ))
  expect_null(read_record(setup$redis, setup$keys, task_id))
  expect_false(heartbeat_exists(setup, task_id))
})

test_that("a task whose expires has passed is recorded REVOKED at once, answered 202, and never started", {
  started <- 0
  setup <- new_test_service(test_config(server$url, max_concurrent_tasks = 1), start_child = function(job) {
    started <<- started + 1
    99999L
  })
  submit(setup$service, new_task_id(), "long_task", list(3)) # the only slot is taken: expiry needs none
  task_id <- new_task_id()
  answer <- submit(setup$service, task_id, "long_task", list(3), options = list(expires = "2020-01-01T00:00:00+01:00"))
  expect_identical(answer$status, 202L)
  expect_identical(answer$body, list(task_id = task_id, status = "created"))
  record <- read_record(setup$redis, setup$keys, task_id)
  expect_identical(
    record[c("state", "status", "error", "attempts", "expires_at", "started_at")],
    list(state = "REVOKED", status = "Expired at 2019-12-31T23:00:00.000Z before it started", error = NULL, attempts = 0L, expires_at = "2019-12-31T23:00:00.000Z", started_at = NULL)
  )
  expect_identical(record$finished_at, record$created_at)
  expect_false(heartbeat_exists(setup, task_id))
  expect_identical(started, 1)
  expect_identical(submit(setup$service, task_id, "long_task", list(3), options = list(expires = "2020-01-01T00:00:00Z"))$status, 409L)
})

test_that("cancel of a running task kills its child, records REVOKED and answers 200; never 'worker lost' after", {
  setup <- new_test_service(test_config(server$url, long_task_step_ms = 50))
  task_id <- new_task_id()
  submit(setup$service, task_id, "long_task", list(200))
  wait_for_state(setup, task_id, "PROGRESS")
  answer <- setup$service$cancel_task(task_id)
  expect_identical(answer$status, 200L)
  expect_identical(answer$body, list(task_id = task_id, state = "REVOKED"))
  record <- read_record(setup$redis, setup$keys, task_id)
  expect_identical(record[c("state", "status", "error")], list(state = "REVOKED", status = "Cancelled while running", error = NULL))
  expect_false(is.null(record$finished_at))
  expect_true(record$current >= 1)
  wait_until_released(setup, task_id)
  expect_identical(read_record(setup$redis, setup$keys, task_id), record)
  expect_false(heartbeat_exists(setup, task_id))
  expect_identical(setup$service$running(), 0L)
  expect_length(dead_letters(setup), 0) # REVOKED is no dead letter
})

test_that("cancel answers 409 task_finished for a finished task, 404 task_not_found for one not held, 422 for a bad id", {
  setup <- new_test_service(test_config(server$url))
  done <- new_task_id()
  submit(setup$service, done, "summary_stats", list(c(1, 2, 3)))
  wait_for_state(setup, done, "SUCCESS")
  answer <- setup$service$cancel_task(done)
  expect_identical(answer$status, 409L)
  expect_identical(answer$body$error$code, "task_finished")
  expect_identical(answer$body$error$message, sprintf("Task %s has already finished (SUCCESS): there is nothing to cancel", done))
  expect_identical(read_record(setup$redis, setup$keys, done)$state, "SUCCESS")

  unknown <- setup$service$cancel_task(new_task_id())
  expect_identical(unknown$status, 404L)
  expect_identical(names(unknown$body$error), c("code", "message"))
  expect_identical(unknown$body$error$code, "task_not_found")

  elsewhere <- new_task_id() # a live record this service does not hold (another replica's task)
  write_record(setup$redis, setup$keys, new_pending_record(elsewhere, "long_task", list(3), 3), 60)
  answer <- setup$service$cancel_task(elsewhere)
  expect_identical(answer$status, 404L)
  expect_match(answer$body$error$message, "is not held by this R service")
  expect_identical(read_record(setup$redis, setup$keys, elsewhere)$state, "PENDING")

  bad <- setup$service$cancel_task("not-a-uuid")
  expect_identical(bad$status, 422L)
  expect_identical(bad$body$error$fields, list(list(field = "task_id", message = "must be a task id as returned by execute (a UUID)")))
})

test_that("cancel answers 503 redis_unavailable when Redis cannot be reached", {
  unreachable <- test_config(sprintf("redis://127.0.0.1:%d", free_port()))
  redis <- redis_connect(unreachable$redis_url, use_redux = FALSE, connect_now = FALSE)
  on.exit(redis$close(), add = TRUE)
  answer <- new_service(unreachable, redis, silent_logger)$cancel_task(new_task_id())
  expect_identical(answer$status, 503L)
  expect_identical(answer$body$error$code, "redis_unavailable")
})

test_that("shutdown fails a task waiting to retry, and starts no retry", {
  setup <- new_test_service(test_config(server$url), tasks = flaky_tasks(1))
  task_id <- new_task_id()
  submit(setup$service, task_id, "long_task", list(2), options = list(backoff = list(type = "fixed", delay_ms = 60000)))
  wait_for_state(setup, task_id, "RETRY")
  wait_for(function() {
    setup$service$upkeep()
    identical(setup$service$supervisor$held(task_id)$phase, "waiting")
  }, what = "the retry to wait")
  setup$service$shutdown(grace_ms = 0)
  record <- read_record(setup$redis, setup$keys, task_id)
  expect_identical(record[c("state", "error", "attempts")], list(state = "FAILURE", error = shutdown_message, attempts = 1L))
  expect_false(heartbeat_exists(setup, task_id))
  expect_identical(dead_letters(setup), task_id)
})
