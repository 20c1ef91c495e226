# The Redis key layout, as shared/src/keys.ts builds it. The R worker only writes task records;
# tests/testthat/test-keys.R checks the result against shared/contracts/key-layout.json.

# A prefix may not contain the separator, so keys of two deployments can never collide.
key_prefix_pattern <- "^[A-Za-z0-9_.-]{1,64}$"

new_key_layout <- function(prefix) {
  if (!is.character(prefix) || length(prefix) != 1 || !grepl(key_prefix_pattern, prefix)) {
    stop(
      sprintf(
        "key prefix must be 1-64 characters of letters, digits, '_', '.' or '-' (got %s)",
        jsonlite::toJSON(prefix, auto_unbox = TRUE)
      ),
      call. = FALSE
    )
  }
  list(
    prefix = prefix,
    # STRING: the MessagePack status record of one task; expires RESULT_TTL_SECONDS after its last write.
    task = function(task_id) paste0(prefix, ":task:", task_id)
  )
}
