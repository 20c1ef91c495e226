signals_script <- function(source_file, cache_dir) {
  files <- file.path(r_worker_dir, "R", c("clock.R", "log.R", "signals.R"))
  literal <- function(x) paste(deparse(x), collapse = "")
  c(
    sprintf("for (f in %s) source(f)", literal(files)),
    sprintf("ok <- install_sigterm_handler(%s, new_logger('warn'), cache_dir = %s)", literal(source_file), literal(cache_dir)),
    "cat(if (ok) 'ready\\n' else 'not installed\\n'); flush(stdout())",
    "outcome <- tryCatch({ Sys.sleep(20); 'slept' }, interrupt = function(e) 'interrupted')",
    "cat(outcome, '\\n')"
  )
}

run_signals_script <- function(lines) {
  script <- tempfile(fileext = ".R")
  writeLines(lines, script)
  processx::process$new("Rscript", script, stdout = "|", stderr = "|", cleanup = TRUE)
}

test_that("after install_sigterm_handler, SIGTERM becomes an R interrupt that main.R can catch", {
  skip_if(!nzchar(Sys.which("gcc")), "no C compiler here to build src/sigterm.c; SIGTERM then stops R at once")
  process <- run_signals_script(signals_script(file.path(r_worker_dir, "src", "sigterm.c"), tempfile("cache")))
  on.exit(if (process$is_alive()) process$kill(), add = TRUE)
  output <- ""
  wait_for(function() {
    process$poll_io(200)
    output <<- paste0(output, process$read_output())
    grepl("ready|not installed", output) || !process$is_alive()
  }, timeout = 60, what = "the script to install the handler")
  expect_match(output, "ready")
  process$signal(tools::SIGTERM)
  process$wait(10000)
  output <- paste0(output, process$read_all_output())
  expect_match(output, "interrupted")
  expect_identical(process$get_exit_status(), 0L)
})

test_that("when the handler cannot be built, the service is told so and goes on", {
  broken <- tempfile(fileext = ".c")
  writeLines("this is not C", broken)
  lines <- character(0)
  logger <- new_logger("warn", write = function(line) lines <<- c(lines, line))
  expect_false(install_sigterm_handler(broken, logger, cache_dir = tempfile("cache")))
  expect_length(lines, 1)
  expect_match(jsonlite::parse_json(lines)$msg, "SIGTERM is not handled: send SIGINT for a graceful stop", fixed = TRUE)
})
