# R_SERVICE_TOKEN: when set, every route but GET /health needs `Authorization: Bearer <token>`, so
# only the gateway can hand tasks to the service. The comparison takes the same time wherever the
# first difference is (an accumulated XOR over equal-length byte vectors), and the token is never
# logged or echoed.

bearer_token_of <- function(header) {
  if (is.null(header) || length(header) != 1 || is.na(header)) {
    return("")
  }
  match <- regmatches(header, regexec("^[Bb]earer[ ]+(.+)$", header))[[1]]
  if (length(match) == 2) trimws(match[[2]]) else ""
}

# TRUE when `given` equals `expected`; the time depends only on their lengths.
tokens_equal <- function(given, expected) {
  a <- charToRaw(enc2utf8(expected))
  b <- charToRaw(enc2utf8(given))
  same_length <- length(a) == length(b)
  if (!same_length) b <- a # compare something of the same length, and fail below
  difference <- bitwOr(0L, sum(bitwXor(as.integer(a), as.integer(b))))
  same_length && difference == 0L
}

# NULL when the request may pass, else the 401 answer.
check_service_token <- function(authorization, token) {
  if (!nzchar(token)) {
    return(NULL)
  }
  if (tokens_equal(bearer_token_of(authorization), token)) {
    return(NULL)
  }
  http_error("unauthorized", "This R service needs Authorization: Bearer <R_SERVICE_TOKEN>")
}
