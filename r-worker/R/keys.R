# The Redis key layout, as shared/src/keys.ts builds it. The R worker writes task records, the
# heartbeats of the tasks it holds, the request each task was accepted with and the R dead-letter
# list; tests/testthat/test-keys.R checks every one against shared/contracts/key-layout.json.

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
    task = function(task_id) paste0(prefix, ":task:", task_id),
    # STRING with a TTL (HEARTBEAT_TTL_SECONDS): present while the R service that accepted the task is
    # alive and the task is not finished. A non-terminal R record without it belongs to a dead service.
    r_heartbeat = function(task_id) paste0(prefix, ":r:heartbeat:", task_id),
    # LIST: R task ids given up as FAILURE (dead letters), newest first; an operator can requeue them.
    r_dead = paste0(prefix, ":r:dead"),
    # STRING (JSON): the request a task was accepted with ({task, args, options?}), expiring with its
    # record, so a dead letter can run again.
    r_request = function(task_id) paste0(prefix, ":r:request:", task_id)
  )
}
