# Dead letters and their requeue, through the service in-process with a real Redis: the stored request,
# requeue_dead_4's answers, and POST /tasks/<task_id>/requeue (service$requeue_task) in every case.
server <- start_redis_server()

# A service whose children are stand-ins: `jobs()` lists what each start was given.
stub_service <- function(..., envir = parent.frame()) {
  jobs <- list()
  config <- modifyList(test_config(server$url, max_concurrent_tasks = 4), list(...))
  setup <- new_test_service(config, envir = envir, start_child = function(job) {
    jobs[[length(jobs) + 1L]] <<- job
    2000000000L + length(jobs) # above any pid_max (2^22 at most): a signal to it can reach no process
  })
  setup$jobs <- function() jobs
  setup
}

# Submits a task and fails it as its child would (STARTED, then FAILURE): a dead letter. With `release`,
# the service then lets it go as when it sees that child exit (a stand-in never does).
make_dead_letter <- function(setup, task = "long_task", args = list(3), options = NULL, error = "broken", release = TRUE) {
  task_id <- new_task_id()
  expect_identical(submit(setup$service, task_id, task, args, options)$status, 202L)
  started <- mark_started(read_record(setup$redis, setup$keys, task_id))
  expect_true(write_record(setup$redis, setup$keys, started, setup$config$result_ttl_seconds))
  expect_true(write_record(setup$redis, setup$keys, mark_failure(started, error), setup$config$result_ttl_seconds))
  if (release) {
    entry <- setup$service$supervisor$held(task_id)
    entry$phase <- "ended"
    wait_until_released(setup, task_id)
  }
  task_id
}

stored_request <- function(setup, task_id) {
  bytes <- setup$redis$command(list("GET", setup$keys$r_request(task_id)))
  if (is.null(bytes)) NULL else rawToChar(bytes)
}

test_that("the stored request is {task, args, options?} as given, every number read back exactly", {
  given <- jsonlite::parse_json(
    '{"task":"summary_stats","args":[[0.30000000000000004,1e-300,-0.0,1.7976931348623157e308,5]],"options":{"expires":"2030-01-01T00:00:00Z","backoff":{"type":"fixed","delay_ms":0}}}',
    simplifyVector = FALSE
  )
  json <- stored_request_json(given)
  expect_identical(jsonlite::parse_json(json, simplifyVector = FALSE), given)
  expect_match(json, "1.7976931348623157e+308", fixed = TRUE)
  expect_identical(stored_request_json(list(task = "long_task", args = list(3L))), '{"task":"long_task","args":[3]}')
  expect_identical(shortest_double_text(0.1), "0.1")
})

test_that("submit stores the request with the record's TTL, options only when given", {
  setup <- stub_service()
  plain <- new_task_id()
  submit(setup$service, plain, "long_task", list(3))
  expect_identical(stored_request(setup, plain), '{"task":"long_task","args":[3]}')
  ttl <- setup$redis$command(list("TTL", setup$keys$r_request(plain)))
  expect_true(ttl > 590 && ttl <= 600)
  with_options <- new_task_id()
  submit(setup$service, with_options, "summary_stats", list(c(1, 2.5)), options = list(max_attempts = 2, expires = 60))
  expect_identical(
    jsonlite::parse_json(stored_request(setup, with_options)),
    list(task = "summary_stats", args = list(list(1L, 2.5)), options = list(max_attempts = 2L, expires = 60L))
  )
  expired <- new_task_id() # accepted (REVOKED at once): stored too
  submit(setup$service, expired, "long_task", list(3), options = list(expires = "2020-01-01T00:00:00Z"))
  expect_false(is.null(stored_request(setup, expired)))
  expect_length(dead_letters(setup), 0)
})

test_that("requeue_dead_4 answers not_dead, unusable, busy or requeued, and changes only what it says", {
  setup <- stub_service()
  keys <- setup$keys
  record_of <- function(id) read_record(setup$redis, keys, id)
  requeue <- function(id, busy = FALSE, record = update_record(record_of(id), state = "PENDING")) {
    requeue_dead_record(setup$redis, keys, id, record, 600, 15, busy)
  }
  expect_identical(requeue(new_task_id(), record = NULL), "not_dead")

  dead <- make_dead_letter(setup)
  expect_identical(requeue(dead, busy = TRUE), "busy")
  expect_identical(dead_letters(setup), dead)
  expect_identical(record_of(dead)$state, "FAILURE")
  expect_identical(requeue(dead, record = NULL), "unusable") # no record could be built: dropped
  expect_length(dead_letters(setup), 0)
  expect_identical(record_of(dead)$state, "FAILURE")

  expired <- make_dead_letter(setup)
  setup$redis$command(list("DEL", setup$keys$r_request(expired)))
  expect_identical(requeue(expired, busy = TRUE), "unusable") # before busy: it can never run
  expect_length(dead_letters(setup), 0)

  stale <- make_dead_letter(setup) # on the list, but its record is no longer FAILURE
  setup$redis$command(list("SET", keys$task(stale), encode_record(update_record(record_of(stale), state = "SUCCESS"))))
  expect_identical(requeue(stale), "not_dead")
  expect_length(dead_letters(setup), 0)

  again <- make_dead_letter(setup)
  expect_identical(requeue(again), "requeued")
  expect_length(dead_letters(setup), 0)
  expect_identical(record_of(again)$state, "PENDING")
  expect_true(setup$redis$command(list("TTL", keys$r_heartbeat(again))) > 10)
  expect_identical(requeue(again), "not_dead")
})

test_that("requeue replaces the FAILURE with a new PENDING record, attempts reset, and starts it as a new task", {
  setup <- stub_service(heartbeat_ttl_seconds = 9)
  options <- list(max_attempts = 4, backoff = list(type = "fixed", delay_ms = 5), soft_time_limit_ms = 50000, time_limit_ms = 60000)
  # Not let go: the new run replaces the entry of the last one, whose child has not been seen to exit.
  task_id <- make_dead_letter(setup, "long_task", list(7), options = options, release = FALSE)
  failed <- read_record(setup$redis, setup$keys, task_id)
  Sys.sleep(0.01) # so that the new updated_at differs from created_at
  answer <- setup$service$requeue_task(task_id)
  expect_identical(answer$status, 202L)
  expect_identical(answer$body, list(task_id = task_id, status = "created"))
  record <- read_record(setup$redis, setup$keys, task_id)
  expect_identical(names(record), record_fields)
  expect_identical(
    record[c("task_id", "worker", "task", "args", "state", "current", "total", "status", "result", "error", "attempts", "max_attempts", "expires_at", "created_at", "started_at", "finished_at")],
    list(
      task_id = task_id, worker = "r", task = "long_task", args = list(7L), state = "PENDING", current = 0L, total = 7L,
      status = "Requeued by an operator", result = NULL, error = NULL, attempts = 0L, max_attempts = 4L, expires_at = NULL,
      created_at = failed$created_at, started_at = NULL, finished_at = NULL
    )
  )
  expect_true(record$updated_at > failed$updated_at)
  expect_length(dead_letters(setup), 0)
  hb_ttl <- setup$redis$command(list("TTL", setup$keys$r_heartbeat(task_id)))
  expect_true(hb_ttl > 5 && hb_ttl <= 9)
  expect_true(setup$redis$command(list("TTL", setup$keys$r_request(task_id))) > 590)
  jobs <- setup$jobs()
  expect_length(jobs, 2)
  expect_identical(jobs[[2]][c("args", "options")], jobs[[1]][c("args", "options")])
  expect_identical(msgpack_decode(encode_record(jobs[[2]]$record)), record)
  expect_identical(jobs[[2]]$record$status, "Requeued by an operator")
  expect_identical(setup$service$supervisor$held(task_id)$pid, 2000000002L)
})

test_that("a requeued dead letter runs again in a real child: it fails as before or now succeeds", {
  setup <- new_test_service(test_config(server$url), tasks = flaky_tasks(1))
  task_id <- new_task_id()
  submit(setup$service, task_id, "long_task", list(2), options = list(max_attempts = 1))
  failed <- wait_for_state(setup, task_id, terminal_states)
  expect_identical(failed[c("state", "error")], list(state = "FAILURE", error = "flaky failure 1"))
  expect_identical(dead_letters(setup), task_id)
  wait_until_released(setup, task_id)
  expect_identical(setup$service$requeue_task(task_id)$status, 202L)
  record <- wait_for_state(setup, task_id, terminal_states)
  expect_identical(record[c("state", "result", "attempts", "max_attempts", "error")], list(state = "SUCCESS", result = 2L, attempts = 1L, max_attempts = 1L, error = NULL))
  expect_identical(record$created_at, failed$created_at)
  expect_length(dead_letters(setup), 0)
  wait_until_released(setup, task_id)
  expect_false(heartbeat_exists(setup, task_id))
})

test_that("a dead letter that is not (any more) on the list, or was never one, is 404 task_not_found", {
  setup <- stub_service()
  unknown <- new_task_id()
  answer <- setup$service$requeue_task(unknown)
  expect_identical(answer$status, 404L)
  expect_identical(answer$body, list(error = list(code = "task_not_found", message = sprintf("Task %s is not on the dead-letter list", unknown))))
  running <- new_task_id()
  submit(setup$service, running, "long_task", list(3))
  expect_identical(setup$service$requeue_task(running)$status, 404L)
  expect_identical(read_record(setup$redis, setup$keys, running)$state, "PENDING")
  twice <- make_dead_letter(setup)
  expect_identical(setup$service$requeue_task(twice)$status, 202L)
  expect_identical(setup$service$requeue_task(twice)$body$error$message, sprintf("Task %s is not on the dead-letter list", twice))
})

test_that("a dead letter whose request expired is 404 'can no longer run', and taken off the list", {
  setup <- stub_service()
  task_id <- make_dead_letter(setup)
  before <- setup$redis$get_raw(setup$keys$task(task_id))
  setup$redis$command(list("DEL", setup$keys$r_request(task_id)))
  answer <- setup$service$requeue_task(task_id)
  expect_identical(answer$status, 404L)
  expect_identical(answer$body$error, list(code = "task_not_found", message = sprintf("Task %s can no longer run: its request expired", task_id)))
  expect_length(dead_letters(setup), 0)
  expect_identical(setup$redis$get_raw(setup$keys$task(task_id)), before)
  expect_identical(setup$service$requeue_task(task_id)$body$error$message, sprintf("Task %s is not on the dead-letter list", task_id))

  broken <- make_dead_letter(setup) # a stored request the rules no longer accept
  setup$redis$command(list("SET", setup$keys$r_request(broken), '{"task":"long_task","args":[0]}'))
  answer <- setup$service$requeue_task(broken)
  expect_identical(answer$status, 404L)
  expect_match(answer$body$error$message, "can no longer run: its stored request is not valid \\(Invalid request: args.0 must be")
  expect_length(dead_letters(setup), 0)
})

test_that("at MAX_CONCURRENT_TASKS a requeue is 429 worker_busy with Retry-After, and nothing changes", {
  setup <- stub_service(max_concurrent_tasks = 1)
  task_id <- make_dead_letter(setup)
  other <- make_dead_letter(setup)
  held <- new_task_id()
  submit(setup$service, held, "long_task", list(3)) # the only slot
  before <- setup$redis$get_raw(setup$keys$task(task_id))
  answer <- setup$service$requeue_task(task_id)
  expect_identical(answer$status, 429L)
  expect_identical(answer$body$error$code, "worker_busy")
  expect_identical(answer$headers$`Retry-After`, "1")
  expect_identical(dead_letters(setup), c(other, task_id))
  expect_identical(setup$redis$get_raw(setup$keys$task(task_id)), before)
  expect_false(heartbeat_exists(setup, task_id))
  expect_length(setup$jobs(), 3)
})

test_that("a dead letter whose expires has passed is requeued as REVOKED at once (202), without a slot or a child", {
  setup <- stub_service(max_concurrent_tasks = 1)
  task_id <- make_dead_letter(setup, options = list(expires = "2999-01-01T00:00:00Z"))
  setup$redis$command(list("SET", setup$keys$r_request(task_id), '{"task":"long_task","args":[3],"options":{"expires":"2020-01-01T00:00:00Z"}}'))
  submit(setup$service, new_task_id(), "long_task", list(3)) # the only slot is taken: expiry needs none
  jobs_before <- length(setup$jobs())
  answer <- setup$service$requeue_task(task_id)
  expect_identical(answer$status, 202L)
  record <- read_record(setup$redis, setup$keys, task_id)
  expect_identical(
    record[c("state", "status", "error", "attempts", "expires_at", "started_at")],
    list(state = "REVOKED", status = "Expired at 2020-01-01T00:00:00.000Z before it started", error = NULL, attempts = 0L, expires_at = "2020-01-01T00:00:00.000Z", started_at = NULL)
  )
  expect_length(dead_letters(setup), 0)
  expect_false(heartbeat_exists(setup, task_id))
  expect_length(setup$jobs(), jobs_before)
})

test_that("an `expires` in seconds is counted again from the requeue", {
  setup <- stub_service()
  task_id <- make_dead_letter(setup, options = list(expires = 3600))
  first <- parse_iso_datetime(read_record(setup$redis, setup$keys, task_id)$expires_at)
  Sys.sleep(0.05)
  before <- as.numeric(Sys.time())
  setup$service$requeue_task(task_id)
  again <- parse_iso_datetime(read_record(setup$redis, setup$keys, task_id)$expires_at)
  expect_true(again > first && again >= before + 3600 - 0.001)
})

test_that("a requeued task whose child cannot be started is 500, FAILURE again, and back on the dead list", {
  fail_now <- FALSE
  setup <- new_test_service(test_config(server$url), start_child = function(job) if (fail_now) stop("fork failed") else 99999L)
  task_id <- make_dead_letter(setup)
  fail_now <- TRUE
  answer <- setup$service$requeue_task(task_id)
  expect_identical(answer$status, 500L)
  expect_identical(answer$body$error$code, "internal")
  record <- read_record(setup$redis, setup$keys, task_id)
  expect_identical(record[c("state", "error", "attempts")], list(state = "FAILURE", error = "the R worker could not start attempt 1: fork failed", attempts = 0L))
  expect_identical(dead_letters(setup), task_id)
  expect_false(heartbeat_exists(setup, task_id))
})

test_that("requeue answers 422 naming task_id for a malformed id, and 503 when Redis cannot be reached", {
  setup <- stub_service()
  bad <- setup$service$requeue_task("not-a-uuid")
  expect_identical(bad$status, 422L)
  expect_identical(bad$body$error$fields, list(list(field = "task_id", message = "must be a task id as returned by execute (a UUID)")))
  unreachable <- test_config(sprintf("redis://127.0.0.1:%d", free_port()))
  redis <- redis_connect(unreachable$redis_url, use_redux = FALSE, connect_now = FALSE)
  on.exit(redis$close(), add = TRUE)
  answer <- new_service(unreachable, redis, silent_logger)$requeue_task(new_task_id())
  expect_identical(answer$status, 503L)
  expect_identical(answer$body$error, list(code = "redis_unavailable", message = "Redis cannot be reached; the task was not requeued"))
})
