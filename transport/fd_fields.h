// Finding sockrpc.FileDescriptor fields in a message, to match them with
// the descriptors that came with it (docs/PROTOCOL.md section 16.3).
//
// Thread-safe: pure functions.
#ifndef SOCKRPC_TRANSPORT_FD_FIELDS_H_
#define SOCKRPC_TRANSPORT_FD_FIELDS_H_

#include <vector>

#include "absl/status/status.h"
#include "google/protobuf/message_lite.h"
#include "transport/fd.h"

namespace sockrpc {

// MatchFdFields checks every sockrpc.FileDescriptor in `message` (fields,
// repeated, nested, oneofs, map values) against the `*fds` that came with
// it: an index not below fds->size() is INVALID_ARGUMENT ("file descriptor
// index N, but the message came with M"). Descriptors that no field names
// are closed (their slots stay, invalid). A message without reflection
// (a lite message) is not looked into; a dynamic message's fields of type
// sockrpc.FileDescriptor count as the generated type's.
absl::Status MatchFdFields(const google::protobuf::MessageLite& message,
                           std::vector<Fd>* fds);

}  // namespace sockrpc

#endif  // SOCKRPC_TRANSPORT_FD_FIELDS_H_
