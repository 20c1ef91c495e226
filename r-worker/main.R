# Entry point of the R worker service: Rscript r-worker/main.R (from any directory).
# Reads and validates the configuration (a bad variable: message on stderr, exit status 2), connects
# to Redis, serves plumber.R (with the supervisor's upkeep on the same event loop), and on SIGTERM or
# SIGINT stops accepting tasks, gives running tasks SHUTDOWN_GRACE_MS to finish, then kills the rest
# and marks them FAILURE.

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
  config <- tryCatch(read_config(), config_error = function(e) {
    cat(conditionMessage(e), "\n", sep = "", file = stderr())
    quit(save = "no", status = 2)
  })
  logger <- new_logger(config$log_level)
  sigterm_handled <- install_sigterm_handler(file.path(worker_dir, "src", "sigterm.c"), logger)

  # No waiting for Redis here: a request answers 503 at once, and the upkeep loop tries again on its
  # next round. The children, which have no one waiting on them, wait up to REDIS_RETRY_SECONDS.
  redis <- redis_connect(config$redis_url, connect_now = FALSE, retry_seconds = 0)
  ping <- tryCatch(redis$command(list("PING")), error = function(e) e)
  if (inherits(ping, "error")) {
    logger$warn("Redis is not reachable yet; /health answers 503 until it is", error = conditionMessage(ping))
  }

  service <- new_service(config, redis, logger)
  api <- new.env(parent = worker)
  api$service <- service
  api$logger <- logger
  # A wrong method gets our 404 route_not_found rather than plumber's own 405 body shape.
  options(plumber.methodNotAllowed = FALSE)
  router <- plumber::pr(file.path(worker_dir, "plumber.R"), envir = api)
  service$start_watching()

  logger$info(
    "listening", host = config$host, port = config$port, redis = redis$where, redis_client = redis$driver,
    max_concurrent_tasks = config$max_concurrent_tasks, heartbeat_ttl_seconds = config$heartbeat_ttl_seconds,
    redis_retry_seconds = config$redis_retry_seconds,
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
  if (ended_by == "signal") logger$info("stop signal received: no longer accepting tasks")
  service$shutdown()
  redis$close()
  quit(save = "no", status = if (ended_by == "error") 1 else 0)
}
environment(main) <- worker

main()
