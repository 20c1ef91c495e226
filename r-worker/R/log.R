# Structured logs, the same shape as shared/src/logger.ts: one JSON object a line on stdout with time,
# level, service and msg, plus fields; every line about a task carries its task_id.

log_severity <- c(debug = 10, info = 20, warn = 30, error = 40)

new_logger <- function(level = "info", service = "r-worker", write = write_log_line) {
  threshold <- log_severity[[level]]
  emit <- function(severity) {
    function(msg, ...) {
      if (log_severity[[severity]] < threshold) {
        return(invisible(NULL))
      }
      entry <- c(list(time = iso_now(), level = severity, service = service, msg = msg), list(...))
      write(log_json(entry))
      invisible(NULL)
    }
  }
  list(debug = emit("debug"), info = emit("info"), warn = emit("warn"), error = emit("error"))
}

log_json <- function(entry) {
  as.character(jsonlite::toJSON(entry, auto_unbox = TRUE, null = "null", na = "null", digits = NA, force = TRUE))
}

# One write() per line, flushed at once: the service and its forked children share stdout, and a
# line shorter than PIPE_BUF is never interleaved with another.
# A closed stdout (whoever read it died) must not stop a task or the service: the line is lost, the
# work goes on and still hands tasks back on shutdown.
write_log_line <- function(line) {
  tryCatch(
    {
      cat(paste0(line, "\n"), file = stdout())
      flush(stdout())
    },
    error = function(e) invisible(NULL)
  )
}
