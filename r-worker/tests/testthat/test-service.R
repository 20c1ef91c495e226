# The service's answers, in-process with a real Redis: what POST /tasks and GET /health send back.
server <- start_redis_server()

test_that("a valid submission is queued at once: 202 created, its PENDING record and locator written", {
  setup <- new_test_service(test_config(server$url))
  setup$service$supervisor$stop_accepting() # nothing claims it here
  task_id <- new_task_id()
  answer <- submit(setup$service, task_id, "long_task", list(3), queue = "models", options = list(priority = 7, countdown = 30))
  expect_identical(answer$status, 202L)
  expect_identical(answer$body, list(task_id = task_id, status = "created"))
  record <- read_task_record(setup, task_id, "models")
  expect_identical(record[c("state", "worker", "queue", "priority", "total", "attempts", "max_attempts")], list(
    state = "PENDING", worker = "r", queue = "models", priority = 7L, total = 3L, attempts = 0L, max_attempts = 3L
  ))
  expect_false(is.null(record$eta))
  expect_identical(rawToChar(setup$redis$command(list("GET", setup$keys$locator(task_id)))), "r:models")
  q <- setup$keys$queue("r", "models")
  expect_identical(setup$redis$command(list("ZCARD", q$delayed)), 1)
  job <- setup$redis$command(list("HGETALL", q$job(task_id)))
  job <- stats::setNames(job[c(FALSE, TRUE)], vapply(job[c(TRUE, FALSE)], rawToChar, ""))
  # The job keeps only the options that differ from the task's defaults, the timestamp and trace beside them.
  stored <- msgpack_decode(job$payload)
  expect_identical(names(stored), c("task", "args", "options"))
  expect_identical(names(stored$options), c("priority", "eta"))
  expect_identical(rawToChar(job$created_at), record$created_at)
  payload <- read_payload(job$payload, rawToChar(job$created_at), "")
  expect_identical(names(payload$options), c("max_attempts", "backoff", "soft_time_limit_ms", "time_limit_ms", "expires_at", "priority", "eta"))
  expect_identical(payload$options[c("max_attempts", "priority", "eta")], list(max_attempts = 3L, priority = 7L, eta = record$eta))
})

test_that("a reused id is 409 task_exists; a bad queue 422 naming queue; bad JSON 400", {
  setup <- new_test_service(test_config(server$url))
  setup$service$supervisor$stop_accepting()
  task_id <- new_task_id()
  submit(setup$service, task_id, "summary_stats", list(list(1, 2)))
  expect_identical(submit(setup$service, task_id, "summary_stats", list(list(1)))$body$error$code, "task_exists")
  expect_identical(submit(setup$service, task_id, "summary_stats", list(list(1)), queue = "elsewhere")$status, 409L)
  bad <- submit(setup$service, new_task_id(), "summary_stats", list(list(1)), queue = "no:colons")
  expect_identical(bad$status, 422L)
  expect_identical(bad$body$error$fields, list(list(field = "queue", message = contract("rules.json")$queue_name_rule)))
  expect_identical(setup$service$submit_task(charToRaw('{"task_id": '))$status, 400L)
})

test_that("a queue at MAX_QUEUE_LENGTH answers 429 queue_full with Retry-After, writing nothing", {
  setup <- new_test_service(test_config(server$url, max_queue_length = 2))
  setup$service$supervisor$stop_accepting()
  for (i in 1:2) expect_identical(submit(setup$service, new_task_id(), "long_task", list(1))$status, 202L)
  task_id <- new_task_id()
  full <- submit(setup$service, task_id, "long_task", list(1))
  expect_identical(full$status, 429L)
  expect_identical(full$headers$`Retry-After`, "1")
  expect_identical(full$body$error$code, "queue_full")
  expect_null(read_task_record(setup, task_id))
})

test_that("health: 200 with worker id, queues (an array), running and max; 503 without Redis", {
  setup <- new_test_service(test_config(server$url, queues = "default"))
  answer <- setup$service$health()
  expect_identical(answer$status, 200L)
  expect_identical(http_answer_json(answer), sprintf(
    '{"status":"ok","worker_id":"%s","queues":["default"],"running":0,"max":2}', setup$service$supervisor$identity$id
  ))
  down <- new_test_service(test_config(sprintf("redis://127.0.0.1:%d", free_port())), subscribe = FALSE)
  expect_identical(down$service$health()$status, 503L)
  refused <- submit(down$service, new_task_id(), "long_task", list(1))
  expect_identical(refused$status, 503L)
  expect_identical(refused$body$error$code, "redis_unavailable")
})

test_that("submitting wakes the supervisor of that queue: the task runs without waiting for a poll", {
  setup <- new_test_service(test_config(server$url))
  task_id <- new_task_id()
  submit(setup$service, task_id, "summary_stats", list(list(1, 2, 3)))
  record <- wait_for_state(setup, task_id, "SUCCESS", timeout = 5)
  expect_identical(record$result$n, 3L)
})
