# The HTTP endpoints of the R worker, and nothing else: each handler passes the request to the service
# (R/service.R) and sends back its answer (R/http_answers.R). main.R plumbs this file in an
# environment that holds `service` and `logger` next to the helpers in R/. Plumber parses no bodies
# (an empty parser list): validate.R reads the raw bytes, so malformed JSON is a 400, not a 500.

#* @apiTitle Switchyard R worker

#* @plumber
function(pr) {
  pr |>
    plumber::pr_set_parsers(setNames(list(), character(0))) |>
    plumber::pr_set_404(function(req, res) {
      send_answer(res, http_error("route_not_found", sprintf("No route %s %s", req$REQUEST_METHOD, req$PATH_INFO)))
    }) |>
    plumber::pr_set_error(function(req, res, err) {
      logger$error("request failed", path = req$PATH_INFO, error = conditionMessage(err))
      send_answer(res, http_error("internal", "Internal error"))
    })
}

#* Accepts a task {"task_id", "task", "args", "options"?}: validates it, writes its PENDING record
#* (and heartbeat) to Redis, starts it in a forked child and answers 202 at once (a task whose
#* `expires` has passed is recorded REVOKED instead, also 202). 400 invalid_json,
#* 422 validation_failed, 409 task_exists, 429 worker_busy (with Retry-After), 503 redis_unavailable.
#* @post /tasks
function(req, res) {
  send_answer(res, service$submit_task(req$bodyRaw))
}

#* Cancels a task this service holds: a running child is killed, a waiting retry dropped; the record
#* becomes REVOKED and the answer is 200 {"task_id", "state": "REVOKED"}. 409 task_finished (already
#* terminal), 404 task_not_found (not held here), 422 validation_failed (not a UUID), 503 redis_unavailable.
#* @delete /tasks/<task_id>
function(req, res, task_id) {
  send_answer(res, service$cancel_task(task_id))
}

#* Runs a dead letter (a task whose record is FAILURE, on the R dead-letter list) again with its
#* attempts reset, from the request it was accepted with: 202 {"task_id", "status": "created"}.
#* 404 task_not_found (not a dead letter, or it can no longer run: its request expired),
#* 429 worker_busy (with Retry-After; it stays a dead letter), 422 validation_failed (not a UUID),
#* 503 redis_unavailable.
#* @post /tasks/<task_id>/requeue
function(req, res, task_id) {
  send_answer(res, service$requeue_task(task_id))
}

#* 200 {"status": "ok", "running": n, "max": m} when Redis answers PING, else 503 redis_unavailable.
#* @get /health
function(req, res) {
  send_answer(res, service$health())
}
