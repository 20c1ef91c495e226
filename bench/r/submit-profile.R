# Where the R service's time goes on POST /tasks, without HTTP: the worker's own code (r-worker/R)
# accepts N submissions the way plumber.R hands them over (service$submit_task on the raw body),
# against a real Redis, and the time of each step (validate, plan, enqueue, the rest) is printed
# with Rprof's busiest functions. bench/r-service.ts runs it after its HTTP figures.
#
#   Rscript bench/r/submit-profile.R REDIS_URL [N]

args <- commandArgs(trailingOnly = TRUE)
redis_url <- args[1]
n <- if (length(args) > 1) as.integer(args[2]) else 500L
here <- dirname(normalizePath(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)[[1]])))
worker_dir <- normalizePath(file.path(here, "..", "..", "r-worker"))

worker <- new.env()
for (file in sort(list.files(file.path(worker_dir, "R"), pattern = "[.]R$", full.names = TRUE))) {
  sys.source(file, envir = worker)
}

profile <- function() {
  env <- read_config_env()
  env[["REDIS_URL"]] <- redis_url
  env[["KEY_PREFIX"]] <- sprintf("bench-rprof-%d", Sys.getpid())
  env[["LOG_LEVEL"]] <- "warn"
  env[["HOST"]] <- "127.0.0.1"
  use_contracts(load_contracts(shared_dir_for(worker_dir, "")))
  config <- read_config(env)
  scripts <- new_lua_scripts()
  logger <- new_logger("warn")
  redis <- redis_connect(config$redis_url, connect_now = TRUE, retry_seconds = 0)
  scripts$load(redis)
  keys <- new_key_layout(config$key_prefix)
  service <- new_service(config, list(redis = redis, scripts = scripts, keys = keys, logger = logger, subscriber = NULL))
  queues <- service$supervisor$queues
  body <- function() {
    charToRaw(sprintf('{"task_id":"%s","task":"long_task","args":[1]}', uuid_like()))
  }
  uuid_like <- function() {
    hex <- sample(c(0:9, letters[1:6]), 32, replace = TRUE)
    paste0(c(hex[1:8], "-", hex[9:12], "-4", hex[14:16], "-a", hex[18:20], "-", hex[21:32]), collapse = "")
  }
  step_ms <- c(validate = 0, plan = 0, enqueue = 0, whole = 0)
  timed <- function(name, expr) {
    started <- proc.time()[["elapsed"]]
    value <- force(expr)
    step_ms[[name]] <<- step_ms[[name]] + (proc.time()[["elapsed"]] - started) * 1000
    value
  }
  for (i in seq_len(20)) service$submit_task(body())
  # Steps and whole submissions alternate, so that both see the same moments of this shared machine.
  steps <- lapply(seq_len(n), function(i) body())
  wholes <- lapply(seq_len(n), function(i) body())
  prof_file <- tempfile(fileext = ".out")
  Rprof(prof_file, interval = 0.001)
  for (i in seq_len(n)) {
    validated <- timed("validate", validate_submission(steps[[i]]))
    plan <- timed("plan", plan_submission(validated$submission))
    timed("enqueue", queues$enqueue(plan$record, plan$payload, max_length = 0))
    timed("whole", service$submit_task(wholes[[i]]))
  }
  Rprof(NULL)
  cat(sprintf("\nR service submit path, %d submissions in-process (no HTTP), ms per submission:\n", n))
  per <- step_ms / n
  cat(sprintf("| validate_submission | plan_submission | queues$enqueue | service$submit_task (all of it) |\n"))
  cat(sprintf("| %.2f | %.2f | %.2f | %.2f |\n", per[["validate"]], per[["plan"]], per[["enqueue"]], per[["whole"]]))
  summary <- summaryRprof(prof_file)$by.total
  cat("\nRprof of the loop above (steps and whole submissions), by total time (top 25):\n")
  print(utils::head(summary[, c("total.pct", "self.pct")], 25))
}
environment(profile) <- worker
profile()
