/*
 * R has no way to handle SIGTERM from R code: by default the signal ends the process at once, so no
 * graceful shutdown. This gives SIGTERM the very handler R installed for SIGINT, so a SIGTERM becomes
 * an R `interrupt` condition, which main.R catches to stop accepting work and drain running tasks.
 * Built on first use by R/signals.R (R CMD SHLIB) and cached.
 */
#include <signal.h>
#include <Rinternals.h>

SEXP switchyard_sigterm_as_sigint(void) {
  struct sigaction sigint_action;
  if (sigaction(SIGINT, NULL, &sigint_action) != 0) return ScalarLogical(0);
  return ScalarLogical(sigaction(SIGTERM, &sigint_action, NULL) == 0);
}
