task_id <- "0b6f1c7e-3d2a-4e5f-8a9b-1c2d3e4f5a6b"

test_that("record fields are the required fields of TaskRecord in shared/src/status.ts, in its order", {
  source_lines <- shared_source("status.ts")
  start <- grep("^export const TaskRecord = z", source_lines)
  end <- grep("^  \\.meta\\(\\{ id: 'TaskRecord'", source_lines)
  expect_length(start, 1)
  expect_length(end, 1)
  body <- source_lines[start:end]
  field_lines <- grep("^    [a-z_]+:", body)
  names_in_schema <- sub("^    ([a-z_]+):.*$", "\\1", body[field_lines])
  definitions <- vapply(seq_along(field_lines), function(i) {
    last <- if (i < length(field_lines)) field_lines[[i + 1]] - 1 else length(body)
    paste(body[field_lines[[i]]:last], collapse = " ")
  }, "")
  required <- names_in_schema[!grepl(".optional()", definitions, fixed = TRUE)]
  expect_identical(record_fields, required)
})

test_that("the terminal states are TERMINAL_STATES of shared/src/status.ts", {
  declared <- grep("^export const TERMINAL_STATES", shared_source("status.ts"), value = TRUE)
  expect_length(declared, 1)
  ts_states <- regmatches(declared, gregexpr("'[A-Z]+'", declared))[[1]]
  expect_identical(terminal_states, gsub("'", "", ts_states))
})

test_that("a PENDING record has the worker, state, counters and timestamps the gateway expects", {
  record <- new_pending_record(task_id, "long_task", list(3), 3, now = "2026-11-22T01:02:03.456Z")
  expect_identical(names(record), record_fields)
  expect_identical(record$worker, "r")
  expect_identical(record$state, "PENDING")
  expect_identical(record$status, "Pending...")
  expect_identical(record$current, 0L)
  expect_identical(record$attempts, 0L)
  expect_null(record$result)
  expect_null(record$started_at)
  expect_identical(record$updated_at, record$created_at)
})

test_that("the PENDING record encodes to the contract's bytes once its fields are in the contract's order", {
  vector <- Filter(function(v) v$name == "pending_record", contract("status-vectors.json")$vectors)[[1]]
  record <- new_pending_record(task_id, "long_task", list(3L), 3L, now = "2026-11-22T01:02:03.456Z")
  expect_identical(raw_to_hex(msgpack_encode(record[names(vector$value)])), vector$msgpack_hex)
  expect_identical(msgpack_decode(encode_record(record)), record)
})

test_that("STARTED, PROGRESS, SUCCESS and FAILURE set the fields each state needs", {
  pending <- new_pending_record(task_id, "long_task", list(3), 3, now = "t0")
  started <- mark_started(pending, now = "t1")
  expect_identical(started[c("state", "attempts", "started_at", "updated_at")], list(state = "STARTED", attempts = 1L, started_at = "t1", updated_at = "t1"))
  progress <- mark_progress(started, 2, now = "t2")
  expect_identical(progress[c("state", "current", "status", "updated_at")], list(state = "PROGRESS", current = 2, status = "Step 2 of 3", updated_at = "t2"))
  success <- mark_success(progress, 3, now = "t3")
  expect_identical(success[c("state", "current", "status", "result", "finished_at")], list(state = "SUCCESS", current = 3, status = "Task completed!", result = 3, finished_at = "t3"))
  expect_true(is_terminal_record(success))
  failure <- mark_failure(progress, "boom", now = "t4")
  expect_identical(failure[c("state", "current", "status", "error", "finished_at")], list(state = "FAILURE", current = 2, status = "Task failed", error = "boom", finished_at = "t4"))
  expect_identical(names(failure), record_fields)
  expect_false(is_terminal_record(progress))
  expect_false(is_terminal_record(NULL))
})

test_that("records are written with a TTL and SET NX refuses a second PENDING record", {
  server <- start_redis_server()
  redis <- redis_connect(server$url, use_redux = FALSE)
  on.exit({
    redis$close()
    server$stop()
  }, add = TRUE)
  keys <- new_key_layout(new_test_prefix())
  record <- new_pending_record(task_id, "long_task", list(3), 3)
  expect_true(write_record(redis, keys, record, 120, only_if_new = TRUE))
  expect_false(write_record(redis, keys, record, 120, only_if_new = TRUE))
  ttl <- redis$command(list("TTL", keys$task(task_id)))
  expect_true(ttl > 100 && ttl <= 120)
  expect_identical(read_record(redis, keys, task_id), msgpack_decode(encode_record(record)))
  expect_null(read_record(redis, keys, new_task_id()))
})
