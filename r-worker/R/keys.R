# The Redis key layout, built from the templates of shared/contracts/key-layout.json (generated from
# shared/src/keys.ts): no key string is written by hand in R. Every key of one queue shares the hash
# tag `{<kind>:<queue>}`; a task's record and job hash live with its queue, and the locator says
# which queue that is. tests/testthat/test-keys.R checks the result against the contract's example.

fill_key_template <- function(template, values) {
  for (name in names(values)) template <- gsub(sprintf("<%s>", name), values[[name]], template, fixed = TRUE)
  if (grepl("<[a-z_]+>", template)) stop(sprintf("key template %s needs more values", template), call. = FALSE)
  template
}

is_queue_name <- function(name) {
  is.character(name) && length(name) == 1 && !is.na(name) && grepl(shared_rules()$queue_name_pattern, name)
}

new_key_layout <- function(prefix, templates = contracts()$key_layout$templates) {
  if (!is.character(prefix) || length(prefix) != 1 || is.na(prefix) || !grepl(shared_rules()$key_prefix_pattern, prefix)) {
    stop(
      sprintf(
        "key prefix must be 1-64 characters of letters, digits, '_', '.' or '-' (got %s)",
        jsonlite::toJSON(prefix, auto_unbox = TRUE)
      ),
      call. = FALSE
    )
  }
  key <- function(name, ...) fill_key_template(templates[[name]], c(list(prefix = prefix), list(...)))
  queues <- new.env(parent = emptyenv())

  # The keys of queue `name` of worker kind `kind` (QueueKeys in keys.ts), made once per queue.
  queue <- function(kind, name) {
    id <- paste0(kind, ":", name)
    known <- get0(id, envir = queues, inherits = FALSE)
    if (!is.null(known)) {
      return(known)
    }
    if (!is_queue_name(name)) {
      stop(sprintf("queue name %s (got %s)", shared_rules()$queue_name_rule, jsonlite::toJSON(name, auto_unbox = TRUE)), call. = FALSE)
    }
    of <- function(template) key(template, kind = kind, queue = name)
    keys <- list(
      kind = kind, name = name, id = id,
      wait = of("wait"), delayed = of("delayed"), leases = of("leases"), dead = of("dead"),
      paused = of("paused"), seq = of("seq"), marker = of("marker"), handoffs = of("handoffs"),
      events = of("events"), stats = of("stats"),
      task = function(task_id) key("task", kind = kind, queue = name, task_id = task_id),
      job = function(task_id) key("job", kind = kind, queue = name, task_id = task_id),
      job_prefix = of("jobPrefix"), task_prefix = of("taskPrefix")
    )
    assign(id, keys, envir = queues)
    keys
  }

  list(
    prefix = prefix,
    queue = queue,
    locator = function(task_id) key("locator", task_id = task_id),
    queue_set = key("queueSet"),
    worker_set = key("workerSet"),
    worker = function(worker_id) key("worker", worker_id = worker_id),
    cancel_channel = function(kind) key("cancelChannel", kind = kind),
    wake_channel = function(kind) key("wakeChannel", kind = kind),
    handoff_channel = key("handoffChannel")
  )
}
