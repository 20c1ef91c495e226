# The facts the R worker shares with TypeScript, read once at start from the JSON contracts that
# `npm run contracts -w @switchyard/shared` generates (shared/contracts/*.json), and the Lua scripts
# of shared/lua (lua.R). Nothing of them is copied into R: limits, patterns, states, record fields,
# statuses, the error table, script codes, key templates and task defaults all come from here.
#
# shared/ is found beside r-worker/ (`<r-worker dir>/../shared`), or where SWITCHYARD_SHARED_DIR
# points. main.R (and the tests' helper) call use_contracts(load_contracts(dir)) before anything else.

contract_files <- c(
  rules = "rules.json",
  key_layout = "key-layout.json",
  tasks = "tasks.json",
  lua_digests = "lua-digests.json"
)

shared_dir_for <- function(worker_dir, override = "") {
  if (!is.na(override) && nzchar(override)) override else file.path(worker_dir, "..", "shared")
}

# Reads every contract; a missing or unreadable file is an error naming it.
load_contracts <- function(shared_dir) {
  shared_dir <- normalizePath(shared_dir, mustWork = FALSE)
  read_one <- function(file) {
    path <- file.path(shared_dir, "contracts", file)
    if (!file.exists(path)) {
      stop(sprintf("the shared contract %s is missing (is SWITCHYARD_SHARED_DIR right?)", path), call. = FALSE)
    }
    tryCatch(
      jsonlite::read_json(path, simplifyVector = FALSE),
      error = function(e) stop(sprintf("the shared contract %s is not valid JSON: %s", path, conditionMessage(e)), call. = FALSE)
    )
  }
  loaded <- lapply(contract_files, read_one)
  loaded$dir <- shared_dir
  loaded$lua_dir <- file.path(shared_dir, "lua")
  if (!dir.exists(loaded$lua_dir)) stop(sprintf("the shared Lua scripts %s are missing", loaded$lua_dir), call. = FALSE)
  loaded
}

loaded_contracts <- new.env(parent = emptyenv())

use_contracts <- function(contracts) {
  loaded_contracts$value <- contracts
  invisible(contracts)
}

contracts <- function() {
  value <- loaded_contracts$value
  if (is.null(value)) stop("the shared contracts are not loaded (call use_contracts(load_contracts(dir)) first)", call. = FALSE)
  value
}

# Shorthands for what the code reads most.
shared_rules <- function() contracts()$rules
record_fields <- function() unlist(shared_rules()$record_fields)
terminal_states <- function() unlist(shared_rules()$terminal_states)
record_status <- function(name) shared_rules()$record_status[[name]]
script_codes <- function() unlist(shared_rules()$script_codes)
