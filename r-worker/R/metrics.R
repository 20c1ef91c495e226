# The R service's own metrics, in Prometheus text format, written by hand (no client library for R
# is installed, and the format is a few lines): served at GET /metrics on the plumber port
# (plumber.R). The same names as a Node worker's where they mean the same (switchyard_worker_*, the
# usual process_* of Prometheus clients), so one dashboard shows both kinds. What this process sees
# only: cluster-wide task outcomes and run times are the gateway's (counted in Redis by the scripts).

prometheus_content_type <- "text/plain; version=0.0.4; charset=utf-8"

# How a run ended, as the supervisor counts it: the Node worker's states (node-worker/src/metrics.ts)
# plus `abandoned` (the child gave up waiting for Redis; the task is redelivered).
run_states <- c("success", "failure", "retry", "revoked", "released", "lease_lost", "abandoned")

# Runs ended since the service started, by task and state. An environment, changed in place.
new_run_tally <- function() {
  tally <- new.env(parent = emptyenv())
  tally$counts <- list() # "task|state" -> count
  tally
}

# Counting never fails (it runs in the middle of settling a task): a task name outside the catalogue,
# or a state outside run_states, counts as `unknown`, so label values stay bounded.
count_run <- function(tally, task, state) {
  if (!(is.character(state) && length(state) == 1 && state %in% run_states)) state <- "unknown"
  task <- if (is.character(task) && length(task) == 1 && task %in% r_task_names()) task else "unknown"
  key <- paste(task, state, sep = "|")
  tally$counts[[key]] <- (tally$counts[[key]] %or% 0) + 1
  invisible(tally)
}

r_task_names <- function() {
  names(r_tasks)
}

# The fields of /proc/<pid>/status that are sizes ("VmRSS:   1234 kB"), in bytes; NULL when the
# process is gone or /proc is absent.
proc_status_bytes <- function(pid = "self") {
  lines <- tryCatch(readLines(file.path("/proc", pid, "status"), warn = FALSE), error = function(e) NULL, warning = function(w) NULL)
  if (is.null(lines)) {
    return(NULL)
  }
  sizes <- regmatches(lines, regexec("^(\\w+):\\s+([0-9]+) kB$", lines))
  sizes <- Filter(function(match) length(match) == 3, sizes)
  stats::setNames(vapply(sizes, function(match) as.numeric(match[[3]]) * 1024, numeric(1)), vapply(sizes, `[[`, "", 2))
}

size_field <- function(sizes, name) {
  if (name %in% names(sizes)) sizes[[name]] else NA_real_
}

escape_label_value <- function(value) {
  gsub("\n", "\\n", gsub("\"", "\\\"", gsub("\\", "\\\\", value, fixed = TRUE), fixed = TRUE), fixed = TRUE)
}

format_sample_value <- function(value) {
  if (is.na(value)) "NaN" else if (is.infinite(value)) if (value > 0) "+Inf" else "-Inf" else format(value, scientific = FALSE, digits = 15, trim = TRUE)
}

# One metric family: HELP and TYPE lines, then a sample per row of `samples` (a list of
# list(labels = named character vector or NULL, value = number)).
metric_family <- function(name, type, help, samples) {
  lines <- vapply(samples, function(sample) {
    labels <- sample$labels
    label_text <- if (length(labels) == 0) "" else sprintf("{%s}", paste(sprintf("%s=\"%s\"", names(labels), escape_label_value(labels)), collapse = ","))
    paste0(name, label_text, " ", format_sample_value(sample$value))
  }, character(1))
  c(sprintf("# HELP %s %s", name, help), sprintf("# TYPE %s %s", name, type), lines)
}

sample_of <- function(value, labels = NULL) {
  list(labels = labels, value = value)
}

# The scrape: `supervisor` (running tasks, their children, the tally), `config` and when the service
# started (seconds since the epoch).
render_metrics <- function(supervisor, config, started_at) {
  memory <- proc_status_bytes()
  times <- proc.time()
  children_rss <- sum(vapply(supervisor$running_ids(), function(task_id) {
    entry <- supervisor$entry(task_id)
    rss <- if (is.null(entry)) NA_real_ else size_field(proc_status_bytes(entry$pid), "VmRSS")
    if (is.na(rss)) 0 else rss
  }, numeric(1)))
  counts <- supervisor$tally$counts
  run_samples <- lapply(sort(names(counts)), function(key) {
    parts <- strsplit(key, "|", fixed = TRUE)[[1]]
    sample_of(counts[[key]], c(task = parts[[1]], state = parts[[2]]))
  })
  open_fds <- length(list.files("/proc/self/fd"))
  text <- c(
    metric_family("process_cpu_seconds_total", "counter", "User and system CPU time of the R service's own process, in seconds (its children not included).", list(sample_of(unname(times[["user.self"]] + times[["sys.self"]])))),
    metric_family("process_resident_memory_bytes", "gauge", "Resident memory of the R service's process (VmRSS of /proc/self/status).", list(sample_of(size_field(memory, "VmRSS")))),
    metric_family("process_virtual_memory_bytes", "gauge", "Virtual memory of the R service's process (VmSize of /proc/self/status).", list(sample_of(size_field(memory, "VmSize")))),
    metric_family("process_open_fds", "gauge", "Open file descriptors of the R service's process.", list(sample_of(open_fds))),
    metric_family("process_start_time_seconds", "gauge", "When the R service started, in seconds since the epoch.", list(sample_of(started_at))),
    metric_family("switchyard_worker_info", "gauge", "Always 1; the labels say which worker this is (its id in GET /workers), its kind and the queues it takes from, in order.", list(sample_of(1, c(kind = "r", worker_id = supervisor$identity$id, queues = paste(config$queues, collapse = ","))))),
    metric_family("switchyard_worker_concurrency", "gauge", "Most tasks this R service runs at once, each in a child process (MAX_CONCURRENT_TASKS).", list(sample_of(config$max_concurrent_tasks))),
    metric_family("switchyard_worker_running_tasks", "gauge", "Tasks this R service is running now.", list(sample_of(supervisor$running_count()))),
    metric_family("switchyard_r_worker_children", "gauge", "Forked child processes of the R service still alive (one per running task; a killed one until it is reaped).", list(sample_of(running_count(supervisor$pool)))),
    metric_family("switchyard_r_worker_children_resident_memory_bytes", "gauge", "Resident memory of the children running tasks now, summed (VmRSS of each /proc/<pid>/status).", list(sample_of(children_rss))),
    metric_family("switchyard_worker_tasks_total", "counter", "Task runs this R service ended since it started, by task and how the run ended (success, failure, retry, revoked, released: handed back at shutdown, lease_lost: another worker owns it now, abandoned: its child gave up waiting for Redis).", run_samples)
  )
  paste0(paste(text, collapse = "\n"), "\n")
}

# How a settled run ended, for the tally: why the supervisor stopped it (supervisor.R stop_child),
# else what its child reported (task_runner.R).
run_state_of <- function(stop_reason, outcome) {
  if (is.null(stop_reason)) {
    return(outcome)
  }
  switch(stop_reason,
    cancel = "revoked",
    time_limit = "failure",
    shutdown = "released",
    lease_lost = "lease_lost",
    "unknown"
  )
}
