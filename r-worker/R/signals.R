# Makes SIGTERM behave like SIGINT (an R `interrupt` condition) so that `docker stop` and Kubernetes
# get the same graceful shutdown as Ctrl-C. Base R cannot catch SIGTERM, so a ten-line C function
# (src/sigterm.c) copies R's SIGINT handler onto SIGTERM. It is compiled with R CMD SHLIB on first use
# and cached under R_WORKER_CACHE_DIR (default: the user cache dir, else a temporary one). Without a
# C compiler the service still runs, but SIGTERM then ends it at once (send SIGINT instead).

install_sigterm_handler <- function(source_file, logger, cache_dir = sigterm_cache_dir()) {
  library_file <- tryCatch(build_sigterm_library(source_file, cache_dir), error = function(e) e)
  if (inherits(library_file, "error")) {
    logger$warn(
      "SIGTERM is not handled: send SIGINT for a graceful stop",
      reason = conditionMessage(library_file)
    )
    return(FALSE)
  }
  dll <- dyn.load(library_file)
  installed <- .Call(getNativeSymbolInfo("switchyard_sigterm_as_sigint", dll))
  if (!isTRUE(installed)) {
    logger$warn("SIGTERM is not handled: sigaction failed; send SIGINT for a graceful stop")
  }
  isTRUE(installed)
}

# `configured`: R_WORKER_CACHE_DIR (config.R); empty means the user cache dir.
sigterm_cache_dir <- function(configured = "") {
  if (nzchar(configured)) configured else tools::R_user_dir("switchyard-r-worker", which = "cache")
}

build_sigterm_library <- function(source_file, cache_dir) {
  stamp <- substr(unname(tools::md5sum(source_file)), 1, 12)
  tag <- paste(stamp, R.version$major, R.version$minor, R.version$platform, sep = "-")
  for (dir in c(cache_dir, file.path(tempdir(), "sigterm"))) {
    library_file <- file.path(dir, paste0("sigterm-", tag, .Platform$dynlib.ext))
    if (file.exists(library_file)) {
      return(library_file)
    }
    built <- tryCatch(compile_sigterm_library(source_file, dir, library_file), error = function(e) e)
    if (!inherits(built, "error")) {
      return(library_file)
    }
  }
  stop(conditionMessage(built), call. = FALSE)
}

compile_sigterm_library <- function(source_file, dir, library_file) {
  dir.create(dir, recursive = TRUE, showWarnings = FALSE)
  work <- tempfile("sigterm-build-", tmpdir = dir)
  dir.create(work)
  on.exit(unlink(work, recursive = TRUE), add = TRUE)
  file.copy(source_file, file.path(work, "sigterm.c"))
  output <- suppressWarnings(system2(
    file.path(R.home("bin"), "R"),
    c("CMD", "SHLIB", "-o", shQuote(file.path(work, "sigterm.so")), shQuote(file.path(work, "sigterm.c"))),
    stdout = TRUE, stderr = TRUE
  ))
  status <- attr(output, "status")
  built <- file.path(work, "sigterm.so")
  if (!is.null(status) && status != 0 || !file.exists(built)) {
    stop(sprintf("could not compile %s: %s", basename(source_file), paste(utils::tail(output, 3), collapse = " ")), call. = FALSE)
  }
  # Renamed into place so that two services starting at once never load a half-written file.
  if (!file.rename(built, library_file) && !file.exists(library_file)) {
    stop(sprintf("could not write %s", library_file), call. = FALSE)
  }
  library_file
}
