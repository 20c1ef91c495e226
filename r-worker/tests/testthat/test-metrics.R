# metrics.R: the tally of ended runs and the Prometheus text, read back with Prometheus' own parser
# (Debian's python3 with prometheus_client), as Prometheus would read it.

parse_with_prometheus <- function(text) {
  script <- paste(
    "import json, sys",
    "from prometheus_client.parser import text_string_to_metric_families",
    "print(json.dumps([{'name': f.name, 'type': f.type, 'samples': [[s.name, s.labels, s.value] for s in f.samples]} for f in text_string_to_metric_families(sys.stdin.read())]))",
    sep = "\n"
  )
  input <- tempfile()
  writeLines(text, input, sep = "")
  out <- system2("/usr/bin/python3", c("-c", shQuote(script)), stdin = input, stdout = TRUE, stderr = TRUE)
  status <- attr(out, "status")
  if (!is.null(status) && status != 0) stop(paste(out, collapse = "\n"), call. = FALSE)
  jsonlite::fromJSON(paste(out, collapse = ""), simplifyVector = FALSE)
}

fake_supervisor <- function(tally = new_run_tally(), running = character(0)) {
  list(
    running_ids = function() running,
    entry = function(task_id) list(pid = Sys.getpid()),
    running_count = function() length(running),
    tally = tally,
    identity = list(id = "r-host-1-abc\"def"),
    pool = new_child_pool()
  )
}

test_that("count_run counts by task and state; unknown names and states count as unknown", {
  tally <- new_run_tally()
  count_run(tally, "lm_fit", "success")
  count_run(tally, "lm_fit", "success")
  count_run(tally, "long_task", "revoked")
  count_run(tally, "drop_tables", "success")
  count_run(tally, "lm_fit", "exploded")
  expect_identical(tally$counts, list(`lm_fit|success` = 2, `long_task|revoked` = 1, `unknown|success` = 1, `lm_fit|unknown` = 1))
})

test_that("run_state_of names a stopped run by why it was stopped, else by what its child reported", {
  expect_identical(run_state_of("cancel", ""), "revoked")
  expect_identical(run_state_of("time_limit", ""), "failure")
  expect_identical(run_state_of("shutdown", "success"), "released")
  expect_identical(run_state_of("lease_lost", ""), "lease_lost")
  expect_identical(run_state_of(NULL, "retry"), "retry")
  expect_identical(run_state_of("something new", ""), "unknown")
})

test_that("render_metrics is valid Prometheus text with the families, labels and values a user checks", {
  tally <- new_run_tally()
  count_run(tally, "summary_stats", "success")
  count_run(tally, "long_task", "failure")
  config <- list(queues = c("default", "models"), max_concurrent_tasks = 4)
  families <- parse_with_prometheus(render_metrics(fake_supervisor(tally, running = "task-1"), config, started_at = 1764615600))
  by_name <- stats::setNames(families, vapply(families, function(f) f$name, ""))
  expect_true(all(c("process_cpu_seconds", "process_resident_memory_bytes", "process_virtual_memory_bytes", "process_open_fds", "process_start_time_seconds", "switchyard_worker_info", "switchyard_worker_concurrency", "switchyard_worker_running_tasks", "switchyard_r_worker_children", "switchyard_r_worker_children_resident_memory_bytes", "switchyard_worker_tasks") %in% names(by_name)))
  expect_identical(by_name$switchyard_worker_tasks$type, "counter")
  runs <- by_name$switchyard_worker_tasks$samples
  expect_length(runs, 2)
  expect_identical(runs[[1]][[2]], list(task = "long_task", state = "failure"))
  expect_identical(runs[[2]][[2]], list(task = "summary_stats", state = "success"))
  info <- by_name$switchyard_worker_info$samples[[1]]
  expect_identical(info[[2]], list(kind = "r", worker_id = "r-host-1-abc\"def", queues = "default,models")) # the quote escaped and read back
  expect_equal(by_name$switchyard_worker_concurrency$samples[[1]][[3]], 4)
  expect_equal(by_name$switchyard_worker_running_tasks$samples[[1]][[3]], 1)
  expect_equal(by_name$process_start_time_seconds$samples[[1]][[3]], 1764615600)
  expect_gt(by_name$process_resident_memory_bytes$samples[[1]][[3]], 0)
  # The one running "child" is this process here: its memory is counted.
  expect_gt(by_name$switchyard_r_worker_children_resident_memory_bytes$samples[[1]][[3]], 0)
})

test_that("a service that has run nothing yet still renders every family, the counter without samples", {
  families <- parse_with_prometheus(render_metrics(fake_supervisor(), list(queues = "default", max_concurrent_tasks = 1), started_at = 0))
  runs <- Filter(function(f) f$name == "switchyard_worker_tasks", families)
  expect_length(runs, 1)
  expect_length(runs[[1]]$samples, 0)
})

test_that("proc_status_bytes reads sizes in bytes, and NULL for a process that is gone", {
  sizes <- proc_status_bytes()
  expect_gt(sizes[["VmRSS"]], 1024 * 1024)
  expect_null(proc_status_bytes(2^22 + 12345))
})
