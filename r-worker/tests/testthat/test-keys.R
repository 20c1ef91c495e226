layout <- contract("key-layout.json")

test_that("the R task key is exactly the TypeScript one from key-layout.json", {
  keys <- new_key_layout(layout$prefix)
  expect_identical(keys$task(layout$task_id), layout$keys$task)
})

test_that("the R heartbeat key is exactly the TypeScript rHeartbeat from key-layout.json", {
  keys <- new_key_layout(layout$prefix)
  expect_false(is.null(layout$keys$rHeartbeat))
  expect_identical(keys$r_heartbeat(layout$task_id), layout$keys$rHeartbeat)
})

test_that("the R dead-letter list and stored request keys are exactly the TypeScript rDead and rRequest", {
  keys <- new_key_layout(layout$prefix)
  expect_false(is.null(layout$keys$rDead))
  expect_false(is.null(layout$keys$rRequest))
  expect_identical(keys$r_dead, layout$keys$rDead)
  expect_identical(keys$r_request(layout$task_id), layout$keys$rRequest)
})

test_that("every key the R worker builds is one of key-layout.json", {
  keys <- new_key_layout(layout$prefix)
  built <- vapply(setdiff(names(keys), "prefix"), function(name) {
    key <- keys[[name]]
    if (is.function(key)) key(layout$task_id) else key
  }, "")
  expect_true(all(built %in% unlist(layout$keys)), label = paste(setdiff(built, unlist(layout$keys)), collapse = ", "))
})

test_that("the R prefix rule is the TypeScript KEY_PREFIX_PATTERN", {
  source_lines <- shared_source("keys.ts")
  declared <- grep("KEY_PREFIX_PATTERN = /", source_lines, value = TRUE)
  expect_length(declared, 1)
  ts_pattern <- sub("^.*KEY_PREFIX_PATTERN = /(.*)/;.*$", "\\1", declared)
  expect_identical(key_prefix_pattern, ts_pattern)
})

test_that("a prefix with the separator or too long is refused with what it must be", {
  expect_error(new_key_layout("a:b"), "key prefix must be 1-64 characters of letters, digits, '_', '.' or '-'")
  expect_error(new_key_layout(strrep("a", 65)), "1-64 characters")
  expect_error(new_key_layout(""), "1-64 characters")
})
