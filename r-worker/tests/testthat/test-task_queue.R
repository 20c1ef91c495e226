# The R twin of TaskQueues against a real Redis: the same scripts, keys and arguments.
server <- start_redis_server()

new_queues <- function(envir = parent.frame()) {
  redis <- redis_connect(server$url, use_redux = FALSE)
  withr::defer(redis$close(), envir = envir)
  keys <- new_key_layout(new_test_prefix())
  list(redis = redis, keys = keys, queues = new_task_queues(redis, test_scripts, keys, 600))
}

pending_of <- function(task_id, queue = "default", priority = 5L, eta = NULL, task = "long_task", args = list(2)) {
  options <- resolve_task_options(task_defaults(task), list(priority = priority))
  options$eta <- eta
  record <- mark_pending(list(task_id = task_id, worker = "r", queue = queue, task = task, args = args, options = options))
  list(record = record, payload = list(task = task, args = args, created_at = record$created_at, options = options))
}

test_that("enqueue writes record, job and locator, lists the queue, and refuses a second task with the id", {
  t <- new_queues()
  id <- new_task_id()
  p <- pending_of(id, queue = "models")
  expect_identical(t$queues$enqueue(p$record, p$payload), "ok")
  q <- t$keys$queue("r", "models")
  expect_identical(encode_record(t$queues$read_record("models", id)), encode_record(p$record))
  expect_identical(rawToChar(t$redis$command(list("GET", t$keys$locator(id)))), "r:models")
  expect_gt(t$redis$command(list("TTL", t$keys$locator(id))), 600 + 172000)
  expect_identical(vapply(t$redis$command(list("SMEMBERS", t$keys$queue_set)), rawToChar, ""), "r:models")
  expect_identical(t$redis$command(list("ZCARD", q$wait)), 1)
  again <- pending_of(id, queue = "models")
  expect_identical(t$queues$enqueue(again$record, again$payload), "task_exists")
  other <- pending_of(id, queue = "other") # the id is taken in every queue
  expect_identical(t$queues$enqueue(other$record, other$payload), "task_exists")
  expect_null(t$queues$read_record("other", id))
  expect_identical(rawToChar(t$redis$command(list("GET", t$keys$locator(id)))), "r:models") # not moved
})

test_that("a bounded queue answers queue_full once it holds max_length tasks", {
  t <- new_queues()
  for (i in 1:2) {
    p <- pending_of(new_task_id())
    expect_identical(t$queues$enqueue(p$record, p$payload, max_length = 2), "ok")
  }
  p <- pending_of(new_task_id())
  expect_identical(t$queues$enqueue(p$record, p$payload, max_length = 2), "queue_full")
  expect_null(t$queues$read_record("default", p$record$task_id))
  expect_null(t$redis$command(list("GET", t$keys$locator(p$record$task_id))))
})

test_that("claim takes the highest priority first, FIFO within one, and decodes the payload", {
  t <- new_queues()
  ids <- vapply(1:4, function(i) new_task_id(), "")
  priorities <- c(1L, 9L, 5L, 9L)
  for (i in 1:4) {
    p <- pending_of(ids[[i]], priority = priorities[[i]])
    t$queues$enqueue(p$record, p$payload)
  }
  claimed <- t$queues$claim("default", 3, "tok", 30000)
  expect_identical(vapply(claimed$tasks, function(task) task$task_id, ""), ids[c(2, 4, 3)])
  first <- claimed$tasks[[1]]
  expect_identical(first[c("queue", "attempts", "failures", "revoked")], list(queue = "default", attempts = 1L, failures = 0L, revoked = FALSE))
  expect_identical(first$payload$task, "long_task")
  expect_identical(first$payload$options$priority, 9L)
  expect_identical(claimed$next_work_at, 0) # one still waits
  expect_identical(t$queues$claim("default", 5, "tok", 30000)$next_work_at, -1)
})

test_that("a task with an eta waits in the delayed set; claim says when it is due", {
  t <- new_queues()
  eta <- format_iso_time(as.numeric(Sys.time()) + 60)
  p <- pending_of(new_task_id(), eta = eta)
  t$queues$enqueue(p$record, p$payload)
  claimed <- t$queues$claim("default", 1, "tok", 30000)
  expect_length(claimed$tasks, 0)
  expect_equal(claimed$next_work_at, parse_iso_datetime(eta) * 1000, tolerance = 1)
})

test_that("leases: written records need the token; extend, finish, retry and release follow the scripts", {
  t <- new_queues()
  id <- new_task_id()
  p <- pending_of(id)
  t$queues$enqueue(p$record, p$payload)
  task <- t$queues$claim("default", 1, "tok", 30000)$tasks[[1]]
  started <- mark_started(p$record, task$attempts)
  expect_true(t$queues$write_record(started, "tok"))
  expect_true(t$queues$write_record(started, "other")) # the very record sent again counts as written
  expect_false(t$queues$write_record(mark_progress(started, 1, 2, "Step 1 of 2"), "other"))
  expect_identical(t$queues$extend_leases("default", c(id, "gone"), "tok", 30000), list(lost = "gone", revoked = character(0)))
  retried <- t$queues$retry(mark_retrying(started, "boom", 1, 0), "tok", 0)
  expect_true(as.logical(retried))
  again <- t$queues$claim("default", 1, "tok", 30000)$tasks[[1]]
  expect_identical(again[c("attempts", "failures")], list(attempts = 2L, failures = 1L))
  expect_true(t$queues$release(mark_released(started), "tok"))
  third <- t$queues$claim("default", 1, "tok2", 30000)$tasks[[1]]
  expect_identical(third$attempts, 3L)
  expect_false(t$queues$finish(mark_succeeded(started, 2), "tok"))
  expect_true(t$queues$finish(mark_failed(started, "no"), "tok2", dead_letter = TRUE))
  expect_identical(vapply(t$redis$command(list("ZRANGE", t$keys$queue("r", "default")$dead, 0, -1)), rawToChar, ""), id)
})

test_that("maintain hands a task whose lease ran out back to the front of the queue", {
  t <- new_queues()
  p <- pending_of(new_task_id())
  t$queues$enqueue(p$record, p$payload)
  t$queues$claim("default", 1, "dead-worker", 1)
  Sys.sleep(0.01)
  swept <- t$queues$maintain("default")
  expect_identical(swept$requeued, p$record$task_id)
  expect_identical(t$queues$claim("default", 1, "tok", 30000)$tasks[[1]]$attempts, 2L)
})

test_that("every record written is an event of its queue, and finish counts the outcome and run time", {
  t <- new_queues()
  id <- new_task_id()
  p <- pending_of(id)
  t$queues$enqueue(p$record, p$payload)
  t$queues$claim("default", 1, "tok", 30000)
  started <- mark_started(p$record, attempts = 1L)
  expect_true(t$queues$write_record(started, "tok"))
  done <- mark_succeeded(started, 42)
  done$started_at <- "2026-01-01T00:00:00.000Z"
  done$finished_at <- "2026-01-01T00:00:02.500Z"
  expect_true(t$queues$finish(done, "tok"))
  q <- t$keys$queue("r", "default")
  entries <- t$redis$command(list("XRANGE", q$events, "-", "+"))
  states <- vapply(entries, function(entry) decode_record(entry[[2]][[4]], id)$state, "")
  expect_identical(states, c("PENDING", "STARTED", "SUCCESS"))
  expect_identical(unique(vapply(entries, function(entry) rawToChar(entry[[2]][[2]]), "")), id)
  stats <- t$redis$command(list("HGETALL", q$stats))
  fields <- vapply(stats[c(TRUE, FALSE)], rawToChar, "")
  values <- vapply(stats[c(FALSE, TRUE)], rawToChar, "")
  # the same fields TypeScript's readTaskMetrics reads: 2.5 s falls in the bucket of at most 5 s
  expect_identical(values[fields == "outcome|long_task|SUCCESS"], "1")
  expect_identical(values[fields == "runtime|long_task|5"], "1")
  expect_identical(values[fields == "runtime_sum|long_task"], "2.5")
})
