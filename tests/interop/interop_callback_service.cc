#include "tests/interop/interop_callback_service.h"

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "tests/interop/interop_service_helpers.h"

namespace sockrpc {
namespace interop {
namespace {

// EndsOnce: a reactor that ends its call with End(), which finishes it the
// first time only: whichever reaction gets there first (the client's last
// message, a failed write, OnCancel()) ends it, and the others see ended().
// ended_ is touched by the constructor and the reactions only, which never
// run at once, so it needs no lock.
template <typename Reactor>
class EndsOnce : public Reactor {
 public:
  void OnDone() override { delete this; }

 protected:
  bool ended() const { return ended_; }
  void End(absl::Status status) {
    if (ended_) return;
    ended_ = true;
    this->Finish(std::move(status));
  }

 private:
  bool ended_ = false;
};

// SleepCall: finished by its timer (OK), or by OnCancel() (the call ended
// for the client first). Exactly one of them finishes: OnCancel() finishes
// only if it took the timer back before it ran, and otherwise returns once
// the timer's Finish() has.
class Sleeper final : public ServerUnaryReactor {
 public:
  Sleeper(CallbackServerContext* context, TimerQueue* timers,
          absl::Duration sleep)
      : context_(context), timers_(timers) {
    timer_ = timers_->Schedule(absl::Now() + sleep,
                               [this] { Finish(absl::OkStatus()); });
  }
  void OnCancel() override {
    if (timers_->Cancel(timer_)) Finish(ClientGone(*context_));
  }
  void OnDone() override { delete this; }

 private:
  CallbackServerContext* const context_;  // the call's; alive until OnDone()
  TimerQueue* const timers_;              // the service's
  TimerQueue::Id timer_ = 0;  // set by the constructor, read by OnCancel()
};

// StreamingInputCall: reads every chunk, then replies with their count and
// total size.
class Uploader final : public EndsOnce<ServerReadReactor<UploadChunk>> {
 public:
  Uploader(CallbackServerContext* context, UploadSummary* reply)
      : context_(context), reply_(reply) {
    StartRead(&chunk_);
  }
  void OnReadDone(bool ok) override {
    if (ended()) return;
    if (ok) {
      total_ += chunk_.body().size();
      ++count_;
      StartRead(&chunk_);
      return;
    }
    if (context_->IsCancelled()) return End(ClientGone(*context_));
    reply_->set_total_size(total_);
    reply_->set_chunk_count(count_);
    End(absl::OkStatus());
  }
  void OnCancel() override { End(ClientGone(*context_)); }

 private:
  CallbackServerContext* const context_;
  UploadSummary* const reply_;  // the call's; alive until OnDone()
  UploadChunk chunk_;           // the read in flight
  uint64_t total_ = 0;
  uint32_t count_ = 0;
};

// StreamingOutputCall: for each requested reply, pauses (a timer) if asked,
// then writes it and waits for OnWriteDone() before the next, as the
// blocking form waits for each Write() to return; then ends with the
// requested status.
//
// The timer's callback only writes: it builds the reply, advances next_
// and starts the write, touching nothing after. The reactions do
// everything else. While a timer is pending no reaction but OnCancel()
// can run (nothing else is in flight), and OnCancel() cancels the timer
// first, which returns once its callback cannot run.
class Downloader final : public EndsOnce<ServerWriteReactor<StreamChunk>> {
 public:
  Downloader(CallbackServerContext* context, const DownloadRequest* request,
             TimerQueue* timers)
      : context_(context),
        request_(request),
        timers_(timers),
        pause_(PauseBeforeEachReply(*request)) {
    EchoMetadata(context);
    Next();
  }
  void OnWriteDone(bool ok) override {
    if (ended()) return;
    if (!ok) return End(ClientGone(*context_));
    Next();
  }
  void OnCancel() override {
    timers_->Cancel(timer_);
    End(ClientGone(*context_));
  }

 private:
  // Ends the call after the last reply; else sends the next, after the
  // pause if there is one.
  void Next() {
    if (next_ == request_->reply_sizes_size()) {
      return End(RequestedStatus(request_->echo_status()));
    }
    if (pause_ > absl::ZeroDuration()) {
      timer_ = timers_->Schedule(absl::Now() + pause_, [this] { Write(); });
    } else {
      Write();
    }
  }
  // Starts the write of the next reply; from then on its OnWriteDone() may
  // run, so nothing here touches the reactor after StartWrite().
  void Write() {
    const int index = next_++;
    const StreamChunk chunk =
        MakeChunk(static_cast<uint32_t>(index), request_->reply_sizes(index));
    StartWrite(&chunk);  // serialized now: `chunk` may go
  }

  CallbackServerContext* const context_;
  const DownloadRequest* const request_;  // the call's; alive until OnDone()
  TimerQueue* const timers_;
  const absl::Duration pause_;
  int next_ = 0;              // the reply to send next
  TimerQueue::Id timer_ = 0;  // the last pause's timer; 0 before the first
};

// FullDuplexCall: answers each request before reading the next (one read
// or one write in flight at a time, as the blocking form), or ends the
// call with the status a request asks for.
class FullDuplexer final
    : public EndsOnce<ServerBidiReactor<DuplexRequest, StreamChunk>> {
 public:
  explicit FullDuplexer(CallbackServerContext* context) : context_(context) {
    EchoMetadata(context);
    StartRead(&request_);
  }
  void OnReadDone(bool ok) override {
    if (ended()) return;
    if (!ok) {
      return End(context_->IsCancelled() ? ClientGone(*context_)
                                         : absl::OkStatus());
    }
    absl::Status requested = RequestedStatus(request_.echo_status());
    if (!requested.ok()) return End(std::move(requested));
    const StreamChunk chunk = MakeChunk(index_++, request_.reply_size());
    StartWrite(&chunk);
  }
  void OnWriteDone(bool ok) override {
    if (ended()) return;
    if (!ok) return End(ClientGone(*context_));
    StartRead(&request_);
  }
  void OnCancel() override { End(ClientGone(*context_)); }

 private:
  CallbackServerContext* const context_;
  DuplexRequest request_;  // the read in flight, then the one answered
  uint32_t index_ = 0;     // the next reply's index
};

// HalfDuplexCall: reads every request first, then answers them in order,
// one write in flight at a time, or ends the call with the status one of
// them asks for when its turn comes.
class HalfDuplexer final
    : public EndsOnce<ServerBidiReactor<DuplexRequest, StreamChunk>> {
 public:
  explicit HalfDuplexer(CallbackServerContext* context) : context_(context) {
    EchoMetadata(context);
    StartRead(&request_);
  }
  void OnReadDone(bool ok) override {
    if (ended()) return;
    if (ok) {
      requests_.push_back(request_);
      StartRead(&request_);
      return;
    }
    if (context_->IsCancelled()) return End(ClientGone(*context_));
    WriteNext();
  }
  void OnWriteDone(bool ok) override {
    if (ended()) return;
    if (!ok) return End(ClientGone(*context_));
    WriteNext();
  }
  void OnCancel() override { End(ClientGone(*context_)); }

 private:
  void WriteNext() {
    if (next_ == requests_.size()) return End(absl::OkStatus());
    const DuplexRequest& request = requests_[next_];
    absl::Status requested = RequestedStatus(request.echo_status());
    if (!requested.ok()) return End(std::move(requested));
    const StreamChunk chunk =
        MakeChunk(static_cast<uint32_t>(next_), request.reply_size());
    ++next_;
    StartWrite(&chunk);
  }

  CallbackServerContext* const context_;
  DuplexRequest request_;  // the read in flight
  std::vector<DuplexRequest> requests_;
  size_t next_ = 0;  // the request to answer next
};

}  // namespace

ServerUnaryReactor* InteropCallbackService::EmptyCall(
    CallbackServerContext* context, const Nothing* request, Nothing* reply) {
  ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(absl::OkStatus());
  return reactor;
}

ServerUnaryReactor* InteropCallbackService::UnaryCall(
    CallbackServerContext* context, const UnaryRequest* request,
    UnaryReply* reply) {
  EchoMetadata(context);
  ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(AnswerUnary(*request, reply));
  return reactor;
}

ServerUnaryReactor* InteropCallbackService::SleepCall(
    CallbackServerContext* context, const SleepRequest* request,
    Nothing* reply) {
  return new Sleeper(context, &timers_, SleepTime(*request));
}

ServerReadReactor<UploadChunk>* InteropCallbackService::StreamingInputCall(
    CallbackServerContext* context, UploadSummary* reply) {
  return new Uploader(context, reply);
}

ServerWriteReactor<StreamChunk>* InteropCallbackService::StreamingOutputCall(
    CallbackServerContext* context, const DownloadRequest* request) {
  return new Downloader(context, request, &timers_);
}

ServerBidiReactor<DuplexRequest, StreamChunk>*
InteropCallbackService::FullDuplexCall(CallbackServerContext* context) {
  return new FullDuplexer(context);
}

ServerBidiReactor<DuplexRequest, StreamChunk>*
InteropCallbackService::HalfDuplexCall(CallbackServerContext* context) {
  return new HalfDuplexer(context);
}

ServerUnaryReactor* InteropCallbackService::UnimplementedCall(
    CallbackServerContext* context, const Nothing* request, Nothing* reply) {
  // The generated blocking form's status, without a thread to run it on.
  ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(InteropTest::CallbackService::UnimplementedCall(
      context, *request, reply));
  return reactor;
}

}  // namespace interop
}  // namespace sockrpc
