task_id <- "0b6f1c7e-3d2a-4e5f-8a9b-1c2d3e4f5a6b"
transitions <- contract("transition-vectors.json")

test_that("record fields are rules.json's record_fields, which are TaskRecord's in shared/src/status.ts", {
  source_lines <- shared_source("status.ts")
  start <- grep("^export const TaskRecord = z", source_lines)
  end <- grep("^  \\.meta\\(\\{ id: 'TaskRecord'", source_lines)
  body <- source_lines[start:end]
  names_in_schema <- sub("^    ([a-z_]+):.*$", "\\1", grep("^    [a-z_]+:", body, value = TRUE))
  expect_identical(record_fields(), names_in_schema)
})

# The R twin of each named transition of shared/src/transitions.ts.
r_transition <- list(
  started = mark_started, progress = mark_progress, retrying = mark_retrying, succeeded = mark_succeeded,
  failed = mark_failed, revoked = mark_revoked, released = mark_released, requeued = mark_requeued
)

test_that("there is an R twin of every transition the vectors use", {
  used <- unique(vapply(transitions$vectors, function(v) v$transition, ""))
  expect_true(length(used) >= 8)
  expect_true(all(used %in% names(r_transition)))
})

for (vector in transitions$vectors) {
  local({
    v <- vector
    label <- sprintf("%s(%s)", v$transition, paste(vapply(v$args, function(a) as.character(jsonlite::toJSON(a, auto_unbox = TRUE)), ""), collapse = ", "))
    test_that(sprintf("transition %s on a %s record gives exactly the vector's record and bytes", label, v$from$state), {
      to <- do.call(r_transition[[v$transition]], c(list(v$from), v$args, list(now = transitions$now)))
      expect_identical(names(to), record_fields())
      expect_identical(raw_to_hex(encode_record(to)), v$to_stored_hex)
      expect_identical(msgpack_decode(encode_record(to)), msgpack_decode(hex_to_raw(v$to_stored_hex)))
    })
  })
}

test_that("mark_pending builds the contract's pending_record byte for byte", {
  vector <- Filter(function(v) v$name == "pending_record", contract("status-vectors.json")$vectors)[[1]]
  record <- mark_pending(
    list(
      task_id = task_id, worker = "r", queue = "default", task = "long_task", args = list(3),
      options = list(max_attempts = 3L, expires_at = NULL, priority = 5L, eta = NULL)
    ),
    now = "2026-11-22T01:02:03.456Z"
  )
  expect_identical(raw_to_hex(encode_record(record)), vector$stored_hex)
})

test_that("mark_pending counts long_task's steps, and one step for every other task", {
  options <- list(max_attempts = 1L, expires_at = "2026-11-22T02:00:00.000Z", priority = 9L, eta = "2026-11-22T01:10:00.000Z")
  record <- mark_pending(list(task_id = task_id, worker = "r", queue = "q", task = "summary_stats", args = list(I(c(1, 2))), options = options))
  expect_identical(record$total, 1L)
  expect_identical(record[c("queue", "priority", "eta", "expires_at", "max_attempts")], list(
    queue = "q", priority = 9L, eta = "2026-11-22T01:10:00.000Z", expires_at = "2026-11-22T02:00:00.000Z", max_attempts = 1L
  ))
})

test_that("a record lacking a field cannot be encoded; update_record keeps NULL fields as nil", {
  expect_error(encode_record(list(task_id = task_id)), "status record lacks")
  record <- update_record(transitions$vectors[[1]]$from, result = NULL)
  expect_true("result" %in% names(record))
})

test_that("the retry status rounds tenths of seconds as JavaScript's toFixed(1)", {
  expect_identical(format_seconds_tenths(1250), "1.3")
  expect_identical(format_seconds_tenths(1249), "1.2")
  expect_identical(format_seconds_tenths(0), "0.0")
})
