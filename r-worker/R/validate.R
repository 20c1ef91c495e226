# Validation of a submission, the body of POST /tasks: {"task_id": "<uuid>", "task": "<name>",
# "args": [...], "queue"?: "<name>", "options"?: {...}}, with the argument rules of shared/src/tasks.ts
# R_TASKS and the option rules of options.R (the gateway checks the same rules first). The worker
# checks a claimed task's args again with the same rules (check_task_args) before it runs them.
# Every problem is reported as {field, message}, field a dotted path ("args.1.x.0"), message what must
# be true. The limits are TASK_LIMITS, from rules.json (task_limits).

task_limit <- function(name) shared_rules()$task_limits[[name]]

# At most this many bad items of one array are reported, so a huge bad array gets a short answer.
max_item_problems <- 10

# zod's z.uuid(): RFC 9562 versions 1-8, plus the nil and max UUIDs.
uuid_pattern <- paste0(
  "^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}",
  "|00000000-0000-0000-0000-000000000000|ffffffff-ffff-ffff-ffff-ffffffffffff)$"
)
predictor_name_pattern <- "^[A-Za-z][A-Za-z0-9_.]{0,63}$"

# Returns list(submission = list(task_id, task, args, queue, options)) or list(error = <http answer>).
# The args come back normalised for both the task and the status record: arrays as I(<double vector>)
# (so a one-item array stays an array in MessagePack), the predictor columns as a named list of those.
# `options` is what the submission asked for (an empty list when it gave none), not yet resolved;
# `queue` is the default queue when it named none.
validate_submission <- function(body_raw, now = Sys.time()) {
  body <- parse_json_body(body_raw)
  if (inherits(body, "invalid_json")) {
    return(list(error = http_error("invalid_json", conditionMessage(body))))
  }
  validate_submission_body(body, now = now)
}

# The same checks on a submission already parsed (jsonlite::parse_json, simplifyVector = FALSE).
validate_submission_body <- function(body, now = Sys.time()) {
  problems <- new_problem_list()
  if (!is_json_object(body)) {
    problems$add("(body)", "must be a JSON object with task_id, task and args")
    return(list(error = validation_error(problems$all())))
  }
  task_id <- body$task_id
  if (!has_field(body, "task_id")) {
    problems$add("task_id", "is required")
  } else if (!is_task_id(task_id)) {
    problems$add("task_id", task_id_rule)
  }
  task <- body$task
  known_task <- FALSE
  if (!has_field(body, "task")) {
    problems$add("task", "is required")
  } else if (!is_json_string(task) || !task %in% names(r_tasks)) {
    problems$add("task", sprintf("must be one of: %s", paste(names(r_tasks), collapse = ", ")))
  } else {
    known_task <- TRUE
  }
  args <- NULL
  if (!has_field(body, "args")) {
    problems$add("args", "is required")
  } else if (!is_json_array(body$args)) {
    problems$add("args", "must be an array")
  } else if (known_task) {
    args <- r_task_arg_rules[[task]](body$args, problems)
  }
  queue <- shared_rules()$default_queue
  if (has_field(body, "queue")) {
    if (is_queue_name(body$queue)) queue <- body$queue else problems$add("queue", shared_rules()$queue_name_rule)
  }
  options <- list()
  if (has_field(body, "options")) {
    options <- validate_task_options(body$options, problems, now = now)
  }
  # The W3C traceparent the gateway accepted (or started): kept in the record, logged with the task's lines.
  traceparent <- NULL
  if (has_field(body, "traceparent")) {
    if (is.character(body$traceparent) && length(body$traceparent) == 1 && grepl("^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$", body$traceparent)) {
      traceparent <- body$traceparent
    } else {
      problems$add("traceparent", "must be a W3C traceparent (version-trace id-parent id-flags, lowercase hex)")
    }
  }
  for (extra in setdiff(names(body), c("task_id", "task", "args", "queue", "options", "traceparent"))) {
    problems$add(extra, "is not an allowed field")
  }
  if (problems$count() > 0) {
    return(list(error = validation_error(problems$all())))
  }
  list(submission = list(task_id = task_id, task = task, args = args, queue = queue, options = options, traceparent = traceparent))
}

# A claimed task's args checked again with the rules of its task: list(args = normalised) or
# list(error = "invalid args at args.0: must be ..."), the message Node's worker gives.
check_task_args <- function(task, args) {
  rules <- r_task_arg_rules[[task]]
  if (is.null(rules)) {
    return(list(error = sprintf("unknown task \"%s\"", task)))
  }
  problems <- new_problem_list()
  normalised <- if (is_json_array(args) || length(args) == 0) rules(as.list(args), problems) else NULL
  if (!is_json_array(args) && length(args) > 0) problems$add("args", "must be an array")
  if (problems$count() > 0) {
    first <- problems$all()[[1]]
    return(list(error = sprintf("invalid args at %s: %s", first$field, first$message)))
  }
  list(args = normalised)
}

task_id_rule <- "must be a task id as returned by execute (a UUID)"

is_task_id <- function(x) {
  is_json_string(x) && !is.na(x) && grepl(uuid_pattern, x)
}

validation_error <- function(fields) {
  summary <- paste(vapply(fields, function(f) paste(f$field, f$message), ""), collapse = "; ")
  http_error("validation_failed", paste("Invalid request:", summary), fields = fields)
}

parse_json_body <- function(body_raw) {
  fail <- function(message) structure(class = c("invalid_json", "condition"), list(message = message, call = NULL))
  text <- tryCatch(if (is.raw(body_raw)) rawToChar(body_raw) else paste(body_raw, collapse = ""), error = function(e) NULL)
  if (is.null(text) || !nzchar(trimws(text))) {
    return(fail("The request body must be a JSON object; it was empty or not text"))
  }
  tryCatch(
    jsonlite::parse_json(text, simplifyVector = FALSE),
    error = function(e) fail(sprintf("The request body is not valid JSON (%s)", first_line(conditionMessage(e))))
  )
}

first_line <- function(text) {
  trimws(strsplit(text, "\n", fixed = TRUE)[[1]][[1]])
}

new_problem_list <- function() {
  found <- list()
  list(
    add = function(field, message) {
      found[[length(found) + 1L]] <<- list(field = field, message = message)
      invisible(NULL)
    },
    count = function() length(found),
    all = function() found
  )
}

has_field <- function(object, name) name %in% names(object)
is_json_object <- function(x) is.list(x) && !is.null(names(x))
is_json_array <- function(x) is.list(x) && is.null(names(x))
is_json_string <- function(x) is.character(x) && length(x) == 1
is_json_number <- function(x) is.numeric(x) && length(x) == 1

# Each rule takes the args array and the problem list, and returns the normalised args (or NULL).
r_task_arg_rules <- list(
  long_task = function(args, problems) {
    check_arg_count(args, 1, problems)
    total <- check_whole_number(args, 1, "args.0", 1, task_limit("maxTotal"), problems)
    list(total)
  },
  lm_fit = function(args, problems) {
    # A data set in one argument, {"y": [...], "predictors": {...}} (what make_dataset hands on in a
    # workflow), is the same as the two arguments y and predictors.
    if (length(args) == 1 && is_json_object(args[[1]]) && setequal(names(args[[1]]), c("y", "predictors"))) {
      dataset <- args[[1]]
      y <- numbers_of(dataset$y, "args.0.y", 3, problems)
      predictors <- check_predictor_columns(list(dataset$predictors), 1, "args.0.predictors", problems)
      return(list(y, predictors))
    }
    check_arg_count(args, 2, problems)
    y <- check_number_array(args, 1, "args.0", 3, problems)
    predictors <- check_predictor_columns(args, 2, "args.1", problems)
    list(y, predictors)
  },
  summary_stats = function(args, problems) {
    check_arg_count(args, 2, problems)
    values <- check_number_array(args, 1, "args.0", 1, problems)
    if (length(args) < 2) {
      return(list(values))
    }
    probs <- check_probabilities(args[[2]], "args.1", problems)
    list(values, probs)
  }
)

check_arg_count <- function(args, max_count, problems) {
  if (length(args) > max_count) {
    problems$add("args", sprintf("must have at most %d item%s", max_count, if (max_count == 1) "" else "s"))
  }
}

check_whole_number <- function(args, index, field, min, max, problems) {
  if (length(args) < index) {
    return(problems$add(field, "is required"))
  }
  value <- args[[index]]
  if (!is_json_number(value) || !is.finite(value) || value != trunc(value) || value < min || value > max) {
    return(problems$add(field, sprintf("must be a whole number between %s and %s", format_whole(min), format_whole(max))))
  }
  as.numeric(value)
}

check_number_array <- function(args, index, field, min_length, problems) {
  if (length(args) < index) {
    return(problems$add(field, "is required"))
  }
  numbers_of(args[[index]], field, min_length, problems)
}

numbers_of <- function(value, field, min_length, problems) {
  if (!is_json_array(value)) {
    return(problems$add(field, "must be an array of numbers"))
  }
  before <- problems$count()
  if (length(value) < min_length) {
    problems$add(field, sprintf("must hold at least %d number%s", min_length, if (min_length == 1) "" else "s"))
  }
  if (length(value) > task_limit("maxVectorLength")) {
    return(problems$add(field, sprintf("must hold at most %s numbers", format_whole(task_limit("maxVectorLength")))))
  }
  is_number <- vapply(value, is_json_number, logical(1))
  numbers <- rep(NA_real_, length(value))
  numbers[is_number] <- as.numeric(unlist(value[is_number]))
  bad <- which(!is_number | !is.finite(numbers))
  for (i in utils::head(bad, max_item_problems)) {
    problems$add(sprintf("%s.%d", field, i - 1L), if (is_number[[i]]) "must be a finite number" else "must be a number")
  }
  if (problems$count() > before) {
    return(NULL)
  }
  I(numbers)
}

check_predictor_columns <- function(args, index, field, problems) {
  if (length(args) < index) {
    return(problems$add(field, "is required"))
  }
  columns <- args[[index]]
  if (!is_json_object(columns)) {
    return(problems$add(field, "must be an object of named numeric columns, e.g. {\"x\": [1, 2, 3]}"))
  }
  before <- problems$count()
  if (length(columns) < 1) {
    problems$add(field, "must name at least one predictor column")
  }
  if (length(columns) > task_limit("maxPredictors")) {
    problems$add(field, sprintf("must name at most %d predictor columns", task_limit("maxPredictors")))
  }
  column_names <- names(columns)
  for (i in seq_along(columns)) {
    name <- column_names[[i]]
    column_field <- paste(field, name, sep = ".")
    if (!grepl(predictor_name_pattern, name)) {
      problems$add(column_field, "must be a name of letters, digits, _ or .")
    } else if (name %in% column_names[seq_len(i - 1L)]) {
      problems$add(column_field, "must appear only once")
    }
    columns[i] <- list(numbers_of(columns[[i]], column_field, 3, problems))
  }
  if (problems$count() > before) {
    return(NULL)
  }
  columns
}

check_probabilities <- function(value, field, problems) {
  if (!is_json_array(value)) {
    return(problems$add(field, "must be an array of probabilities between 0 and 1"))
  }
  before <- problems$count()
  if (length(value) < 1) {
    problems$add(field, "must hold at least 1 probability")
  }
  if (length(value) > 99) {
    return(problems$add(field, "must hold at most 99 probabilities"))
  }
  is_number <- vapply(value, is_json_number, logical(1))
  probs <- rep(NA_real_, length(value))
  probs[is_number] <- as.numeric(unlist(value[is_number]))
  bad <- which(!is_number | is.na(probs) | probs < 0 | probs > 1)
  for (i in utils::head(bad, max_item_problems)) {
    problems$add(sprintf("%s.%d", field, i - 1L), if (is_number[[i]]) "must be between 0 and 1" else "must be a number")
  }
  if (problems$count() > before) {
    return(NULL)
  }
  I(probs)
}
