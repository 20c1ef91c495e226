# The registry of live workers (shared/src/workers.ts startWorkerHeartbeat), as the R service writes
# it: every worker_heartbeat.intervalMs (rules.json) the service SETs <prefix>:worker:<id> to a JSON
# description of itself with a TTL of worker_heartbeat.ttlSeconds, scores its id in the worker set,
# and drops entries older than the TTL. GET /workers lists the fresh ones; at shutdown it removes
# itself, and a service that dies ages out.

heartbeat_timing <- function() shared_rules()$worker_heartbeat

new_worker_registry <- function(redis, keys, describe, host = Sys.info()[["nodename"]], pid = Sys.getpid()) {
  started_at <- iso_now()
  beat <- function(now = Sys.time()) {
    timing <- heartbeat_timing()
    info <- describe()
    now_ms <- floor(as.numeric(now) * 1000)
    json <- as.character(jsonlite::toJSON(list(
      id = info$id,
      kind = "r",
      host = host,
      pid = pid,
      queues = I(as.character(info$queues)),
      concurrency = info$concurrency,
      running = I(as.character(info$running)),
      started_at = started_at,
      heartbeat_at = format_iso_time(now_ms / 1000)
    ), auto_unbox = TRUE, digits = NA))
    redis$command(list("SET", keys$worker(info$id), json, "EX", timing$ttlSeconds), idempotent = TRUE)
    redis$command(list("ZADD", keys$worker_set, now_ms, info$id), idempotent = TRUE)
    redis$command(list("ZREMRANGEBYSCORE", keys$worker_set, "-inf", now_ms - timing$ttlSeconds * 1000), idempotent = TRUE)
    invisible(json)
  }
  stop_beating <- function() {
    id <- describe()$id
    redis$command(list("DEL", keys$worker(id)), idempotent = TRUE)
    redis$command(list("ZREM", keys$worker_set, id), idempotent = TRUE)
    invisible(TRUE)
  }
  list(beat = beat, stop = stop_beating, interval_seconds = function() heartbeat_timing()$intervalMs / 1000)
}
