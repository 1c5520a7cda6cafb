// Typed streams a streaming handler reads from and writes to.
//
// A handler receives a ServerReader (client-streaming), a ServerWriter
// (server-streaming) or a ServerReaderWriter (bidirectional), borrowed for
// the duration of the handler call. They wrap a ServerStream, which the
// runtime implements; handlers never see ServerStream directly.
//
// Flow control: Write() blocks while the client has not consumed enough
// of what was sent (see docs/PROTOCOL.md, "Flow control"). Read() blocks
// until a message arrives. Both return false once the call is over: the
// client half-closed (Read) or the call was cancelled, its deadline
// passed, or the client went away (both). Use one stream from one thread
// at a time; a Read() and a Write() may run on two threads at once.
//
// Each Write() is one write to the socket, unless given
// WriteOptions().set_buffer_hint(): then the message may wait in the call
// and leave with the messages after it (transport/write_options.h says
// when it leaves). A handler that streams a burst of messages writes all
// but the last with the hint: the burst leaves in a few large writes
// instead of one write per message.
#ifndef SOCKRPC_SERVER_SERVER_STREAM_H_
#define SOCKRPC_SERVER_SERVER_STREAM_H_

#include "google/protobuf/message_lite.h"
#include "sockrpc/transport/write_options.h"

namespace sockrpc {

// ServerStream is the untyped stream of one call, implemented by the
// runtime.
class ServerStream {
 public:
  virtual ~ServerStream() = default;
  // Reads the next request message into `message`. False at the end of the
  // client's messages, if the call ended, or if a message does not parse
  // (the call then ends with INTERNAL).
  virtual bool Read(google::protobuf::MessageLite* message) = 0;
  // Sends one reply message, first sending the initial metadata if it has
  // not gone yet; with the buffer hint, it may wait for the messages after
  // it. False if the call has ended (the message is dropped).
  virtual bool Write(const google::protobuf::MessageLite& message,
                     WriteOptions options) = 0;
  bool Write(const google::protobuf::MessageLite& message) {
    return Write(message, WriteOptions());
  }
  // Sends the initial metadata now (without a message), and any messages
  // waiting with the buffer hint. False if the call has ended. Optional:
  // Write() does it.
  virtual bool SendInitialMetadata() = 0;
};

// ServerReader reads a client-streaming call's requests.
template <typename Request>
class ServerReader {
 public:
  explicit ServerReader(ServerStream* stream) : stream_(stream) {}
  // Reads the next request; false when the client has sent its last one.
  bool Read(Request* request) { return stream_->Read(request); }
  bool SendInitialMetadata() { return stream_->SendInitialMetadata(); }

 private:
  ServerStream* const stream_;  // owned by the runtime
};

// ServerWriter writes a server-streaming call's replies.
template <typename Reply>
class ServerWriter {
 public:
  explicit ServerWriter(ServerStream* stream) : stream_(stream) {}
  // Sends one reply; false if the call has ended.
  bool Write(const Reply& reply) { return stream_->Write(reply); }
  bool Write(const Reply& reply, WriteOptions options) {
    return stream_->Write(reply, options);
  }
  bool SendInitialMetadata() { return stream_->SendInitialMetadata(); }

 private:
  ServerStream* const stream_;  // owned by the runtime
};

// ServerReaderWriter reads requests and writes replies of a bidirectional
// call, in any order.
template <typename Reply, typename Request>
class ServerReaderWriter {
 public:
  explicit ServerReaderWriter(ServerStream* stream) : stream_(stream) {}
  bool Read(Request* request) { return stream_->Read(request); }
  bool Write(const Reply& reply) { return stream_->Write(reply); }
  bool Write(const Reply& reply, WriteOptions options) {
    return stream_->Write(reply, options);
  }
  bool SendInitialMetadata() { return stream_->SendInitialMetadata(); }

 private:
  ServerStream* const stream_;  // owned by the runtime
};

}  // namespace sockrpc

#endif  // SOCKRPC_SERVER_SERVER_STREAM_H_
