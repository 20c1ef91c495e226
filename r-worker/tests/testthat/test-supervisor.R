# Time limits, retries, expiry, cancelling a waiting retry and heartbeats, through the service with a
# real Redis and real forked children. Every wait is bounded (wait_for); no test asserts a speed.
server <- start_redis_server()

sleeping_tasks <- function(marker = NULL) {
  tasks_with(function(args, context) {
    if (!is.null(marker)) on.exit(writeLines("cleaned up", marker), add = TRUE)
    context$progress(1, args[[1]])
    Sys.sleep(30)
  })
}

fixed_backoff <- function(delay_ms) list(type = "fixed", delay_ms = delay_ms, jitter = FALSE)

test_that("at time_limit_ms the child is killed: FAILURE 'time limit exceeded (N ms)', not retried", {
  setup <- new_test_service(test_config(server$url), tasks = sleeping_tasks())
  task_id <- new_task_id()
  expect_identical(submit(setup$service, task_id, "long_task", list(5), options = list(time_limit_ms = 300))$status, 202L)
  record <- wait_for_state(setup, task_id, c("FAILURE", "SUCCESS", "RETRY"))
  expect_identical(
    record[c("state", "status", "error", "attempts", "max_attempts", "current")],
    list(state = "FAILURE", status = "Task failed", error = "time limit exceeded (300 ms)", attempts = 1L, max_attempts = 3L, current = 1L)
  )
  wait_until_released(setup, task_id)
  expect_identical(read_record(setup$redis, setup$keys, task_id)$state, "FAILURE")
  expect_false(heartbeat_exists(setup, task_id))
  expect_identical(setup$service$running(), 0L)
  expect_identical(dead_letters(setup), task_id)
})

test_that("at soft_time_limit_ms the child is interrupted, may clean up, and records FAILURE 'soft time limit exceeded'", {
  marker <- tempfile()
  setup <- new_test_service(test_config(server$url), tasks = sleeping_tasks(marker))
  task_id <- new_task_id()
  submit(setup$service, task_id, "long_task", list(5), options = list(soft_time_limit_ms = 300, time_limit_ms = 20000))
  record <- wait_for_state(setup, task_id, c("FAILURE", "SUCCESS", "RETRY"))
  expect_identical(
    record[c("state", "error", "attempts", "current")],
    list(state = "FAILURE", error = "soft time limit exceeded (300 ms)", attempts = 1L, current = 1L)
  )
  expect_identical(readLines(marker), "cleaned up")
  wait_until_released(setup, task_id)
  expect_identical(read_record(setup$redis, setup$keys, task_id)$error, "soft time limit exceeded (300 ms)")
  expect_identical(dead_letters(setup), task_id)
})

test_that("a failed attempt is retried after its backoff: RETRY, then STARTED with attempts + 1, then SUCCESS", {
  setup <- new_test_service(test_config(server$url), tasks = flaky_tasks(2))
  task_id <- new_task_id()
  submit(setup$service, task_id, "long_task", list(4), options = list(backoff = fixed_backoff(400)))
  states <- character(0)
  record <- wait_for(function() {
    setup$service$upkeep()
    record <- read_record(setup$redis, setup$keys, task_id)
    label <- sprintf("%s/%d", record$state, record$attempts)
    if (!identical(utils::tail(states, 1), label)) states <<- c(states, label)
    if (record$state == "RETRY" && record$attempts == 1) {
      expect_identical(record$error, "flaky failure 1")
      expect_identical(record$status, "Attempt 1 of 3 failed; retrying in 0.4 s")
    }
    if (record$state %in% terminal_states) record else NULL
  }, timeout = 15, interval = 0.005, what = "the task to end")
  expect_identical(record[c("state", "result", "attempts", "error", "status")], list(state = "SUCCESS", result = 4L, attempts = 3L, error = NULL, status = "Task completed!"))
  expect_true(all(c("RETRY/1", "RETRY/2") %in% states))
  expect_identical(utils::tail(states, 1), "SUCCESS/3")
  expect_length(dead_letters(setup), 0) # RETRY and SUCCESS are no dead letters
  expect_identical(match("RETRY/1", states) < match("RETRY/2", states), TRUE)
})

test_that("with its attempts used up a task gives up: FAILURE '<message> (gave up after N attempts)'", {
  setup <- new_test_service(test_config(server$url), tasks = flaky_tasks(10))
  task_id <- new_task_id()
  submit(setup$service, task_id, "long_task", list(2), options = list(max_attempts = 2, backoff = fixed_backoff(0)))
  record <- wait_for_state(setup, task_id, terminal_states)
  expect_identical(record[c("state", "error", "attempts")], list(state = "FAILURE", error = "flaky failure 2 (gave up after 2 attempts)", attempts = 2L))
  expect_identical(dead_letters(setup), task_id)
})

test_that("a waiting retry holds no slot; when it is due and every slot is busy it waits for one", {
  setup <- new_test_service(test_config(server$url, max_concurrent_tasks = 1, long_task_step_ms = 100), tasks = flaky_tasks(1))
  retried <- new_task_id()
  submit(setup$service, retried, "long_task", list(2), options = list(backoff = fixed_backoff(1000)))
  wait_for_state(setup, retried, "RETRY")
  wait_for(function() {
    setup$service$upkeep()
    identical(setup$service$supervisor$held(retried)$phase, "waiting")
  }, what = "the retry to wait")
  expect_identical(setup$service$running(), 0L)
  blocker <- new_task_id() # takes the only slot, and runs past the retry's due time (2 s of steps)
  expect_identical(submit(setup$service, blocker, "long_task", list(20))$status, 202L)
  wait_for_state(setup, blocker, "SUCCESS", timeout = 20)
  record <- wait_for_state(setup, retried, terminal_states)
  expect_identical(record[c("state", "attempts")], list(state = "SUCCESS", attempts = 2L))
  # The retry could only start once the blocker had ended.
  expect_true(record$started_at >= read_record(setup$redis, setup$keys, blocker)$finished_at)
})

test_that("a retry whose time comes after expires_at is REVOKED instead of run", {
  setup <- new_test_service(test_config(server$url), tasks = flaky_tasks(1))
  task_id <- new_task_id()
  submit(setup$service, task_id, "long_task", list(2), options = list(expires = 0.2, backoff = fixed_backoff(700)))
  record <- wait_for_state(setup, task_id, terminal_states)
  expect_identical(record$state, "REVOKED")
  expect_identical(record$status, sprintf("Expired at %s before it started", record$expires_at))
  expect_identical(record$attempts, 1L)
  expect_null(record$error)
  expect_false(heartbeat_exists(setup, task_id))
  expect_length(dead_letters(setup), 0)
})

test_that("cancel of a retry waiting for its backoff drops it: REVOKED, and it never runs again", {
  setup <- new_test_service(test_config(server$url), tasks = flaky_tasks(1))
  task_id <- new_task_id()
  submit(setup$service, task_id, "long_task", list(2), options = list(backoff = fixed_backoff(2000)))
  wait_for_state(setup, task_id, "RETRY")
  wait_for(function() {
    setup$service$upkeep()
    identical(setup$service$supervisor$held(task_id)$phase, "waiting")
  }, what = "the retry to wait")
  answer <- setup$service$cancel_task(task_id)
  expect_identical(answer$status, 200L)
  expect_identical(answer$body, list(task_id = task_id, state = "REVOKED"))
  record <- read_record(setup$redis, setup$keys, task_id)
  expect_identical(record[c("state", "status", "attempts")], list(state = "REVOKED", status = "Cancelled while waiting to retry", attempts = 1L))
  expect_null(setup$service$supervisor$held(task_id))
  expect_false(heartbeat_exists(setup, task_id))
  Sys.sleep(2.3) # past the backoff: nothing may start
  setup$service$upkeep()
  expect_identical(read_record(setup$redis, setup$keys, task_id), record)
  expect_identical(setup$service$running(), 0L)
  expect_length(dead_letters(setup), 0)
})

test_that("the heartbeat of a running task and of a waiting retry is refreshed, and goes when the task ends", {
  setup <- new_test_service(test_config(server$url, heartbeat_ttl_seconds = 3), tasks = sleeping_tasks())
  running <- new_task_id()
  submit(setup$service, running, "long_task", list(5))
  wait_for_state(setup, running, "PROGRESS")
  key <- setup$keys$r_heartbeat(running)
  # Shortened by hand: only a refresh (every TTL / 3 = 1 s) can lengthen it again.
  setup$redis$command(list("PEXPIRE", key, 1500))
  wait_for(function() {
    setup$service$upkeep()
    setup$redis$command(list("PTTL", key)) > 1500
  }, timeout = 5, what = "the heartbeat to be refreshed")
  setup$service$cancel_task(running)
  expect_false(heartbeat_exists(setup, running))
  wait_until_released(setup, running)
  Sys.sleep(1.2) # a refresh round after the task was let go does not bring it back
  setup$service$upkeep()
  expect_false(heartbeat_exists(setup, running))
})

test_that("a waiting retry keeps its heartbeat", {
  setup <- new_test_service(test_config(server$url, heartbeat_ttl_seconds = 3), tasks = flaky_tasks(1))
  task_id <- new_task_id()
  submit(setup$service, task_id, "long_task", list(2), options = list(backoff = fixed_backoff(60000)))
  wait_for_state(setup, task_id, "RETRY")
  key <- setup$keys$r_heartbeat(task_id)
  setup$redis$command(list("PEXPIRE", key, 1500))
  wait_for(function() {
    setup$service$upkeep()
    setup$redis$command(list("PTTL", key)) > 1500
  }, timeout = 5, what = "the waiting task's heartbeat to be refreshed")
  expect_identical(read_record(setup$redis, setup$keys, task_id)$state, "RETRY")
})

test_that("next_wake is the time to the nearest deadline, at most the heartbeat interval", {
  setup <- new_test_service(test_config(server$url, heartbeat_ttl_seconds = 300), tasks = sleeping_tasks())
  setup$service$upkeep()
  expect_true(setup$service$supervisor$next_wake() > 90)
  submit(setup$service, new_task_id(), "long_task", list(5), options = list(time_limit_ms = 5000))
  expect_true(setup$service$supervisor$next_wake() <= 5)
})

test_that("cancel reads the record again when the killed child's last write landed after the service read it", {
  config <- test_config(server$url)
  keys <- new_key_layout(config$key_prefix)
  redis <- redis_connect(server$url, use_redux = FALSE)
  stale <- NULL # what the service's next read returns instead of the stored record
  get_raw <- redis$get_raw
  redis$get_raw <- function(key) {
    if (is.null(stale)) {
      return(get_raw(key))
    }
    bytes <- stale
    stale <<- NULL
    bytes
  }
  service <- NULL
  service <- new_service(config, redis, silent_logger, start_child = function(job) {
    fork_child(service$pool, function() Sys.sleep(30), info = list(task_id = job$record$task_id))
  })
  on.exit({
    kill_children(service$pool)
    wait_for(function() {
      reap_children(service$pool)
      running_count(service$pool) == 0
    }, what = "the child to end")
    redis$close()
  }, add = TRUE)
  task_id <- new_task_id()
  submit(service, task_id, "long_task", list(3))
  pending <- get_raw(keys$task(task_id))
  expect_true(write_record(redis, keys, mark_started(msgpack_decode(pending)), 600)) # the child's STARTED
  stale <- pending
  answer <- service$cancel_task(task_id)
  expect_identical(answer$status, 200L)
  expect_null(stale) # the stale read was used, its write refused, and the record read again
  record <- read_record(redis, keys, task_id)
  expect_identical(record[c("state", "status", "attempts")], list(state = "REVOKED", status = "Cancelled while running", attempts = 1L))
})

# Redis outages: the service's own calls fail at once (it answers 503 and tries again on its next
# round); its children wait for Redis up to REDIS_RETRY_SECONDS.
aof <- c("--appendonly", "yes", "--appendfsync", "always")

run_upkeep_for <- function(setup, seconds) {
  deadline <- Sys.time() + seconds
  while (Sys.time() < deadline) {
    setup$service$upkeep()
    Sys.sleep(0.05)
  }
}

test_that("a task running while Redis restarts on its AOF ends SUCCESS; meanwhile health and POST answer 503 without waiting", {
  outage <- start_redis_server(extra_args = aof)
  setup <- new_test_service(test_config(outage$url, long_task_step_ms = 100, redis_retry_seconds = 20))
  task_id <- new_task_id()
  submit(setup$service, task_id, "long_task", list(20))
  wait_for_state(setup, task_id, "PROGRESS")
  outage$stop()
  asked <- Sys.time()
  expect_identical(setup$service$health()$status, 503L)
  answer <- submit(setup$service, new_task_id(), "long_task", list(1))
  expect_identical(answer$body$error$code, "redis_unavailable")
  expect_lt(elapsed_since(asked), 5) # not a speed: far below REDIS_RETRY_SECONDS, so nothing waited for Redis
  run_upkeep_for(setup, 1)
  outage$restart()
  record <- wait_for_state(setup, task_id, c("SUCCESS", "FAILURE"), timeout = 30)
  expect_identical(record[c("state", "current", "result", "attempts", "error")], list(state = "SUCCESS", current = 20L, result = 20L, attempts = 1L, error = NULL))
  wait_until_released(setup, task_id)
  expect_false(heartbeat_exists(setup, task_id))
})

test_that("a task whose child gave up on Redis (away longer than REDIS_RETRY_SECONDS) is recorded FAILURE saying so once Redis is back", {
  outage <- start_redis_server(extra_args = aof)
  setup <- new_test_service(test_config(outage$url, long_task_step_ms = 100, redis_retry_seconds = 1))
  task_id <- new_task_id()
  submit(setup$service, task_id, "long_task", list(50))
  wait_for_state(setup, task_id, "PROGRESS")
  outage$stop()
  wait_for(function() {
    setup$service$upkeep()
    identical(setup$service$supervisor$held(task_id)$phase, "ended")
  }, timeout = 15, what = "the child to give up and exit")
  outage$restart()
  record <- wait_for_state(setup, task_id, c("SUCCESS", "FAILURE"))
  expect_identical(
    record[c("state", "error")],
    list(state = "FAILURE", error = "Redis was unavailable for longer than REDIS_RETRY_SECONDS (1 s); the task was abandoned")
  )
  expect_identical(dead_letters(setup), task_id)
})

test_that("heartbeats lost in an outage (Redis back empty) are set again within a round of Redis answering", {
  outage <- start_redis_server()
  setup <- new_test_service(test_config(outage$url, long_task_step_ms = 100, heartbeat_ttl_seconds = 3))
  task_id <- new_task_id()
  submit(setup$service, task_id, "long_task", list(50))
  wait_for_state(setup, task_id, "PROGRESS")
  outage$stop()
  run_upkeep_for(setup, 0.5)
  outage$restart() # no persistence: every key is gone, as a heartbeat is after an outage longer than its TTL
  expect_true(wait_for(function() {
    setup$service$upkeep()
    heartbeat_exists(setup, task_id)
  }, timeout = 5, what = "the heartbeat to be set again"))
  expect_identical(wait_for_state(setup, task_id, c("SUCCESS", "FAILURE"), timeout = 20)$state, "SUCCESS")
})
