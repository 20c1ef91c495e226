# The R tasks: exactly the names of shared/src/tasks.ts R_TASKS (tests/testthat/test-tasks.R checks
# them against shared/contracts/tasks.json). Each entry says how to run the task on validated
# arguments (see validate.R); its delivery defaults (retries and backoff unless a submission's
# `options` override them, see options.R) come from tasks.json. Results are lists that msgpack.R maps
# to JSON-like values (named list -> object, NA -> null).
#
# A task may be stopped by its soft time limit: the worker sends the child SIGINT, which R raises as
# an `interrupt` condition wherever the task is (Sys.sleep, R code; not inside long C/Fortran calls
# such as lm's QR step, which the hard limit ends instead). A task that holds resources releases them
# with on.exit() or tryCatch(interrupt = ); the child then records FAILURE "soft time limit exceeded".

r_tasks <- list(
  long_task = list(
    run = function(args, context) long_task(args[[1]], context$step_ms, context$progress)
  ),
  lm_fit = list(
    run = function(args, context) lm_fit(args[[1]], args[[2]])
  ),
  summary_stats = list(
    run = function(args, context) {
      if (length(args) >= 2) summary_stats(args[[1]], args[[2]]) else summary_stats(args[[1]])
    }
  )
)

# The delivery defaults of an R task (tasks.json `defaults.r`): max_attempts and backoff.
task_defaults <- function(task) {
  defaults <- contracts()$tasks$defaults$r[[task]]
  if (is.null(defaults)) stop(sprintf("tasks.json has no defaults for the R task %s", task), call. = FALSE)
  defaults
}

# Counts to `total`, one step every `step_ms`, calling progress(current, total, status) after each step.
long_task <- function(total, step_ms, progress = function(current, total, status) NULL) {
  for (current in seq_len(total)) {
    if (step_ms > 0) Sys.sleep(step_ms / 1000)
    progress(current, total, sprintf("Step %s of %s", format_whole(current), format_whole(total)))
  }
  total
}

# lm(y ~ ., data) over the predictor columns. The columns are fitted under internal names so any valid
# predictor name (even `y`, `if` or `TRUE`) works, and the coefficients carry the caller's names.
lm_fit <- function(y, predictors) {
  y <- as.numeric(y)
  lengths_found <- vapply(predictors, length, integer(1))
  wrong <- names(predictors)[lengths_found != length(y)]
  if (length(wrong) > 0) {
    stop(sprintf(
      "every predictor column must hold as many values as y (%d); %s holds %d",
      length(y), wrong[[1]], lengths_found[[wrong[[1]]]]
    ), call. = FALSE)
  }
  internal <- sprintf("x%d", seq_along(predictors))
  data <- as.data.frame(setNames(lapply(predictors, as.numeric), internal))
  data$.y <- y
  fit <- stats::lm(.y ~ ., data = data)
  fit_summary <- suppressWarnings(summary(fit))
  estimates <- stats::coef(fit)
  coefficients <- as.list(unname(estimates))
  names(coefficients) <- c("(Intercept)", names(predictors))[match(names(estimates), c("(Intercept)", internal))]
  list(
    coefficients = coefficients,
    r_squared = fit_summary$r.squared,
    adj_r_squared = fit_summary$adj.r.squared,
    n = length(y)
  )
}

# Quantile names are R's ("25%", "12.5%"); repeated probabilities are reported once.
summary_stats <- function(values, probs = c(0.25, 0.5, 0.75)) {
  values <- as.numeric(values)
  probs <- unique(as.numeric(probs))
  quantiles <- stats::quantile(values, probs = probs, names = TRUE)
  list(
    n = length(values),
    mean = mean(values),
    sd = if (length(values) > 1) stats::sd(values) else NA_real_,
    min = min(values),
    max = max(values),
    quantiles = as.list(quantiles)
  )
}
