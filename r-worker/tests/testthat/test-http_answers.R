test_that("every error code has the status of rules.json's table (HTTP_STATUS_BY_CODE)", {
  table <- contract("rules.json")$http_status_by_code
  for (code in names(table)) expect_identical(http_status_of(code), as.integer(table[[code]]))
  expect_identical(http_status_of("queue_full"), 429L)
  expect_identical(http_status_of("unauthorized"), 401L)
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
  send_answer(res, http_error("queue_full", "full", headers = list(`Retry-After` = "1")))
  expect_identical(res$status, 429L)
  expect_identical(headers$`Retry-After`, "1")
  expect_identical(headers$Connection, "close")
  expect_identical(headers$`Content-Type`, "application/json")
  expect_identical(jsonlite::parse_json(res$body)$error$code, "queue_full")
})
