# The ceiling for bench/r-service.ts: a plumber app whose POST /tasks does nothing but answer 202
# with a fixed body, plumbed the way r-worker/plumber.R is (no body parsers, the answer written into
# the response as is, Connection: close), so the bench shows what plumber and httpuv cost on their
# own beside what the R service does for each accepted task.
#
#   Rscript -e 'plumber::pr_run(plumber::pr("bench/peers/noop_plumber.R"), host = "127.0.0.1", port = 8001)'

accepted <- '{"task_id":"noop","status":"created"}'

#* @plumber
function(pr) {
  plumber::pr_set_parsers(pr, setNames(list(), character(0)))
}

#* @post /tasks
function(req, res) {
  res$status <- 202L
  res$setHeader("Content-Type", "application/json")
  res$setHeader("Connection", "close")
  res$body <- accepted
  res
}

#* @get /health
function(req, res) {
  res$status <- 200L
  res$setHeader("Content-Type", "application/json")
  res$body <- '{"status":"ok"}'
  res
}
