# The HTTP endpoints of the R worker, and nothing else: each handler passes the request to the service
# (R/service.R) and sends back its answer (R/http_answers.R). main.R plumbs this file in an
# environment that holds `service`, `logger` and `service_token` next to the helpers in R/. Plumber
# parses no bodies (an empty parser list): validate.R reads the raw bytes, so malformed JSON is a 400,
# not a 500. Cancel and requeue are not here: the gateway does both through Redis (cancel-7,
# requeue-dead-7), for R tasks as for Node ones.

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

#* With R_SERVICE_TOKEN set, every route but GET /health (and GET /metrics with METRICS_PUBLIC=true)
#* needs `Authorization: Bearer <token>` (else 401 unauthorized).
#* @filter service_token
function(req, res) {
  open_paths <- c("/health", if (metrics_public) "/metrics")
  if (req$PATH_INFO %in% open_paths && identical(req$REQUEST_METHOD, "GET")) {
    return(plumber::forward())
  }
  refused <- check_service_token(req$HTTP_AUTHORIZATION, service_token)
  if (!is.null(refused)) {
    return(send_answer(res, refused))
  }
  plumber::forward()
}

#* Accepts a submission {"task_id", "task", "args", "queue"?, "options"?}: validates it and puts it in
#* its R queue (record PENDING, job and queue entry in one step) for the supervisor to run when a
#* slot is free: 202 {"task_id", "status": "created"} at once. 400 invalid_json, 422
#* validation_failed, 409 task_exists, 429 queue_full (with Retry-After; only with MAX_QUEUE_LENGTH),
#* 503 redis_unavailable.
#* @post /tasks
function(req, res) {
  send_answer(res, service$submit_task(req$bodyRaw))
}

#* 200 {"status": "ok", "worker_id", "queues", "running": n, "max": m} when Redis answers PING, else
#* 503 redis_unavailable. Open without a token.
#* @get /health
function(req, res) {
  send_answer(res, service$health())
}

#* Prometheus text format: this process's CPU, memory and descriptors, its children, slots and
#* running tasks, and the runs it ended since it started by task and state (R/metrics.R,
#* docs/metrics.md). Needs the token like /tasks unless METRICS_PUBLIC=true.
#* @get /metrics
function(req, res) {
  res$status <- 200L
  res$setHeader("Content-Type", prometheus_content_type)
  res$setHeader("Connection", "close")
  res$body <- service$metrics()
  res
}
