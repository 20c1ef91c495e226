# The Lua scripts of shared/lua, the very files the TypeScript side runs (shared/src/lua.ts), loaded
# at start. A script's file name ends with its number of keys (`finish-claim-10.lua`); a line
# `--@include <name>` stands for shared/lua/includes/<name>.lua with its trailing whitespace trimmed,
# each fragment once per script (a repeated include line becomes an empty line). The expanded text is
# byte for byte TypeScript's luaSource, so its SHA-1 is the digest in lua-digests.json.
#
# Scripts run with EVALSHA; when Redis does not know one (it restarted, a failover) the NOSCRIPT
# answer makes the call EVAL the source instead, which caches it again.

lua_include_pattern <- "(?m)^--@include ([a-z-]+)[ \t]*$"

read_text_file <- function(path) {
  size <- file.info(path)$size
  if (is.na(size)) stop(sprintf("cannot read %s", path), call. = FALSE)
  if (size == 0) return("")
  text <- readChar(path, size, useBytes = TRUE)
  Encoding(text) <- "UTF-8"
  text
}

# The script `name` (without .lua) of `lua_dir` with its includes expanded.
lua_source <- function(name, lua_dir = contracts()$lua_dir) {
  raw_text <- read_text_file(file.path(lua_dir, paste0(name, ".lua")))
  found <- gregexpr(lua_include_pattern, raw_text, perl = TRUE)[[1]]
  if (found[[1]] == -1) {
    return(raw_text)
  }
  starts <- as.integer(found)
  lengths <- attr(found, "match.length")
  capture_starts <- attr(found, "capture.start")[, 1]
  capture_lengths <- attr(found, "capture.length")[, 1]
  included <- character(0)
  pieces <- character(0)
  position <- 1L
  for (i in seq_along(starts)) {
    pieces <- c(pieces, substr(raw_text, position, starts[[i]] - 1L))
    include <- substr(raw_text, capture_starts[[i]], capture_starts[[i]] + capture_lengths[[i]] - 1L)
    if (!include %in% included) {
      included <- c(included, include)
      fragment <- read_text_file(file.path(lua_dir, "includes", paste0(include, ".lua")))
      pieces <- c(pieces, sub("[[:space:]]+$", "", fragment, perl = TRUE))
    }
    position <- starts[[i]] + lengths[[i]]
  }
  pieces <- c(pieces, substr(raw_text, position, nchar(raw_text)))
  text <- paste(pieces, collapse = "")
  Encoding(text) <- "UTF-8"
  text
}

lua_script_names <- function(lua_dir = contracts()$lua_dir) {
  sort(sub("[.]lua$", "", list.files(lua_dir, pattern = "[.]lua$")))
}

key_count_of <- function(name) {
  count <- suppressWarnings(as.integer(sub("^.*-", "", name)))
  if (is.na(count)) stop(sprintf("script %s: its name must end with its number of keys", name), call. = FALSE)
  count
}

# Every script, expanded, with the SHA-1 lua-digests.json gives it. `load(redis)` sends SCRIPT LOAD
# for each and keeps what Redis answers; it returns the names whose answer differs from the digest
# (an expansion that drifted from TypeScript's), which main.R reports.
new_lua_scripts <- function(lua_dir = contracts()$lua_dir, digests = contracts()$lua_digests$scripts) {
  scripts <- new.env(parent = emptyenv())
  for (name in lua_script_names(lua_dir)) {
    source <- lua_source(name, lua_dir)
    scripts[[name]] <- list(name = name, source = source, keys = key_count_of(name), sha = digests[[name]] %or% "")
  }
  get_script <- function(name) {
    script <- get0(name, envir = scripts, inherits = FALSE)
    if (is.null(script)) stop(sprintf("no Lua script %s in %s", name, lua_dir), call. = FALSE)
    script
  }
  load <- function(redis) {
    drifted <- character(0)
    for (name in ls(scripts, sorted = TRUE)) {
      script <- scripts[[name]]
      sha <- as_text(redis$command(list("SCRIPT", "LOAD", script$source), idempotent = TRUE))
      if (!identical(sha, script$sha)) drifted <- c(drifted, name)
      script$sha <- sha
      scripts[[name]] <- script
    }
    drifted
  }
  # Runs script `name` with `keys` and `args`. `idempotent`: it may be sent again after its answer was
  # lost (see redis_retry.R); the scripts that are (write-record, finish, retry) say so in their header.
  run <- function(redis, name, keys, args = list(), idempotent = FALSE) {
    script <- get_script(name)
    if (length(keys) != script$keys) stop(sprintf("script %s takes %d keys, not %d", name, script$keys, length(keys)), call. = FALSE)
    tail <- c(as.list(keys), args)
    if (nzchar(script$sha)) {
      reply <- tryCatch(
        redis$command(c(list("EVALSHA", script$sha, script$keys), tail), idempotent = idempotent),
        redis_reply_error = function(e) if (startsWith(conditionMessage(e), "NOSCRIPT")) NULL else stop(e)
      )
      if (!is.null(reply)) {
        return(reply)
      }
    }
    redis$command(c(list("EVAL", script$source, script$keys), tail), idempotent = idempotent)
  }
  list(names = function() ls(scripts, sorted = TRUE), script = get_script, load = load, run = run)
}

# A reply that is text, whichever client read it (the base-R client reads bulk strings as raw).
as_text <- function(reply) {
  if (is.raw(reply)) rawToChar(reply) else as.character(reply)
}

# A reply that is bytes (MessagePack), whichever client read it.
as_bytes <- function(reply) {
  if (is.raw(reply)) reply else charToRaw(as.character(reply))
}
