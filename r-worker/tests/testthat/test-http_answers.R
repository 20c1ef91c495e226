test_that("every R error code has the gateway's HTTP status (HTTP_STATUS_BY_CODE in errors.ts)", {
  source_lines <- shared_source("errors.ts")
  entries <- regmatches(source_lines, regexec("^\\s+([a-z_]+): ([0-9]{3}),$", source_lines))
  entries <- Filter(function(m) length(m) == 3, entries)
  ts_table <- setNames(as.integer(vapply(entries, `[[`, "", 3)), vapply(entries, `[[`, "", 2))
  expect_true(length(ts_table) >= 10)
  expect_true(all(names(http_status_by_code) %in% names(ts_table)))
  expect_identical(http_status_by_code, ts_table[names(http_status_by_code)])
})

test_that("an error answer has exactly the gateway's body shape", {
  answer <- http_error("validation_failed", "Invalid request: args.0 must be a number",
    fields = list(list(field = "args.0", message = "must be a number"))
  )
  expect_identical(answer$status, 422L)
  expect_identical(
    http_answer_json(answer),
    '{"error":{"code":"validation_failed","message":"Invalid request: args.0 must be a number","fields":[{"field":"args.0","message":"must be a number"}]}}'
  )
  expect_identical(
    http_answer_json(http_error("task_exists", "exists")),
    '{"error":{"code":"task_exists","message":"exists"}}'
  )
})

test_that("an unknown error code is a programming error", {
  expect_error(http_error("teapot", "no"), "unknown error code")
})

test_that("send_answer writes status, JSON body, extra headers and Connection: close", {
  headers <- list()
  res <- new.env()
  res$setHeader <- function(name, value) headers[[name]] <<- value
  send_answer(res, http_error("worker_busy", "busy", headers = list(`Retry-After` = "1")))
  expect_identical(res$status, 429L)
  expect_identical(headers$`Retry-After`, "1")
  expect_identical(headers$Connection, "close")
  expect_identical(headers$`Content-Type`, "application/json")
  expect_identical(jsonlite::parse_json(res$body)$error$code, "worker_busy")
})
