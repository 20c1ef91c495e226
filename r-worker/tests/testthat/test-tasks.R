test_that("the R task list is exactly tasks.json's r list (no drift from R_TASKS)", {
  expect_identical(names(r_tasks), unlist(contract("tasks.json")$r))
})

test_that("long_task with a 0 ms step reports progress after each of its steps and returns total", {
  calls <- list()
  result <- long_task(3, 0, function(current, total) calls[[length(calls) + 1L]] <<- c(current, total))
  expect_identical(result, 3)
  expect_identical(calls, list(c(1L, 3), c(2L, 3), c(3L, 3)))
})

test_that("long_task runs through the catalogue with the step length from its context", {
  steps <- 0
  result <- r_tasks$long_task$run(list(2), list(step_ms = 0, progress = function(current, total) steps <<- steps + 1))
  expect_identical(result, 2)
  expect_identical(steps, 2)
  expect_identical(r_tasks$long_task$steps(list(7)), 7)
  expect_identical(r_tasks$lm_fit$steps(list()), 1)
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

# The `defaults` of each R_TASKS entry in shared/src/tasks.ts, read from its text: an object literal
# (in the entry, or in the const the entry names) or a constant (NO_RETRY, declared in options.ts).
ts_task_defaults <- function() {
  source_lines <- all_shared_sources()
  as_json <- function(literal) {
    literal <- gsub("([A-Za-z_]+):", "\"\\1\":", literal)
    literal <- gsub("'", "\"", literal)
    jsonlite::parse_json(gsub("([0-9])_([0-9])", "\\1\\2", literal))
  }
  constant <- function(name) {
    declared <- grep(sprintf("^export const %s: TaskDefaults = (\\{.*\\});$", name), source_lines, value = TRUE)
    expect_length(declared, 1)
    as_json(sub("^[^=]*= (\\{.*\\});$", "\\1", declared))
  }
  block_of <- function(start_pattern) {
    start <- grep(start_pattern, source_lines)
    expect_length(start, 1)
    end <- start + which(grepl("^\\}", source_lines[-seq_len(start)]))[[1]]
    source_lines[start:end]
  }
  defaults_in <- function(lines) {
    line <- grep("^\\s+defaults: ", lines, value = TRUE)
    expect_length(line, 1)
    value <- sub("^\\s+defaults: (.*),$", "\\1", line)
    if (startsWith(value, "{")) as_json(value) else constant(value)
  }
  r_block <- block_of("^export const R_TASKS = \\{")
  entries <- grep("^  [a-z_]+: ", r_block)
  found <- list()
  for (i in seq_along(entries)) {
    name <- sub("^  ([a-z_]+): .*$", "\\1", r_block[[entries[[i]]]])
    value <- sub("^  [a-z_]+: (.*)$", "\\1", r_block[[entries[[i]]]])
    found[[name]] <- if (value == "{") {
      last <- if (i < length(entries)) entries[[i + 1]] - 1 else length(r_block)
      defaults_in(r_block[entries[[i]]:last])
    } else {
      defaults_in(block_of(sprintf("^const %s: TaskDefinition = \\{", sub(",$", "", value))))
    }
  }
  found
}

test_that("every R task's delivery defaults are its defaults in shared/src/tasks.ts (R_TASKS)", {
  ts_defaults <- ts_task_defaults()
  expect_identical(names(ts_defaults), names(r_tasks))
  for (name in names(r_tasks)) {
    expect_equal(r_tasks[[name]]$defaults, ts_defaults[[name]], label = sprintf("defaults of %s", name))
  }
  expect_identical(r_tasks$long_task$defaults$max_attempts, 3)
  expect_identical(r_tasks$lm_fit$defaults, no_retry)
})
