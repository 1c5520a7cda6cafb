// WriteOptions: how one streamed message is written, for the Write() of a
// server handler's stream (server/server_stream.h). A value type, copied
// freely, as gRPC's grpc::WriteOptions.
//
// The buffer hint: a message written with it may wait in its call's own
// buffer instead of leaving at once, so that messages written one after
// another leave together, in one write. What waits leaves, in order, with
// the next message written without the hint, when the call's window runs
// out (before Write() waits for the client), before the handler blocks in
// Read(), with the call's STATUS when the handler returns, or once about
// 64 KiB wait. It never leaves on a timer: a handler that writes with the
// hint and then waits for something else (a queue, a timer) delays those
// messages until one of the above. Use it for bursts whose last message
// is written without it, or for a stream whose end comes soon.
#ifndef SOCKRPC_TRANSPORT_WRITE_OPTIONS_H_
#define SOCKRPC_TRANSPORT_WRITE_OPTIONS_H_

namespace sockrpc {

class WriteOptions {
 public:
  WriteOptions() = default;

  // The message may wait to leave with the ones after it (see above).
  WriteOptions& set_buffer_hint() {
    buffer_hint_ = true;
    return *this;
  }
  WriteOptions& clear_buffer_hint() {
    buffer_hint_ = false;
    return *this;
  }
  bool get_buffer_hint() const { return buffer_hint_; }

 private:
  bool buffer_hint_ = false;
};

}  // namespace sockrpc

#endif  // SOCKRPC_TRANSPORT_WRITE_OPTIONS_H_
