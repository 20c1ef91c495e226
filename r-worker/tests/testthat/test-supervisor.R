# The supervisor through the in-process service, with a real Redis, the real scripts and real forked
# children: time limits, retries, a child lost, claimed tasks that must not run, cancel, leases,
# priorities and shutdown. Every wait is bounded (wait_for); no test asserts a speed.
server <- start_redis_server()

sleeping_tasks <- function(marker = NULL) {
  tasks_with(function(args, context) {
    if (!is.null(marker)) on.exit(writeLines("cleaned up", marker), add = TRUE)
    context$progress(1, args[[1]], "Step 1")
    Sys.sleep(30)
  })
}

fixed_backoff <- function(delay_ms) list(type = "fixed", delay_ms = delay_ms, jitter = FALSE)

# What the gateway does to cancel (TaskQueues.cancel: cancel-7).
cancel_through_redis <- function(setup, task_id, queue = "default") {
  q <- setup$keys$queue("r", queue)
  record <- mark_revoked(read_task_record(setup, task_id, queue), record_status("cancelledRunning"))
  script_outcome(test_scripts$run(setup$redis, "cancel-7", c(q$wait, q$delayed, q$job(task_id), q$task(task_id), q$handoffs, q$events, q$stats), list(
    task_id, encode_record(record), 600, setup$keys$cancel_channel("r"), as.character(round(as.numeric(Sys.time()) * 1000)),
    setup$keys$handoff_channel, q$id, record$task
  )))
}

test_that("tasks beyond MAX_CONCURRENT_TASKS wait in the queue and all run: never refused for want of a child", {
  setup <- new_test_service(test_config(server$url, max_concurrent_tasks = 2, long_task_step_ms = 20))
  ids <- vapply(1:6, function(i) new_task_id(), "")
  for (id in ids) expect_identical(submit(setup$service, id, "long_task", list(3))$status, 202L)
  most <- 0
  for (id in ids) {
    wait_for(function() {
      setup$service$upkeep()
      most <<- max(most, setup$service$running())
      identical(read_task_record(setup, id)$state, "SUCCESS")
    }, interval = 0.005, what = "each task to succeed")
  }
  expect_lte(most, 2)
})

test_that("a child killed by its time limit before it wrote STARTED still counts its delivery", {
  setup <- new_test_service(test_config(server$url), tasks = sleeping_tasks())
  task_id <- new_task_id()
  submit(setup$service, task_id, "long_task", list(5), options = list(time_limit_ms = 1))
  record <- wait_for_state(setup, task_id, c("FAILURE", "SUCCESS", "RETRY"))
  expect_identical(record[c("state", "error", "attempts")], list(state = "FAILURE", error = "time limit exceeded (1 ms)", attempts = 1L))
  wait_until_idle(setup)
})

test_that("at time_limit_ms the child is killed: FAILURE 'time limit exceeded (N ms)', a dead letter", {
  setup <- new_test_service(test_config(server$url), tasks = sleeping_tasks())
  task_id <- new_task_id()
  submit(setup$service, task_id, "long_task", list(5), options = list(time_limit_ms = 300))
  record <- wait_for_state(setup, task_id, c("FAILURE", "SUCCESS", "RETRY"))
  expect_identical(record[c("state", "error", "attempts")], list(state = "FAILURE", error = "time limit exceeded (300 ms)", attempts = 1L), info = paste(capture.output(str(record)), collapse = "\n"))
  # stopped part-way: how far it got depends on how busy the machine is, not on the limit's rule
  expect_true(record$current >= 1L && record$current < 5L)
  wait_until_idle(setup)
  expect_identical(dead_letters(setup), task_id)
})

test_that("at soft_time_limit_ms the child is interrupted, may clean up, and records FAILURE", {
  marker <- tempfile()
  setup <- new_test_service(test_config(server$url), tasks = sleeping_tasks(marker))
  task_id <- new_task_id()
  submit(setup$service, task_id, "long_task", list(5), options = list(soft_time_limit_ms = 300, time_limit_ms = 20000))
  record <- wait_for_state(setup, task_id, c("FAILURE", "SUCCESS", "RETRY"))
  expect_identical(record$error, "soft time limit exceeded (300 ms)")
  # The child's last write and its cleanup race on a busy machine: wait (bounded) for the file.
  wait_for(function() file.exists(marker), what = "the task's cleanup to write its marker")
  expect_identical(readLines(marker), "cleaned up")
})

test_that("a failed attempt is retried after its backoff, then SUCCESS with attempts 2", {
  setup <- new_test_service(test_config(server$url), tasks = flaky_tasks(1))
  task_id <- new_task_id()
  submit(setup$service, task_id, "long_task", list(4), options = list(backoff = fixed_backoff(300)))
  expect_identical(wait_for_state(setup, task_id, "RETRY")$error, "flaky failure 1")
  record <- wait_for_state(setup, task_id, c("SUCCESS", "FAILURE"))
  expect_identical(record[c("state", "result", "attempts", "error")], list(state = "SUCCESS", result = 4L, attempts = 2L, error = NULL))
})

test_that("a child that dies without a word is a failed attempt 'worker lost': RETRY, or FAILURE at the last", {
  setup <- new_test_service(test_config(server$url), tasks = sleeping_tasks())
  retried <- new_task_id()
  submit(setup$service, retried, "long_task", list(5), options = list(max_attempts = 2, backoff = fixed_backoff(60000)))
  wait_for_state(setup, retried, "PROGRESS")
  tools::pskill(child_pid_of(setup, retried), tools::SIGKILL)
  record <- wait_for_state(setup, retried, c("RETRY", "FAILURE"))
  expect_identical(record[c("state", "error")], list(state = "RETRY", error = "worker lost: the R child process exited without a result"))
  last <- new_task_id()
  submit(setup$service, last, "long_task", list(5), options = list(max_attempts = 1))
  wait_for_state(setup, last, "PROGRESS")
  tools::pskill(child_pid_of(setup, last), tools::SIGKILL)
  record <- wait_for_state(setup, last, c("RETRY", "FAILURE"))
  expect_identical(record[c("state", "error", "current")], list(state = "FAILURE", error = "worker lost: the R child process exited without a result", current = 1L))
  wait_until_idle(setup)
})

test_that("an expired task is REVOKED when taken, without running", {
  setup <- new_test_service(test_config(server$url))
  task_id <- new_task_id()
  submit(setup$service, task_id, "long_task", list(2), options = list(expires = 0.001))
  Sys.sleep(0.01)
  record <- wait_for_state(setup, task_id, c("REVOKED", "SUCCESS"))
  expect_identical(record$status, sprintf("Expired at %s before it started", record$expires_at))
  expect_null(record$started_at)
})

test_that("a task delivered more than MAX_DELIVERIES times is given up, and args that fail their rules fail", {
  setup <- new_test_service(test_config(server$url, max_deliveries = 1))
  q <- setup$keys$queue("r", "default")
  task_id <- new_task_id()
  setup$service$supervisor$stop_accepting() # nothing claims while the job is prepared
  submit(setup$service, task_id, "long_task", list(2))
  setup$redis$command(list("HSET", q$job(task_id), "attempts", 1))
  bad <- new_task_id()
  plan <- plan_submission(list(task_id = bad, task = "long_task", args = list(0), queue = "default", options = list()))
  setup$queues$enqueue(plan$record, plan$payload)
  other <- new_test_service(test_config(server$url, key_prefix = setup$config$key_prefix, max_deliveries = 1))
  expect_identical(wait_for_state(other, task_id, "FAILURE")$error, "gave up after 1 deliveries: its worker was lost each time")
  expect_identical(wait_for_state(other, bad, "FAILURE")$error, "invalid args at args.0: must be a whole number between 1 and 10000")
  expect_setequal(dead_letters(other), c(task_id, bad))
})

test_that("cancel through Redis (cancel-7) stops the running child: REVOKED 'Cancelled while running'", {
  setup <- new_test_service(test_config(server$url), tasks = sleeping_tasks())
  task_id <- new_task_id()
  submit(setup$service, task_id, "long_task", list(5))
  wait_for_state(setup, task_id, "PROGRESS")
  pid <- child_pid_of(setup, task_id)
  expect_identical(cancel_through_redis(setup, task_id), "running")
  record <- wait_for_state(setup, task_id, "REVOKED")
  expect_identical(record[c("status", "current")], list(status = "Cancelled while running", current = 1L))
  wait_until_idle(setup)
  expect_false(pid %in% parallel_children_pids())
})

test_that("without the subscription the cancel flag is found at lease renewal", {
  setup <- new_test_service(test_config(server$url, lease_ms = 600), tasks = sleeping_tasks(), subscribe = FALSE)
  task_id <- new_task_id()
  submit(setup$service, task_id, "long_task", list(5))
  wait_for_state(setup, task_id, "PROGRESS")
  cancel_through_redis(setup, task_id)
  expect_identical(wait_for_state(setup, task_id, "REVOKED")$status, "Cancelled while running")
})

test_that("a lost lease kills the child and the task is left to whoever holds it now", {
  setup <- new_test_service(test_config(server$url, lease_ms = 600), tasks = sleeping_tasks())
  task_id <- new_task_id()
  submit(setup$service, task_id, "long_task", list(5))
  wait_for_state(setup, task_id, "PROGRESS")
  setup$redis$command(list("HSET", setup$keys$queue("r", "default")$job(task_id), "token", "another-worker"))
  wait_until_idle(setup)
  expect_identical(read_task_record(setup, task_id)$state, "PROGRESS")
})

test_that("with one slot busy, waiting tasks run highest priority first, FIFO within a priority", {
  setup <- new_test_service(test_config(server$url, max_concurrent_tasks = 1, long_task_step_ms = 100))
  blocker <- new_task_id()
  submit(setup$service, blocker, "long_task", list(3))
  wait_for_state(setup, blocker, c("STARTED", "PROGRESS"))
  ids <- vapply(1:4, function(i) new_task_id(), "")
  priorities <- c(1, 9, 5, 9)
  for (i in 1:4) submit(setup$service, ids[[i]], "summary_stats", list(list(i)), options = list(priority = priorities[[i]]))
  finished <- vapply(ids, function(id) wait_for_state(setup, id, "SUCCESS")$finished_at, "")
  expect_identical(ids[order(finished)], ids[c(2, 4, 3, 1)])
})

test_that("a countdown task waits in the delayed set and runs once, no earlier", {
  setup <- new_test_service(test_config(server$url))
  task_id <- new_task_id()
  submitted <- as.numeric(Sys.time())
  submit(setup$service, task_id, "summary_stats", list(list(1, 2)), options = list(countdown = 1))
  record <- wait_for_state(setup, task_id, "SUCCESS")
  expect_gte(parse_iso_datetime(record$started_at), parse_iso_datetime(record$eta))
  expect_gte(parse_iso_datetime(record$eta), submitted + 0.99)
  expect_identical(record$attempts, 1L)
})

test_that("the sweep redelivers a task whose worker died (its lease ran out), attempts counted", {
  setup <- new_test_service(test_config(server$url))
  q <- setup$keys$queue("r", "default")
  setup$service$supervisor$stop_accepting()
  task_id <- new_task_id()
  submit(setup$service, task_id, "long_task", list(2))
  setup$queues$claim("default", 1, "dead-worker", 1) # a worker that took it and died
  Sys.sleep(0.01)
  other <- new_test_service(test_config(server$url, key_prefix = setup$config$key_prefix))
  record <- wait_for_state(other, task_id, "SUCCESS")
  expect_identical(record$attempts, 2L)
  expect_identical(record$status, "Task completed!")
})

test_that("shutdown hands running tasks back to the front of the queue, and leaves the registry", {
  setup <- new_test_service(test_config(server$url, shutdown_grace_ms = 100), tasks = sleeping_tasks())
  task_id <- new_task_id()
  submit(setup$service, task_id, "long_task", list(5))
  wait_for_state(setup, task_id, "PROGRESS")
  worker_id <- setup$service$supervisor$identity$id
  expect_identical(setup$redis$command(list("EXISTS", setup$keys$worker(worker_id))), 1)
  setup$service$shutdown()
  record <- read_task_record(setup, task_id)
  expect_identical(record[c("state", "status")], list(state = "PENDING", status = "Requeued: its worker shut down"))
  expect_identical(setup$redis$command(list("ZCARD", setup$keys$queue("r", "default")$wait)), 1)
  expect_identical(setup$redis$command(list("EXISTS", setup$keys$worker(worker_id))), 0)
  expect_identical(setup$service$running(), 0L)
})

test_that("the worker registry holds what this worker is and runs, arrays staying arrays", {
  setup <- new_test_service(test_config(server$url), tasks = sleeping_tasks())
  task_id <- new_task_id()
  submit(setup$service, task_id, "long_task", list(5))
  wait_for_state(setup, task_id, "PROGRESS")
  json <- setup$service$supervisor$registry$beat()
  info <- jsonlite::parse_json(json)
  expect_identical(info[c("kind", "queues", "concurrency", "running", "pid")], list(kind = "r", queues = list("default"), concurrency = 2L, running = list(task_id), pid = Sys.getpid()))
  expect_identical(names(info), c("id", "kind", "host", "pid", "queues", "concurrency", "running", "started_at", "heartbeat_at"))
  expect_gte(setup$redis$command(list("TTL", setup$keys$worker(info$id))), 9)
  expect_identical(rawToChar(setup$redis$command(list("ZRANGE", setup$keys$worker_set, 0, -1))[[1]]), info$id)
})
