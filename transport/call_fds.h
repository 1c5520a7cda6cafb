// CallFds: the file descriptors that travel with one side's messages of a
// call (docs/PROTOCOL.md section 16), as ClientContext and ServerContext
// hand them to the application.
//
// Sending: AttachFd() gives a descriptor to the next message this side
// sends on the call, and returns the sockrpc.FileDescriptor to put in that
// message's field:
//
//   *reply->mutable_file() = context->AttachFd(std::move(file));
//
// The message then carries every descriptor attached since the one before
// it, in order; the runtime closes its copies once they are sent, and on
// every path where they are not (the call fails, the peer accepts none).
//
// Receiving: after each message read, TakeFd() hands out the descriptors
// of that message, each once, named by the message's fields:
//
//   absl::StatusOr<sockrpc::Fd> file = context->TakeFd(reply.file());
//
// Descriptors not taken are closed when the next message is read or the
// call ends.
//
// Not thread-safe: used from the thread that runs the call's reads and
// writes (or its reactions), like the messages themselves.
#ifndef SOCKRPC_TRANSPORT_CALL_FDS_H_
#define SOCKRPC_TRANSPORT_CALL_FDS_H_

#include <cstddef>
#include <vector>

#include "absl/status/statusor.h"
#include "sockrpc/fd.pb.h"
#include "sockrpc/transport/fd.h"

namespace sockrpc {

class CallFds {
 public:
  CallFds() = default;
  CallFds(CallFds&&) = default;
  CallFds& operator=(CallFds&&) = default;

  // Attaches `fd` to the next message sent; returns the field naming it.
  FileDescriptor Attach(Fd fd) {
    FileDescriptor field;
    field.set_index(static_cast<uint32_t>(to_send_.size()));
    to_send_.push_back(std::move(fd));
    return field;
  }
  // Descriptors attached and not yet sent.
  size_t attached() const { return to_send_.size(); }
  // For the runtime: the descriptors of the message being sent.
  std::vector<Fd> TakeAttached() { return std::move(to_send_); }

  // For the runtime: the descriptors of the message just read (closes the
  // untaken ones of the message before).
  void Received(std::vector<Fd> fds) { received_ = std::move(fds); }
  // Hands out the descriptor `field` names, of the message read last.
  // INVALID_ARGUMENT if the message came with no descriptor of that index,
  // FAILED_PRECONDITION if it was taken already.
  absl::StatusOr<Fd> Take(const FileDescriptor& field);
  // Descriptors that came with the message read last (taken or not).
  size_t received() const { return received_.size(); }

 private:
  std::vector<Fd> to_send_;
  std::vector<Fd> received_;
};

}  // namespace sockrpc

#endif  // SOCKRPC_TRANSPORT_CALL_FDS_H_
