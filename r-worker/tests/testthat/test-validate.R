body <- function(...) charToRaw(as.character(jsonlite::toJSON(list(...), auto_unbox = TRUE, null = "null")))
task_id <- "0b6f1c7e-3d2a-4e5f-8a9b-1c2d3e4f5a6b"
fields_of <- function(result) {
  vapply(result$error$body$error$fields, function(f) paste(f$field, f$message), "")
}

test_that("the R limits are TASK_LIMITS from rules.json", {
  expect_identical(task_limit("maxTotal"), contract("rules.json")$task_limits$maxTotal)
  expect_identical(task_limit("maxVectorLength"), 100000L)
  expect_identical(task_limit("maxPredictors"), 20L)
})

test_that("every task has argument rules, and only tasks do", {
  expect_setequal(names(r_task_arg_rules), names(r_tasks))
})

test_that("a valid long_task submission is accepted with its args normalised, in the default queue", {
  result <- validate_submission(body(task_id = task_id, task = "long_task", args = list(3)))
  expect_null(result$error)
  expect_identical(
    result$submission,
    list(task_id = task_id, task = "long_task", args = list(3), queue = "default", options = list(), traceparent = NULL)
  )
})

test_that("a traceparent is kept when it is one, and refused naming the field when it is not", {
  traceparent <- "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
  kept <- validate_submission(body(task_id = task_id, task = "long_task", args = list(3), traceparent = traceparent))
  expect_identical(kept$submission$traceparent, traceparent)
  refused <- validate_submission(body(task_id = task_id, task = "long_task", args = list(3), traceparent = "nope"))
  expect_identical(fields_of(refused), "traceparent must be a W3C traceparent (version-trace id-parent id-flags, lowercase hex)")
})

test_that("a submission names its queue by the rule of rules.json, else it is refused with 422 naming queue", {
  result <- validate_submission(body(task_id = task_id, task = "long_task", args = list(3), queue = "models.v2-x_1"))
  expect_identical(result$submission$queue, "models.v2-x_1")
  rule <- contract("rules.json")$queue_name_rule
  for (bad in list("a:b", "", strrep("q", 65), "{x}", 5, list("a"))) {
    result <- validate_submission(body(task_id = task_id, task = "long_task", args = list(3), queue = bad))
    expect_identical(fields_of(result), paste("queue", rule))
  }
})

test_that("validate_submission_body checks a submission already parsed", {
  parsed <- list(task_id = task_id, task = "long_task", args = list(2L), options = list(max_attempts = 11L))
  expect_identical(fields_of(validate_submission_body(parsed)), "options.max_attempts must be a whole number between 1 and 10")
  parsed$options <- NULL
  expect_identical(validate_submission_body(parsed)$submission$args, list(2))
})

test_that("a claimed task's args are checked again: the first problem, as Node's worker words it", {
  expect_identical(check_task_args("long_task", list(3L)), list(args = list(3)))
  expect_identical(check_task_args("long_task", list(0L))$error, "invalid args at args.0: must be a whole number between 1 and 10000")
  expect_identical(check_task_args("summary_stats", list())$error, "invalid args at args.0: is required")
  expect_identical(check_task_args("nope", list())$error, 'unknown task "nope"')
  decoded <- msgpack_decode(msgpack_encode(list(I(c(1, 2, 3)), list(x = I(c(1, 2, 4))))))
  expect_null(check_task_args("lm_fit", decoded)$error)
})

test_that("options are checked with the task and come back as given", {
  result <- validate_submission(body(
    task_id = task_id, task = "long_task", args = list(3),
    options = list(max_attempts = 2, backoff = list(type = "fixed", delay_ms = 10))
  ))
  expect_null(result$error)
  expect_identical(result$submission$options, list(max_attempts = 2, backoff = list(type = "fixed", delay_ms = 10, jitter = TRUE)))
  bad <- validate_submission(body(task_id = task_id, task = "long_task", args = list(0), options = list(max_attempts = 0, nope = TRUE)))
  expect_identical(bad$error$status, 422L)
  expect_identical(fields_of(bad), c(
    "args.0 must be a whole number between 1 and 10000",
    "options.max_attempts must be a whole number between 1 and 10",
    "options.nope is not an allowed field"
  ))
  expect_identical(fields_of(validate_submission(body(task_id = task_id, task = "long_task", args = list(1), options = NULL))), "options must be an object")
})

test_that("the task id must be a UUID, else 422 naming task_id", {
  for (bad in list("abc", "", "0b6f1c7e-3d2a-4e5f-8a9b-1c2d3e4f5a6", paste0(task_id, "x"))) {
    result <- validate_submission(body(task_id = bad, task = "long_task", args = list(1)))
    expect_identical(fields_of(result), "task_id must be a task id as returned by execute (a UUID)")
  }
})

test_that("lm_fit and summary_stats arrays become I() vectors, so one-item arrays stay arrays", {
  result <- validate_submission(body(
    task_id = task_id, task = "lm_fit",
    args = list(c(1, 2, 3.5), list(x = c(1, 2, 3), z.1 = c(0, 1, 0)))
  ))
  expect_null(result$error)
  expect_identical(result$submission$args, list(I(c(1, 2, 3.5)), list(x = I(c(1, 2, 3)), z.1 = I(c(0, 1, 0)))))
  one <- validate_submission(charToRaw(sprintf('{"task_id":"%s","task":"summary_stats","args":[[7],[0.5]]}', task_id)))
  expect_identical(one$submission$args, list(I(7), I(0.5)))
  expect_identical(raw_to_hex(msgpack_encode(one$submission$args)), "92910791cb3fe0000000000000")
})

test_that("malformed JSON is 400 invalid_json", {
  for (text in c('{"task_id":', "", "   ", "[1,]", "{'a': 1}")) {
    result <- validate_submission(charToRaw(text))
    expect_identical(result$error$status, 400L)
    expect_identical(result$error$body$error$code, "invalid_json")
  }
})

test_that("a body that is not an object is 422 on (body)", {
  result <- validate_submission(charToRaw("[1, 2]"))
  expect_identical(result$error$status, 422L)
  expect_identical(fields_of(result), "(body) must be a JSON object with task_id, task and args")
})

test_that("missing fields are required, and unknown fields are not allowed", {
  result <- validate_submission(body(extra = 1))
  expect_identical(result$error$status, 422L)
  expect_identical(result$error$body$error$code, "validation_failed")
  expect_identical(fields_of(result), c("task_id is required", "task is required", "args is required", "extra is not an allowed field"))
  expect_identical(
    result$error$body$error$message,
    "Invalid request: task_id is required; task is required; args is required; extra is not an allowed field"
  )
})

test_that("an unknown task is 422 naming the field task and the tasks there are", {
  result <- validate_submission(body(task_id = task_id, task = "add", args = list(1, 2)))
  expect_identical(fields_of(result), "task must be one of: long_task, lm_fit, summary_stats")
})

test_that("a task_id that is not a UUID is refused", {
  for (bad in list("42", "0b6f1c7e-3d2a-4e5f-8a9b-1c2d3e4f5a6", 17)) {
    result <- validate_submission(body(task_id = bad, task = "long_task", args = list(1)))
    expect_identical(fields_of(result), "task_id must be a task id as returned by execute (a UUID)")
  }
})

test_that("long_task's total must be a whole number between 1 and 10000", {
  for (bad in list(0, 10001, 2.5, "3", TRUE, NULL)) {
    result <- validate_submission(body(task_id = task_id, task = "long_task", args = list(bad)))
    expect_identical(fields_of(result), "args.0 must be a whole number between 1 and 10000")
  }
  result <- validate_submission(body(task_id = task_id, task = "long_task", args = list()))
  expect_identical(fields_of(result), "args.0 is required")
  result <- validate_submission(body(task_id = task_id, task = "long_task", args = list(1, 2)))
  expect_identical(fields_of(result), "args must have at most 1 item")
  result <- validate_submission(body(task_id = task_id, task = "long_task", args = 3))
  expect_identical(fields_of(result), "args must be an array")
})

test_that("lm_fit reports each bad column and number by its path", {
  result <- validate_submission(charToRaw(sprintf(
    '{"task_id":"%s","task":"lm_fit","args":[[1,2],{"x":[1,"2",3],"1x":[1,2,3],"w":5}]}', task_id
  )))
  expect_identical(fields_of(result), c(
    "args.0 must hold at least 3 numbers",
    "args.1.x.1 must be a number",
    "args.1.1x must be a name of letters, digits, _ or .",
    "args.1.w must be an array of numbers"
  ))
})

test_that("lm_fit takes one data set {y, predictors}, normalised like the two-argument form", {
  two <- validate_submission(body(
    task_id = task_id, task = "lm_fit",
    args = list(c(1, 2, 3.5), list(x = c(1, 2, 3), z.1 = c(0, 1, 0)))
  ))
  one <- validate_submission(body(
    task_id = task_id, task = "lm_fit",
    args = list(list(y = c(1, 2, 3.5), predictors = list(x = c(1, 2, 3), z.1 = c(0, 1, 0))))
  ))
  expect_null(one$error)
  expect_identical(one$submission$args, two$submission$args)
  expect_identical(one$submission$args, list(I(c(1, 2, 3.5)), list(x = I(c(1, 2, 3)), z.1 = I(c(0, 1, 0)))))
  # The keys may come in either order; a claimed step's data set (what make_dataset hands on) is checked alike.
  swapped <- validate_submission(charToRaw(sprintf(
    '{"task_id":"%s","task":"lm_fit","args":[{"predictors":{"x":[1,2,3]},"y":[2,4,7]}]}', task_id
  )))
  expect_identical(swapped$submission$args, list(I(c(2, 4, 7)), list(x = I(c(1, 2, 3)))))
  decoded <- msgpack_decode(msgpack_encode(list(list(y = I(c(2, 4, 7)), predictors = list(x = I(c(1, 2, 3)))))))
  expect_identical(check_task_args("lm_fit", decoded), list(args = list(I(c(2, 4, 7)), list(x = I(c(1, 2, 3))))))
})

test_that("a bad data set for lm_fit names args.0.y and args.0.predictors", {
  result <- validate_submission(charToRaw(sprintf(
    '{"task_id":"%s","task":"lm_fit","args":[{"y":[1,"2"],"predictors":{"x":[1,2,3],"1x":[1,2,3],"w":[1,null,3]}}]}',
    task_id
  )))
  expect_identical(fields_of(result), c(
    "args.0.y must hold at least 3 numbers",
    "args.0.y.1 must be a number",
    "args.0.predictors.1x must be a name of letters, digits, _ or .",
    "args.0.predictors.w.1 must be a number"
  ))
  result <- validate_submission(charToRaw(sprintf('{"task_id":"%s","task":"lm_fit","args":[{"y":5,"predictors":[1,2]}]}', task_id)))
  expect_identical(fields_of(result)[[1]], "args.0.y must be an array of numbers")
  expect_match(fields_of(result)[[2]], "^args.0.predictors must be an object of named numeric columns")
  result <- validate_submission(charToRaw(sprintf('{"task_id":"%s","task":"lm_fit","args":[{"y":[1,2,3],"predictors":{}}]}', task_id)))
  expect_identical(fields_of(result), "args.0.predictors must name at least one predictor column")
  claimed <- msgpack_decode(msgpack_encode(list(list(y = I(c(1, 2, 3)), predictors = list(x = I(c(1, 2)))))))
  expect_identical(check_task_args("lm_fit", claimed)$error, "invalid args at args.0.predictors.x: must hold at least 3 numbers")
})

test_that("lm_fit needs 1 to 20 predictor columns, each named once", {
  result <- validate_submission(charToRaw(sprintf('{"task_id":"%s","task":"lm_fit","args":[[1,2,3],{}]}', task_id)))
  expect_identical(fields_of(result), "args.1 must name at least one predictor column")
  many <- setNames(rep(list(c(1, 2, 3)), 21), sprintf("x%d", 1:21))
  result <- validate_submission(body(task_id = task_id, task = "lm_fit", args = list(c(1, 2, 3), many)))
  expect_identical(fields_of(result), "args.1 must name at most 20 predictor columns")
  result <- validate_submission(charToRaw(sprintf(
    '{"task_id":"%s","task":"lm_fit","args":[[1,2,3],{"x":[1,2,3],"x":[3,2,1]}]}', task_id
  )))
  expect_identical(fields_of(result), "args.1.x must appear only once")
  result <- validate_submission(body(task_id = task_id, task = "lm_fit", args = list(c(1, 2, 3), list(1, 2))))
  expect_match(fields_of(result), "^args.1 must be an object of named numeric columns")
})

test_that("a number array may hold at most 100000 numbers, and at most 10 bad items are listed", {
  result <- validate_submission(body(task_id = task_id, task = "summary_stats", args = list(rep(1, 100001))))
  expect_identical(fields_of(result), "args.0 must hold at most 100000 numbers")
  result <- validate_submission(body(task_id = task_id, task = "summary_stats", args = list(as.list(rep("a", 50)))))
  expect_length(fields_of(result), 10)
})

test_that("summary_stats probabilities must be 1 to 99 numbers between 0 and 1", {
  result <- validate_submission(body(task_id = task_id, task = "summary_stats", args = list(c(1, 2), c(0.5, 1.5, -0.1))))
  expect_identical(fields_of(result), c("args.1.1 must be between 0 and 1", "args.1.2 must be between 0 and 1"))
  result <- validate_submission(body(task_id = task_id, task = "summary_stats", args = list(c(1, 2), list())))
  expect_identical(fields_of(result), "args.1 must hold at least 1 probability")
  result <- validate_submission(body(task_id = task_id, task = "summary_stats", args = list(c(1, 2), seq(0, 1, length.out = 100))))
  expect_identical(fields_of(result), "args.1 must hold at most 99 probabilities")
  result <- validate_submission(charToRaw(sprintf('{"task_id":"%s","task":"summary_stats","args":[[1],null]}', task_id)))
  expect_identical(fields_of(result), "args.1 must be an array of probabilities between 0 and 1")
  result <- validate_submission(body(task_id = task_id, task = "summary_stats", args = list(c(1, 2))))
  expect_null(result$error)
})

test_that("numbers too large for a double are not finite", {
  result <- validate_submission(charToRaw(sprintf('{"task_id":"%s","task":"summary_stats","args":[[1e999]]}', task_id)))
  expect_identical(fields_of(result), "args.0.0 must be a finite number")
})
