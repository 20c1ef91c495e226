# The task queues of the R kind in Redis, with leases: the R twin of TaskQueues in
# shared/src/queue.ts, calling the same scripts of shared/lua with the same keys and arguments in the
# same order, and reading their replies the same way. At-least-once delivery:
#
#   enqueue ──▶ waiting (by priority, FIFO) ──claim──▶ leases (active) ──finish──▶ done / dead
#      │            ▲  ▲                                 │  │
#      └▶ delayed ──┘  └──── maintain (lease ran out) ◀──┘  └─ retry ─▶ delayed
#
# A worker's writes carry its token; a worker whose lease was taken over can no longer write. Script
# answers are named once (rules.json script_codes) by script_outcome().
#
# One object per Redis connection: the service has one, each forked child makes its own.

# A locator outlives its record's first TTL by this much, covering the task's running time and retries
# (rules.json locator_slack_seconds, LOCATOR_SLACK_SECONDS in queue.ts).
locator_slack_seconds <- function() shared_rules()$locator_slack_seconds

# The name of a script's answer; an error for a number no script returns (a bug, not a state).
script_outcome <- function(reply) {
  codes <- script_codes()
  name <- names(codes)[codes == as.numeric(reply)]
  if (length(reply) != 1 || length(name) != 1) {
    stop(sprintf("a script answered %s, which is not a known code", format(reply)), call. = FALSE)
  }
  name
}

# The run-time arguments finish-claim-10 takes per task for a terminal record (runTimeArguments in task-metrics.ts):
# seconds from started_at to finished_at and the bucket they fall in (rules.json
# runtime_buckets_seconds), or two empty strings when the task never started.
run_time_arguments <- function(record) {
  if (is.null(record$started_at)) {
    return(list("", ""))
  }
  end <- record$finished_at %or% record$updated_at
  seconds <- max(0, parse_iso_datetime(end) - parse_iso_datetime(record$started_at))
  bounds <- unlist(shared_rules()$runtime_buckets_seconds)
  bucket <- bounds[seconds <= bounds][1]
  list(as.character(seconds), if (is.na(bucket)) "+Inf" else as.character(bucket))
}

reply_strings <- function(items) {
  vapply(items, function(item) if (is.null(item)) "" else as_text(item), character(1), USE.NAMES = FALSE)
}

new_task_queues <- function(redis, scripts, keys, record_ttl_seconds, kind = "r") {
  listed <- new.env(parent = emptyenv())
  run <- function(name, script_keys, args, idempotent = FALSE) scripts$run(redis, name, script_keys, args, idempotent = idempotent)
  now_ms <- function() floor(as.numeric(Sys.time()) * 1000)
  queue <- function(name) keys$queue(kind, name)

  # Adds the queue to the set GET /queues lists (once per process and queue).
  remember <- function(q) {
    if (isTRUE(listed[[q$id]])) {
      return(invisible(FALSE))
    }
    redis$command(list("SADD", keys$queue_set, q$id), idempotent = TRUE)
    listed[[q$id]] <- TRUE
    invisible(TRUE)
  }

  # Accepts a task into record$queue (waiting, or delayed when payload$options$eta is ahead):
  # "ok", "task_exists" or "queue_full". The locator is claimed first with NX: a task id is one task
  # across every queue (enqueue-7 alone refuses a repeated id only within one queue), and a refused
  # duplicate never moves the locator of the task that holds the id.
  enqueue <- function(record, payload, max_length = 0, wake = TRUE) {
    q <- queue(record$queue)
    now <- now_ms()
    due <- if (is.null(payload$options$eta)) 0 else round(parse_iso_datetime(payload$options$eta) * 1000)
    delay_seconds <- max(0, ceiling((due - now) / 1000))
    locator <- keys$locator(record$task_id)
    locator_ttl <- record_ttl_seconds + delay_seconds + locator_slack_seconds()
    remember(q)
    claimed_locator <- !is.null(redis$command(list("SET", locator, q$id, "EX", locator_ttl, "NX")))
    if (!claimed_locator && !identical(as_text(redis$get_raw(locator) %or% ""), q$id)) {
      return("task_exists")
    }
    stored <- store_payload(payload)
    reply <- run(
      "enqueue-7",
      c(q$task(record$task_id), q$job(record$task_id), q$wait, q$delayed, q$marker, q$seq, q$events),
      list(
        record$task_id, encode_record(record), stored$payload, record_ttl_seconds,
        payload$options$priority, due, max_length, if (wake) keys$wake_channel(kind) else "", now, q$id,
        "", 0L, stored$created_at, stored$traceparent
      )
    )
    outcome <- script_outcome(reply)
    if (!outcome %in% c("ok", "task_exists", "queue_full")) stop(sprintf("enqueue answered %s", outcome), call. = FALSE)
    if (outcome == "queue_full" && claimed_locator) redis$command(list("DEL", locator))
    if (outcome == "ok" && !claimed_locator) redis$command(list("SET", locator, q$id, "EX", locator_ttl), idempotent = TRUE)
    outcome
  }

  # One worker turn on queue `name` in one call (finish-claim-10, the script Node workers batch with):
  # acknowledges `finished` (a list of list(record, dead_letter), tasks it holds in that queue), then
  # takes up to `max` more. list(acknowledged, tasks, next_work_at): acknowledged[i] is FALSE where
  # the lease of finished[[i]] was lost; each task a list of task_id, queue, payload (decoded),
  # attempts (deliveries, this one included), failures (attempts that ended in an error) and revoked
  # (cancelled while a worker that died held it); next_work_at is when the queue next has work (ms
  # since the epoch; 0 now, -1 never).
  finish_and_claim <- function(name, finished, token, max, lease_ms) {
    q <- queue(name)
    now <- now_ms()
    per_task <- list()
    for (done in finished) {
      record <- done$record
      per_task <- c(
        per_task,
        list(record$task_id, encode_record(record), if (isTRUE(done$dead_letter)) "1" else "", record$task, record$state),
        run_time_arguments(record)
      )
    }
    reply <- run(
      "finish-claim-10",
      c(q$leases, q$dead, q$handoffs, q$events, q$stats, q$wait, q$delayed, q$marker, q$seq, q$paused),
      c(list(token, record_ttl_seconds, now, keys$handoff_channel, q$id, q$job_prefix, q$task_prefix, max, now + lease_ms), per_task),
      # Acknowledging alone is safe to send again (a finished task finds its own record); taking is not.
      idempotent = max == 0
    )
    acks <- vapply(reply[[1]] %or% list(), function(ack) script_outcome(ack) == "ok", logical(1))
    flat <- reply[[2]] %or% list()
    tasks <- list()
    i <- 1L
    while (i + 6L <= length(flat)) {
      tasks[[length(tasks) + 1L]] <- list(
        task_id = as_text(flat[[i]]),
        queue = name,
        payload = read_payload(flat[[i + 1L]], as_text(flat[[i + 5L]] %or% ""), as_text(flat[[i + 6L]] %or% "")),
        attempts = as.integer(flat[[i + 2L]]),
        failures = as.integer(flat[[i + 3L]]),
        revoked = identical(as_text(flat[[i + 4L]] %or% ""), "1")
      )
      i <- i + 7L
    }
    list(acknowledged = acks, tasks = tasks, next_work_at = as.numeric(reply[[3]]))
  }

  # Takes up to `max` tasks of queue `name`: list(tasks, next_work_at), as finish_and_claim.
  claim <- function(name, max, token, lease_ms) {
    turn <- finish_and_claim(name, list(), token, max, lease_ms)
    list(tasks = turn$tasks, next_work_at = turn$next_work_at)
  }

  # Renews the leases of running tasks of queue `name`: list(lost, revoked) task ids.
  extend_leases <- function(name, task_ids, token, lease_ms) {
    if (length(task_ids) == 0) {
      return(list(lost = character(0), revoked = character(0)))
    }
    q <- queue(name)
    reply <- run("extend-leases-1", q$leases, c(list(now_ms() + lease_ms, token, q$job_prefix), as.list(task_ids)), idempotent = TRUE)
    list(lost = reply_strings(reply[[1]]), revoked = reply_strings(reply[[2]]))
  }

  # Writes a STARTED or PROGRESS record; FALSE if the lease is lost. Safe to send again (the script
  # counts its own record, stored byte for byte, as written).
  write_record <- function(record, token) {
    q <- queue(record$queue)
    reply <- run(
      "write-record-3", c(q$job(record$task_id), q$task(record$task_id), q$events),
      list(token, encode_record(record), record_ttl_seconds, record$task_id),
      idempotent = TRUE
    )
    script_outcome(reply) == "ok"
  }

  # Acknowledges a task with its terminal record; `dead_letter` keeps a FAILURE as a dead letter.
  # FALSE if the lease is lost. Safe to send again.
  finish <- function(record, token, dead_letter = FALSE) {
    turn <- finish_and_claim(record$queue, list(list(record = record, dead_letter = dead_letter)), token, 0, 0)
    isTRUE(turn$acknowledged[1])
  }

  # Schedules another attempt after `delay_ms`, showing the RETRY `record` meanwhile; FALSE if the
  # lease is lost. Safe to send again. Returns when it is due (ms) as attribute `due_ms`.
  retry <- function(record, token, delay_ms) {
    q <- queue(record$queue)
    now <- now_ms()
    due <- now + delay_ms
    reply <- run(
      "retry-7", c(q$leases, q$delayed, q$job(record$task_id), q$task(record$task_id), q$marker, q$events, q$stats),
      list(record$task_id, token, encode_record(record), record_ttl_seconds, due, now, record$task),
      idempotent = TRUE
    )
    structure(script_outcome(reply) == "ok", due_ms = due)
  }

  # Hands a task back to the front of its priority, showing `record` until it is taken again.
  release <- function(record, token) {
    q <- queue(record$queue)
    reply <- run(
      "release-7", c(q$leases, q$wait, q$job(record$task_id), q$task(record$task_id), q$marker, q$seq, q$events),
      list(record$task_id, token, encode_record(record), record_ttl_seconds, keys$wake_channel(kind), q$id)
    )
    script_outcome(reply) == "ok"
  }

  # Sweeps queue `name`: redelivers tasks whose lease ran out, moves due delayed tasks in line.
  maintain <- function(name, limit = 1000) {
    q <- queue(name)
    reply <- run("maintain-5", c(q$leases, q$wait, q$delayed, q$marker, q$seq), list(now_ms(), q$job_prefix, limit), idempotent = TRUE)
    list(requeued = reply_strings(reply[[1]]), promoted = reply_strings(reply[[2]]))
  }

  # The stored record of a task of queue `name`, or NULL.
  read_record <- function(name, task_id) {
    decode_record(redis$get_raw(queue(name)$task(task_id)), task_id)
  }

  list(
    kind = kind, queue = queue, remember = remember, enqueue = enqueue, claim = claim, finish_and_claim = finish_and_claim,
    extend_leases = extend_leases, write_record = write_record, finish = finish, retry = retry,
    release = release, maintain = maintain, read_record = read_record
  )
}
