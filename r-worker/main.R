# Entry point of the R worker service: Rscript r-worker/main.R (from any directory).
# Loads the shared contracts and Lua scripts (shared/, beside r-worker/ or at SWITCHYARD_SHARED_DIR),
# reads and validates the configuration (a bad variable: message on stderr, exit status 2), connects
# to Redis, serves plumber.R with the supervisor's upkeep on the same event loop, and on SIGTERM or
# SIGINT stops claiming, gives running tasks SHUTDOWN_GRACE_MS to finish, then hands the rest back.

worker_dir <- local({
  file_arg <- grep("^--file=", commandArgs(trailingOnly = FALSE), value = TRUE)
  if (length(file_arg) == 0) stop("start the worker with: Rscript r-worker/main.R", call. = FALSE)
  dirname(normalizePath(sub("^--file=", "", file_arg[[1]])))
})

worker <- new.env()
for (file in sort(list.files(file.path(worker_dir, "R"), pattern = "[.]R$", full.names = TRUE))) {
  sys.source(file, envir = worker)
}

main <- function() {
  refuse <- function(message) {
    cat("r-worker: ", message, "\n", sep = "", file = stderr())
    quit(save = "no", status = 2)
  }
  env <- read_config_env()
  shared <- tryCatch(load_contracts(shared_dir_for(worker_dir, env[["SWITCHYARD_SHARED_DIR"]])), error = function(e) refuse(conditionMessage(e)))
  use_contracts(shared)
  config <- tryCatch(read_config(env), config_error = function(e) refuse(conditionMessage(e)))
  scripts <- tryCatch(new_lua_scripts(), error = function(e) refuse(conditionMessage(e)))
  logger <- new_logger(config$log_level)
  sigterm_handled <- install_sigterm_handler(file.path(worker_dir, "src", "sigterm.c"), logger, sigterm_cache_dir(config$cache_dir))

  # No waiting for Redis here: a request answers 503 at once, and the upkeep loop tries again on its
  # next round. The children, which have no one waiting on them, wait up to REDIS_RETRY_SECONDS.
  redis <- redis_connect(config$redis_url, connect_now = FALSE, retry_seconds = 0)
  drifted <- tryCatch(scripts$load(redis), error = function(e) e)
  if (inherits(drifted, "error")) {
    logger$warn("Redis is not reachable yet; /health answers 503 until it is (scripts are loaded on first use)", error = conditionMessage(drifted))
  } else if (length(drifted) > 0) {
    logger$error("Lua scripts differ from shared/contracts/lua-digests.json: shared/lua and the contracts are out of step", scripts = I(drifted))
  }
  target <- redis_subscriber_target(config$redis_url)
  keys <- new_key_layout(config$key_prefix)
  subscriber <- new_subscriber(target, c(keys$wake_channel("r"), keys$cancel_channel("r")), logger)
  if (is.null(subscriber)) {
    logger$warn("no pub/sub with this Redis client (rediss://): cancels are seen at lease renewal and new work within 2 s")
  }

  service <- new_service(config, list(redis = redis, scripts = scripts, keys = keys, logger = logger, subscriber = subscriber))
  api <- new.env(parent = worker)
  api$service <- service
  api$logger <- logger
  api$service_token <- config$service_token
  api$metrics_public <- config$metrics_public
  # A wrong method gets our 404 route_not_found rather than plumber's own 405 body shape.
  options(plumber.methodNotAllowed = FALSE)
  router <- plumber::pr(file.path(worker_dir, "plumber.R"), envir = api)
  service$start_watching()

  logger$info(
    "listening", host = config$host, port = config$port, redis = redis$where, redis_client = redis$driver,
    worker_id = service$supervisor$identity$id, queues = I(config$queues),
    max_concurrent_tasks = config$max_concurrent_tasks, lease_ms = config$lease_ms,
    redis_retry_seconds = config$redis_retry_seconds, token_required = nzchar(config$service_token),
    sigterm_handled = sigterm_handled
  )
  ended_by <- tryCatch(
    {
      router$run(host = config$host, port = config$port, docs = FALSE, quiet = TRUE)
      "server"
    },
    interrupt = function(e) "signal",
    error = function(e) {
      logger$error("HTTP server failed", error = conditionMessage(e))
      "error"
    }
  )
  if (ended_by == "signal") logger$info("stop signal received: no longer taking tasks")
  service$shutdown()
  redis$close()
  quit(save = "no", status = if (ended_by == "error") 1 else 0)
}
environment(main) <- worker

main()
