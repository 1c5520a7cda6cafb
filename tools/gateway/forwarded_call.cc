#include "tools/gateway/forwarded_call.h"

#include <grpcpp/support/byte_buffer.h>

#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "client/client_callback.h"
#include "sockrpc/gateway/opaque.pb.h"

namespace sockrpc::gateway {
namespace {

// Request metadata a gRPC client's library adds for HTTP/2 and gRPC
// itself; the rest goes upstream as it came.
bool IsTransportMetadata(absl::string_view key) {
  return key.empty() || key[0] == ':' || absl::StartsWith(key, "grpc-") ||
         key == "user-agent" || key == "te" || key == "content-type";
}

std::string Flatten(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (!buffer.Dump(&slices).ok()) return bytes;
  bytes.reserve(buffer.Length());
  for (const grpc::Slice& slice : slices) {
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return bytes;
}

grpc::Status ToGrpc(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

class Call {
 public:
  Call(grpc::GenericCallbackServerContext* context, Channel* upstream)
      : down_(this), up_(this), context_(context) {
    if (context->deadline() != std::chrono::system_clock::time_point::max()) {
      up_context_.set_deadline(absl::FromChrono(context->deadline()));
    }
    for (const auto& [key, value] : context->client_metadata()) {
      absl::string_view k(key.data(), key.size());
      if (!IsTransportMetadata(k)) {
        up_context_.AddMetadata(k,
                                absl::string_view(value.data(), value.size()));
      }
    }
    upstream->BindReactor(&up_context_, context->method(), nullptr, nullptr,
                          &up_);
    // Held until the upstream has no more replies for us: its OnDone must
    // not come while replies wait unread.
    up_.AddHold();
    up_.StartRead(&reply_);
    up_.StartCall();
    down_.StartRead(&in_);
  }

  grpc::ServerGenericBidiReactor* reactor() { return &down_; }

 private:
  // gRPC's side: the client's messages in, the server's replies out.
  class Downstream : public grpc::ServerGenericBidiReactor {
   public:
    explicit Downstream(Call* call) : call_(call) {}
    void OnReadDone(bool ok) override { call_->RequestRead(ok); }
    void OnWriteDone(bool ok) override { call_->ReplyWritten(ok); }
    void OnCancel() override { call_->up_context_.TryCancel(); }
    void OnDone() override { call_->SideDone(); }

   private:
    Call* const call_;
  };

  // sockrpc's side: the requests out, the replies in.
  class Upstream : public ClientBidiReactor<Opaque, Opaque> {
   public:
    explicit Upstream(Call* call) : call_(call) {}
    void OnReadInitialMetadataDone(bool ok) override {
      call_->MetadataRead(ok);
    }
    void OnWriteDone(bool ok) override { call_->RequestWritten(ok); }
    void OnReadDone(bool ok) override { call_->ReplyRead(ok); }
    void OnDone(const absl::Status& status) override {
      call_->UpstreamDone(status);
    }

   private:
    Call* const call_;
  };

  // A gRPC message arrived (or the client half-closed): upstream with it.
  // On a gRPC thread, while the upstream may be ending on the loop thread:
  // mu_ is held across the check and the operation, so that it never
  // reaches an upstream call whose OnDone has run (it is deleted then).
  // (Holding mu_ into sockrpc is safe: its operations run no reaction.)
  void RequestRead(bool ok) {
    std::lock_guard<std::mutex> lock(mu_);
    if (upstream_done_) return;
    if (!ok) {
      up_.StartWritesDone();
      return;
    }
    if (!request_.ParseFromString(Flatten(in_))) {
      if (final_.ok()) {
        final_ = grpc::Status(grpc::StatusCode::INTERNAL,
                              "the gateway could not read a request message "
                              "(not protobuf's wire format)");
      }
      up_context_.TryCancel();  // the upstream ends; its OnDone finishes
      return;
    }
    up_.StartWrite(&request_);
  }

  // Upstream took the request: read the client's next one.
  void RequestWritten(bool ok) {
    if (ok) down_.StartRead(&in_);
  }

  void MetadataRead(bool ok) {
    if (!ok) return;
    bool any = false;
    for (const auto& [key, value] : up_context_.server_initial_metadata()) {
      if (IsTransportMetadata(key)) continue;
      context_->AddInitialMetadata(key, value);
      any = true;
    }
    if (any) down_.StartSendInitialMetadata();
  }

  // A reply came from upstream (or there are no more): to the client.
  void ReplyRead(bool ok) {
    if (!ok) {
      up_.RemoveHold();  // OnDone may come now
      return;
    }
    std::string bytes = reply_.SerializeAsString();
    grpc::Slice slice(std::move(bytes));
    out_ = grpc::ByteBuffer(&slice, 1);
    {
      std::lock_guard<std::mutex> lock(mu_);
      writing_ = true;
    }
    down_.StartWrite(&out_);
  }

  // The client took the reply: read the next one upstream, or finish if
  // the upstream ended meanwhile. (Until the upstream's last read, the
  // hold keeps its call alive: no lock is needed around up_ here.)
  void ReplyWritten(bool ok) {
    bool finish;
    {
      std::lock_guard<std::mutex> lock(mu_);
      writing_ = false;
      finish = upstream_done_;
    }
    if (finish) {
      FinishDownstream();
    } else if (ok) {
      up_.StartRead(&reply_);
    } else {
      up_context_.TryCancel();  // the client is gone
      up_.RemoveHold();
    }
  }

  void UpstreamDone(const absl::Status& status) {
    bool finish;
    {
      std::lock_guard<std::mutex> lock(mu_);
      upstream_done_ = true;
      if (final_.ok()) final_ = ToGrpc(status);
      finish = !writing_;
    }
    for (const auto& [key, value] : up_context_.server_trailing_metadata()) {
      if (!IsTransportMetadata(key)) context_->AddTrailingMetadata(key, value);
    }
    if (finish) FinishDownstream();
    SideDone();
  }

  void FinishDownstream() {
    grpc::Status status;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (finished_) return;
      finished_ = true;
      status = final_;
    }
    down_.Finish(std::move(status));
  }

  void SideDone() {
    bool last;
    {
      std::lock_guard<std::mutex> lock(mu_);
      last = --sides_left_ == 0;
    }
    if (last) delete this;
  }

  Downstream down_;
  Upstream up_;
  grpc::GenericCallbackServerContext* const context_;
  ClientContext up_context_;
  grpc::ByteBuffer in_;
  Opaque request_;
  Opaque reply_;
  grpc::ByteBuffer out_;

  std::mutex mu_;
  bool writing_ = false;        // a reply is being written to the client
  bool upstream_done_ = false;  // sockrpc's OnDone ran: up_ is gone
  bool finished_ = false;       // Finish() called
  grpc::Status final_;          // what Finish() sends
  int sides_left_ = 2;
};

}  // namespace

grpc::ServerGenericBidiReactor* ForwardCall(
    grpc::GenericCallbackServerContext* context, Channel* upstream) {
  return (new Call(context, upstream))->reactor();
}

}  // namespace sockrpc::gateway
