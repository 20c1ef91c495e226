# Runs every testthat test of the R worker and exits non-zero if any failed.
#   Rscript r-worker/tests/run.R      (from the repository root, or from r-worker/)
# The last line is the summary the repository's test script reads: "R: <n> passed, <n> failed".

tests_dir <- local({
  file_arg <- grep("^--file=", commandArgs(trailingOnly = FALSE), value = TRUE)
  if (length(file_arg) == 0) stop("run me with: Rscript r-worker/tests/run.R", call. = FALSE)
  dirname(normalizePath(sub("^--file=", "", file_arg[[1]])))
})

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
