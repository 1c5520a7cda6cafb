// Status propagation macros, defined once for the whole project (this Abseil
// release has no RETURN_IF_ERROR / ASSIGN_OR_RETURN of its own).
#ifndef SOCKRPC_TRANSPORT_STATUS_MACROS_H_
#define SOCKRPC_TRANSPORT_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// SOCKRPC_RETURN_IF_ERROR(expr): evaluates `expr` (an absl::Status) and
// returns it from the enclosing function unless it is OK.
#define SOCKRPC_RETURN_IF_ERROR(expr)                  \
  do {                                                 \
    ::absl::Status sockrpc_status_ = (expr);           \
    if (!sockrpc_status_.ok()) return sockrpc_status_; \
  } while (0)

// SOCKRPC_ASSIGN_OR_RETURN(lhs, expr): evaluates `expr` (an absl::StatusOr),
// returns its status on error, otherwise moves its value into `lhs`, which
// may be a declaration (`auto fd`).
#define SOCKRPC_ASSIGN_OR_RETURN(lhs, expr) \
  SOCKRPC_ASSIGN_OR_RETURN_IMPL_(           \
      SOCKRPC_STATUS_CONCAT_(sockrpc_statusor_, __LINE__), lhs, expr)

#define SOCKRPC_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                   \
  if (!statusor.ok()) return std::move(statusor).status();  \
  lhs = *std::move(statusor)

#define SOCKRPC_STATUS_CONCAT_(a, b) SOCKRPC_STATUS_CONCAT_INNER_(a, b)
#define SOCKRPC_STATUS_CONCAT_INNER_(a, b) a##b

#endif  // SOCKRPC_TRANSPORT_STATUS_MACROS_H_
