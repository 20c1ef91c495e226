# The service in-process (no HTTP, no port), with a real Redis, the real Lua scripts and real forked
# children; shared by test-service.R, test-supervisor.R and test-task_runner.R.



test_config <- function(redis_url, ...) {
  config <- list(
    redis_url = redis_url, key_prefix = new_test_prefix(), result_ttl_seconds = 600, log_level = "error",
    host = "127.0.0.1", port = 0, queues = "default", max_concurrent_tasks = 2, lease_ms = 30000,
    max_deliveries = 20, max_queue_length = 0, long_task_step_ms = 10, shutdown_grace_ms = 1000,
    redis_retry_seconds = 5, service_token = "", cache_dir = ""
  )
  modifyList(config, list(...))
}

# Closed when the calling test ends, its children killed and collected first. `subscribe`: with a
# subscriber on the wake and cancel channels, as main.R makes.
new_test_service <- function(config, ..., logger = silent_logger, subscribe = TRUE, envir = parent.frame()) {
  redis <- redis_connect(config$redis_url, use_redux = FALSE, connect_now = FALSE)
  keys <- new_key_layout(config$key_prefix)
  subscriber <- if (subscribe) new_subscriber(parse_redis_url(config$redis_url), c(keys$wake_channel("r"), keys$cancel_channel("r")), logger) else NULL
  service <- new_service(config, c(list(redis = redis, scripts = test_scripts, keys = keys, logger = logger, subscriber = subscriber), list(...)))
  withr::defer({
    kill_children(service$pool)
    wait_for(function() {
      reap_children(service$pool)
      running_count(service$pool) == 0
    }, what = "the test's children to end")
    if (!is.null(subscriber)) subscriber$close()
    redis$close()
  }, envir = envir)
  list(service = service, redis = redis, keys = keys, config = config, queues = service$supervisor$queues)
}

submit <- function(service, task_id, task, args, options = NULL, queue = NULL) {
  submission <- list(task_id = task_id, task = task, args = args)
  if (!is.null(queue)) submission$queue <- queue
  if (!is.null(options)) submission$options <- options
  body <- jsonlite::toJSON(submission, auto_unbox = TRUE)
  service$submit_task(charToRaw(as.character(body)))
}

read_task_record <- function(setup, task_id, queue = "default") {
  setup$queues$read_record(queue, task_id)
}

# Runs the service's upkeep (what its event loop does) while waiting.
wait_for_state <- function(setup, task_id, states, timeout = 10, queue = "default") {
  wait_for(function() {
    setup$service$upkeep()
    record <- read_task_record(setup, task_id, queue)
    if (!is.null(record) && record$state %in% states) record else NULL
  }, timeout = timeout, interval = 0.01, what = sprintf("task %s to reach %s", task_id, paste(states, collapse = "/")))
}

wait_until_idle <- function(setup, timeout = 10) {
  wait_for(function() {
    setup$service$upkeep()
    setup$service$running() == 0
  }, timeout = timeout, interval = 0.01, what = "the service to run nothing")
}

child_pid_of <- function(setup, task_id) {
  wait_for(function() {
    setup$service$upkeep()
    setup$service$supervisor$entry(task_id)$pid
  }, what = sprintf("a child for task %s", task_id))
}

dead_letters <- function(setup, queue = "default") {
  vapply(setup$redis$command(list("ZRANGE", setup$keys$queue("r", queue)$dead, 0, -1)), rawToChar, "")
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
