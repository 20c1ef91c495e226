task_id <- "0b6f1c7e-3d2a-4e5f-8a9b-1c2d3e4f5a6b"

test_that("record fields are every field of TaskRecord in shared/src/status.ts, in its order", {
  source_lines <- shared_source("status.ts")
  start <- grep("^export const TaskRecord = z", source_lines)
  end <- grep("^  \\.meta\\(\\{ id: 'TaskRecord'", source_lines)
  expect_length(start, 1)
  expect_length(end, 1)
  body <- source_lines[start:end]
  names_in_schema <- sub("^    ([a-z_]+):.*$", "\\1", grep("^    [a-z_]+:", body, value = TRUE))
  expect_identical(record_fields, names_in_schema)
})

test_that("the terminal states are TERMINAL_STATES of shared/src/status.ts", {
  declared <- grep("^export const TERMINAL_STATES", shared_source("status.ts"), value = TRUE)
  expect_length(declared, 1)
  ts_states <- regmatches(declared, gregexpr("'[A-Z]+'", declared))[[1]]
  expect_identical(terminal_states, gsub("'", "", ts_states))
})

test_that("a PENDING record has the worker, state, counters and timestamps the gateway expects", {
  record <- new_pending_record(task_id, "long_task", list(3), 3, now = "2026-11-22T01:02:03.456Z")
  expect_identical(record$max_attempts, 1L)
  expect_true("expires_at" %in% names(record))
  expect_null(record$expires_at)
  with_options <- new_pending_record(task_id, "long_task", list(3), 3, max_attempts = 3, expires_at = "2026-11-22T02:00:00.000Z")
  expect_identical(with_options$max_attempts, 3L)
  expect_identical(with_options$expires_at, "2026-11-22T02:00:00.000Z")
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
  expect_identical(
    started[c("state", "status", "attempts", "started_at", "updated_at")],
    list(state = "STARTED", status = "Started", attempts = 1L, started_at = "t1", updated_at = "t1")
  )
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

test_that("RETRY says which attempt failed and the wait; the next STARTED clears the attempt's traces", {
  started <- mark_started(new_pending_record(task_id, "long_task", list(3), 3, max_attempts = 3, now = "t0"), now = "t1")
  failed_midway <- mark_progress(started, 2, now = "t2")
  retry <- mark_retry(failed_midway, "boom", 1250, now = "t3")
  expect_identical(
    retry[c("state", "status", "error", "attempts", "current", "updated_at", "finished_at")],
    list(state = "RETRY", status = "Attempt 1 of 3 failed; retrying in 1.3 s", error = "boom", attempts = 1L, current = 2, updated_at = "t3", finished_at = NULL)
  )
  expect_false(is_terminal_record(retry))
  again <- mark_started(retry, now = "t4")
  expect_identical(
    again[c("state", "status", "error", "attempts", "current", "started_at")],
    list(state = "STARTED", status = "Started (attempt 2)", error = NULL, attempts = 2L, current = 0L, started_at = "t4")
  )
  expect_identical(mark_retry(started, "x", 0)$status, "Attempt 1 of 3 failed; retrying in 0.0 s")
  expect_identical(mark_retry(started, "x", 60000)$status, "Attempt 1 of 3 failed; retrying in 60.0 s")
})

test_that("REVOKED ends the record with its reason and no error", {
  retry <- mark_retry(mark_started(new_pending_record(task_id, "long_task", list(3), 3, max_attempts = 2)), "boom", 10)
  revoked <- mark_revoked(retry, expired_status("2026-11-22T01:00:00.000Z"), now = "t5")
  expect_identical(
    revoked[c("state", "status", "error", "finished_at", "updated_at")],
    list(state = "REVOKED", status = "Expired at 2026-11-22T01:00:00.000Z before it started", error = NULL, finished_at = "t5", updated_at = "t5")
  )
  expect_true(is_terminal_record(revoked))
})

describe("records in Redis", {
  server <- start_redis_server()
  redis <- redis_connect(server$url, use_redux = FALSE)
  withr::defer({
    redis$close()
    server$stop()
  })
  keys <- new_key_layout(new_test_prefix())
  ttl <- function(key) redis$command(list("TTL", key))
  exists_key <- function(key) redis$command(list("EXISTS", key)) == 1

  dead_letters <- function() vapply(redis$command(list("LRANGE", keys$r_dead, 0, -1)), rawToChar, "")

  it("creates a record with a TTL, its heartbeat and its request (same TTL), and refuses a second one with the same id", {
    id <- new_task_id()
    record <- new_pending_record(id, "long_task", list(3), 3)
    request <- '{"task":"long_task","args":[3]}'
    expect_true(create_record(redis, keys, record, 120, 15, request))
    expect_true(ttl(keys$task(id)) > 100 && ttl(keys$task(id)) <= 120)
    expect_identical(rawToChar(redis$command(list("GET", keys$r_request(id)))), request)
    expect_true(ttl(keys$r_request(id)) > 100 && ttl(keys$r_request(id)) <= 120)
    expect_false(create_record(redis, keys, record, 120, 15, '{"task":"other"}'))
    expect_identical(rawToChar(redis$command(list("GET", keys$r_request(id)))), request)
    expect_true(ttl(keys$r_heartbeat(id)) > 10 && ttl(keys$r_heartbeat(id)) <= 15)
    expect_identical(redis$command(list("GET", keys$r_heartbeat(id))), charToRaw("1"))
    expect_false(create_record(redis, keys, mark_started(record), 120, 15, "{}"))
    expect_identical(read_record(redis, keys, id), msgpack_decode(encode_record(record)))
    expect_null(read_record(redis, keys, new_task_id()))
  })

  it("creates an already terminal record (an expired task) without a heartbeat", {
    id <- new_task_id()
    revoked <- mark_revoked(new_pending_record(id, "long_task", list(3), 3), expired_status("2020-01-01T00:00:00.000Z"))
    expect_true(create_record(redis, keys, revoked, 120, 15, "{}"))
    expect_false(exists_key(keys$r_heartbeat(id)))
    expect_identical(read_record(redis, keys, id)$state, "REVOKED")
  })

  it("replaces a live record, keeps the heartbeat until the record is terminal, then deletes it", {
    id <- new_task_id()
    record <- new_pending_record(id, "long_task", list(3), 3)
    create_record(redis, keys, record, 120, 15, "{}")
    started <- mark_started(record)
    expect_true(write_record(redis, keys, started, 300))
    expect_identical(read_record(redis, keys, id)$state, "STARTED")
    expect_true(ttl(keys$task(id)) > 280)
    expect_true(exists_key(keys$r_heartbeat(id)))
    expect_true(write_record(redis, keys, mark_success(started, 3), 300))
    expect_false(exists_key(keys$r_heartbeat(id)))
  })

  it("keeps the request's TTL the record's on every write", {
    id <- new_task_id()
    record <- new_pending_record(id, "long_task", list(3), 3)
    create_record(redis, keys, record, 120, 15, "{}")
    started <- mark_started(record)
    expect_true(write_record(redis, keys, started, 600))
    expect_true(ttl(keys$r_request(id)) > 580)
    expect_true(write_record(redis, keys, mark_success(started, 3), 900))
    expect_true(ttl(keys$r_request(id)) > 880)
    expect_false(write_record(redis, keys, mark_failure(started, "late"), 60)) # refused: nothing changes
    expect_true(ttl(keys$r_request(id)) > 880)
  })

  it("puts every FAILURE on the dead-letter list once, newest first; SUCCESS, REVOKED and RETRY are not dead letters", {
    redis$command(list("DEL", keys$r_dead))
    write_as <- function(change) {
      id <- new_task_id()
      started <- mark_started(new_pending_record(id, "long_task", list(3), 3, max_attempts = 2))
      create_record(redis, keys, started, 120, 15, "{}")
      expect_true(write_record(redis, keys, change(started), 120))
      id
    }
    first <- write_as(function(r) mark_failure(r, "boom"))
    write_as(function(r) mark_success(r, 3))
    write_as(function(r) mark_revoked(r, "Cancelled while running"))
    write_as(function(r) mark_retry(r, "boom", 10))
    second <- write_as(function(r) mark_failure(r, "time limit exceeded (5 ms)"))
    expect_identical(dead_letters(), c(second, first))
    # Another FAILURE over it: refused, the list unchanged.
    expect_false(write_record(redis, keys, mark_failure(read_record(redis, keys, first), "boom", now = "2099-01-01T00:00:00.000Z"), 120))
    expect_identical(dead_letters(), c(second, first))
  })

  it("counts the very same write sent again (its answer lost) as written, and changes nothing", {
    redis$command(list("DEL", keys$r_dead))
    older <- new_task_id()
    id <- new_task_id()
    started <- mark_started(new_pending_record(id, "long_task", list(3), 3))
    create_record(redis, keys, started, 120, 15, "{}")
    progress <- mark_progress(started, 1)
    expect_true(write_record(redis, keys, progress, 120))
    expect_true(write_record(redis, keys, progress, 120))
    failure <- mark_failure(progress, "boom")
    expect_true(write_record(redis, keys, failure, 120))
    redis$command(list("LPUSH", keys$r_dead, older)) # a later dead letter, ahead of it now
    refresh_heartbeats(redis, keys, id, 30)
    expect_true(write_record(redis, keys, failure, 120)) # sent again: already there
    expect_identical(dead_letters(), c(older, id)) # not pushed again
    expect_true(exists_key(keys$r_heartbeat(id))) # nothing done: the service's release deletes it
    expect_identical(read_record(redis, keys, id), msgpack_decode(encode_record(failure)))
    expect_false(write_record(redis, keys, mark_success(progress, 3), 120)) # a different record: refused
  })

  it("refuses a write from another attempt (another run of a requeued task); STARTED only after PENDING or RETRY", {
    id <- new_task_id()
    pending <- new_pending_record(id, "long_task", list(3), 3)
    create_record(redis, keys, pending, 120, 15, "{}")
    started <- mark_started(pending, now = "2026-01-01T00:00:01.000Z")
    expect_true(write_record(redis, keys, started, 120))
    expect_true(write_record(redis, keys, started, 120)) # the same write sent twice
    orphan <- mark_started(pending, now = "2025-12-31T23:00:00.000Z")
    for (late in list(mark_progress(orphan, 1), mark_success(orphan, 3), mark_failure(orphan, "x"), mark_started(pending, now = "t"))) {
      expect_false(write_record(redis, keys, late, 120))
    }
    expect_false(write_record(redis, keys, mark_revoked(pending, "Cancelled while running"), 120)) # from a stale read
    expect_true(write_record(redis, keys, mark_progress(started, 1), 120))
    retry <- mark_retry(mark_progress(started, 1), "boom", 10)
    expect_true(write_record(redis, keys, retry, 120))
    expect_true(write_record(redis, keys, mark_started(retry, now = "2026-01-01T00:00:02.000Z"), 120))
    expect_identical(read_record(redis, keys, id)[c("state", "attempts", "started_at")], list(state = "STARTED", attempts = 2L, started_at = "2026-01-01T00:00:02.000Z"))
  })

  it("never overwrites a terminal record, whoever writes", {
    id <- new_task_id()
    record <- mark_started(new_pending_record(id, "long_task", list(3), 3))
    create_record(redis, keys, record, 120, 15, "{}")
    expect_true(write_record(redis, keys, mark_revoked(record, "Cancelled while running"), 120))
    for (late in list(mark_progress(record, 2), mark_success(record, 3), mark_failure(record, "worker lost"))) {
      expect_false(write_record(redis, keys, late, 120))
    }
    expect_identical(read_record(redis, keys, id)$state, "REVOKED")
  })

  it("writes a record whose key has gone (expired), as there is nothing terminal to keep", {
    id <- new_task_id()
    expect_true(write_record(redis, keys, new_pending_record(id, "long_task", list(3), 3), 120))
    expect_identical(read_record(redis, keys, id)$state, "PENDING")
  })

  it("refreshes every given heartbeat in one call, and deletes one", {
    ids <- c(new_task_id(), new_task_id())
    refresh_heartbeats(redis, keys, ids, 30)
    for (id in ids) expect_true(ttl(keys$r_heartbeat(id)) > 25)
    refresh_heartbeats(redis, keys, character(0), 30)
    expect_true(end_heartbeat(redis, keys, ids[[1]])) # no record at all: deleted
    expect_false(exists_key(keys$r_heartbeat(ids[[1]])))
    expect_true(exists_key(keys$r_heartbeat(ids[[2]])))
  })

  it("ends a heartbeat when the record is terminal, and keeps it when the record is live again (requeued)", {
    id <- new_task_id()
    record <- mark_started(new_pending_record(id, "long_task", list(3), 3))
    create_record(redis, keys, record, 120, 15, "{}")
    expect_false(end_heartbeat(redis, keys, id))
    expect_true(exists_key(keys$r_heartbeat(id)))
    write_record(redis, keys, mark_failure(record, "boom"), 120)
    refresh_heartbeats(redis, keys, id, 30) # a refresh that raced the FAILURE
    expect_true(end_heartbeat(redis, keys, id))
    expect_false(exists_key(keys$r_heartbeat(id)))
  })
})
