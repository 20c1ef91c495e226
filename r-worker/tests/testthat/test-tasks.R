test_that("the R task list is exactly tasks.json's r list (no drift from R_TASKS)", {
  expect_identical(names(r_tasks), unlist(contract("tasks.json")$names$r))
})

test_that("long_task with a 0 ms step reports progress after each of its steps and returns total", {
  calls <- list()
  result <- long_task(3, 0, function(current, total, status) calls[[length(calls) + 1L]] <<- list(current, total, status))
  expect_identical(result, 3)
  expect_identical(calls, list(list(1L, 3, "Step 1 of 3"), list(2L, 3, "Step 2 of 3"), list(3L, 3, "Step 3 of 3")))
})

test_that("long_task runs through the catalogue with the step length from its context", {
  steps <- 0
  result <- r_tasks$long_task$run(list(2), list(step_ms = 0, progress = function(current, total, status) steps <<- steps + 1))
  expect_identical(result, 2)
  expect_identical(steps, 2)
  expect_identical(steps_of("long_task", list(7)), 7)
  expect_identical(steps_of("lm_fit", list()), 1L)
})

test_that("lm_fit gives the least-squares coefficients, R squared, adjusted R squared and n", {
  # Worked by hand: Sxx = 10, Sxy = 19.9, Syy = 39.708 -> slope 1.99, intercept 6.02 - 3 * 1.99 = 0.05.
  result <- lm_fit(c(2.1, 3.9, 6.2, 7.8, 10.1), list(x = c(1, 2, 3, 4, 5)))
  expect_identical(names(result), c("coefficients", "r_squared", "adj_r_squared", "n"))
  expect_identical(names(result$coefficients), c("(Intercept)", "x"))
  expect_equal(result$coefficients$`(Intercept)`, 0.05, tolerance = 1e-9)
  expect_equal(result$coefficients$x, 1.99, tolerance = 1e-9)
  r_squared <- 19.9^2 / (10 * 39.708)
  expect_equal(result$r_squared, r_squared, tolerance = 1e-9)
  expect_equal(result$adj_r_squared, 1 - (1 - r_squared) * 4 / 3, tolerance = 1e-9)
  expect_identical(result$n, 5L)
})

test_that("lm_fit runs on a data set {y, predictors} as on the two arguments", {
  claimed <- msgpack_decode(msgpack_encode(list(list(y = I(c(2.1, 3.9, 6.2, 7.8, 10.1)), predictors = list(x = I(c(1, 2, 3, 4, 5)))))))
  checked <- check_task_args("lm_fit", claimed)
  expect_null(checked$error)
  result <- r_tasks$lm_fit$run(checked$args, list())
  expect_identical(result, lm_fit(c(2.1, 3.9, 6.2, 7.8, 10.1), list(x = c(1, 2, 3, 4, 5))))
  expect_equal(result$coefficients$x, 1.99, tolerance = 1e-9)
})

test_that("lm_fit accepts any valid column name, even y or a reserved word", {
  result <- lm_fit(c(1, 3, 5, 7.5), list(y = c(1, 2, 3, 4), `if` = c(0, 1, 0, 1)))
  expect_identical(names(result$coefficients), c("(Intercept)", "y", "if"))
  expect_true(all(vapply(result$coefficients, is.finite, logical(1))))
})

test_that("lm_fit reports an aliased column's coefficient as NA, which encodes as nil", {
  result <- lm_fit(c(1, 2, 3.5), list(x = c(1, 2, 3), twice = c(2, 4, 6)))
  expect_true(is.na(result$coefficients$twice))
  expect_match(raw_to_hex(msgpack_encode(result$coefficients)), "a57477696365c0$")
})

test_that("lm_fit fails with a clear message when a column's length differs from y's", {
  expect_error(
    lm_fit(c(1, 2, 3), list(x = c(1, 2, 3), w = c(1, 2, 3, 4))),
    "every predictor column must hold as many values as y (3); w holds 4",
    fixed = TRUE
  )
})

test_that("summary_stats gives n, mean, sd, min, max and R's quantiles", {
  result <- summary_stats(c(1, 2, 3, 4, 100))
  expect_identical(result$n, 5L)
  expect_identical(result$mean, 22)
  expect_equal(result$sd, sqrt(7610 / 4), tolerance = 1e-12)
  expect_identical(result$min, 1)
  expect_identical(result$max, 100)
  expect_identical(result$quantiles, list(`25%` = 2, `50%` = 3, `75%` = 4))
})

test_that("summary_stats takes probabilities, names them like quantile() and lists a repeat once", {
  result <- summary_stats(c(1, 2, 3, 4, 100), c(0.1, 0.5, 0.5, 0.125))
  expect_identical(names(result$quantiles), c("10%", "50%", "12.5%"))
  expect_equal(result$quantiles$`10%`, 1.4, tolerance = 1e-12)
})

test_that("summary_stats of one value has no sd (nil in the record)", {
  result <- summary_stats(5)
  expect_true(is.na(result$sd))
  expect_identical(result$n, 1L)
})

test_that("every R task's delivery defaults come from tasks.json (defaults.r)", {
  defaults <- contract("tasks.json")$defaults$r
  expect_setequal(names(defaults), names(r_tasks))
  for (name in names(r_tasks)) expect_identical(task_defaults(name), defaults[[name]])
  expect_identical(task_defaults("long_task")$max_attempts, 3L)
  expect_error(task_defaults("factorial"), "no defaults")
})
