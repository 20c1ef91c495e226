# The service in-process (no HTTP, no port), with a real Redis and real forked children; shared by
# test-service.R and test-supervisor.R.

test_config <- function(redis_url, ...) {
  config <- list(
    redis_url = redis_url, key_prefix = new_test_prefix(), result_ttl_seconds = 600, log_level = "error",
    host = "127.0.0.1", port = 0, max_concurrent_tasks = 2, long_task_step_ms = 10, shutdown_grace_ms = 1000,
    heartbeat_ttl_seconds = 15, redis_retry_seconds = 5
  )
  modifyList(config, list(...))
}

# Closed when the calling test ends, its children killed and collected first.
new_test_service <- function(config, ..., logger = silent_logger, envir = parent.frame()) {
  redis <- redis_connect(config$redis_url, use_redux = FALSE)
  service <- new_service(config, redis, logger, ...)
  withr::defer({
    kill_children(service$pool)
    wait_for(function() {
      reap_children(service$pool)
      running_count(service$pool) == 0
    }, what = "the test's children to end")
    redis$close()
  }, envir = envir)
  list(service = service, redis = redis, keys = new_key_layout(config$key_prefix), config = config)
}

submit <- function(service, task_id, task, args, options = NULL) {
  request <- list(task_id = task_id, task = task, args = args)
  if (!is.null(options)) request$options <- options
  body <- jsonlite::toJSON(request, auto_unbox = TRUE)
  service$submit_task(charToRaw(as.character(body)))
}

# Runs the service's upkeep (what its event loop does) while waiting.
wait_for_state <- function(setup, task_id, states, timeout = 10) {
  wait_for(function() {
    setup$service$upkeep()
    record <- read_record(setup$redis, setup$keys, task_id)
    if (!is.null(record) && record$state %in% states) record else NULL
  }, timeout = timeout, what = sprintf("task %s to reach %s", task_id, paste(states, collapse = "/")))
}

wait_until_released <- function(setup, task_id, timeout = 10) {
  wait_for(function() {
    setup$service$upkeep()
    is.null(setup$service$supervisor$held(task_id))
  }, timeout = timeout, what = sprintf("task %s to be let go", task_id))
}

child_pid_of <- function(setup, task_id) {
  setup$service$supervisor$held(task_id)$pid
}

# The R dead-letter list, newest first.
dead_letters <- function(setup) {
  vapply(setup$redis$command(list("LRANGE", setup$keys$r_dead, 0, -1)), rawToChar, "")
}

heartbeat_exists <- function(setup, task_id) {
  setup$redis$command(list("EXISTS", setup$keys$r_heartbeat(task_id))) == 1
}

# A task catalogue whose long_task runs `body(args, context)` instead (validation is unchanged).
tasks_with <- function(body) {
  tasks <- r_tasks
  tasks$long_task$run <- body
  tasks
}

# A long_task body that fails its first `failures` runs (counted in a file, across forked children),
# then succeeds with its total.
flaky_tasks <- function(failures) {
  runs_file <- tempfile("runs-")
  file.create(runs_file)
  tasks_with(function(args, context) {
    cat("run\n", file = runs_file, append = TRUE)
    runs <- length(readLines(runs_file))
    if (runs <= failures) stop(sprintf("flaky failure %d", runs))
    args[[1]]
  })
}
