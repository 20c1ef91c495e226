# The answers of the HTTP API. Errors are shaped exactly like the gateway's (shared/src/errors.ts):
# {"error": {"code": "...", "message": "...", "fields": [{"field": "args.0", "message": "must be ..."}]}}.
# The codes and their statuses are the gateway's table (rules.json http_status_by_code).

http_status_of <- function(code) {
  status <- shared_rules()$http_status_by_code[[code]]
  if (is.null(status)) stop(sprintf("unknown error code '%s'", code), call. = FALSE)
  as.integer(status)
}

# An answer for the plumber layer: status, a body to send as JSON, extra headers.
http_answer <- function(status, body, headers = list()) {
  list(status = as.integer(status), body = body, headers = headers)
}

http_error <- function(code, message, fields = NULL, headers = list()) {
  status <- http_status_of(code)
  error <- list(code = code, message = message)
  if (!is.null(fields)) {
    error$fields <- fields
  }
  http_answer(status, list(error = error), headers)
}

http_answer_json <- function(answer) {
  as.character(jsonlite::toJSON(answer$body, auto_unbox = TRUE, null = "null", na = "null", digits = NA))
}

# Writes an answer into a plumber response and returns the response, which plumber then sends as is.
# Every answer closes its connection: httpuv writes headers and body in two packets with Nagle on,
# which costs ~40 ms per request on a kept-alive connection (the gateway opens one per request).
send_answer <- function(res, answer) {
  res$status <- answer$status
  res$setHeader("Content-Type", "application/json")
  for (name in names(answer$headers)) {
    res$setHeader(name, answer$headers[[name]])
  }
  res$setHeader("Connection", "close")
  res$body <- http_answer_json(answer)
  res
}
