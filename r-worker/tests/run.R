# Runs every testthat test of the R worker and exits non-zero if any failed.
#   Rscript r-worker/tests/run.R      (from the repository root, or from r-worker/)
# The last line is the summary the repository's test script reads: "R: <n> passed, <n> failed".

tests_dir <- local({
  file_arg <- grep("^--file=", commandArgs(trailingOnly = FALSE), value = TRUE)
  if (length(file_arg) == 0) stop("run me with: Rscript r-worker/tests/run.R", call. = FALSE)
  dirname(normalizePath(sub("^--file=", "", file_arg[[1]])))
})

# processx (which starts redis-server for the tests) replaces the SIGCHLD handler that parallel uses to
# reap the forked children; with this set before processx loads, it passes the signal on, and R does
# not wait 10 s at exit for children it thinks are still running.
Sys.setenv(PROCESSX_NOTIFY_OLD_SIGCHLD = "true")

testthat::set_max_fails(Inf)
results <- testthat::test_dir(
  file.path(tests_dir, "testthat"),
  reporter = testthat::ProgressReporter$new(show_praise = FALSE),
  stop_on_failure = FALSE,
  stop_on_warning = FALSE
)

outcome <- as.data.frame(results)
broken <- outcome$failed > 0 | outcome$error
skipped <- !broken & outcome$skipped
passed <- sum(!broken & !skipped)
failed <- sum(broken)
if (any(skipped)) {
  cat(sprintf("R: %d skipped: %s\n", sum(skipped), paste(outcome$test[skipped], collapse = "; ")))
}
cat(sprintf("R: %d passed, %d failed\n", passed, failed))
quit(save = "no", status = if (failed > 0 || passed == 0) 1 else 0)
