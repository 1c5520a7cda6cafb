// The Meter service, reactors and fixture the callback server tests share
// (callback_server_test.cc: the rules of server/server_callback.h;
// callback_server_race_test.cc: races, shutdown and many open calls).
#ifndef SOCKRPC_TESTS_CALLBACK_SERVER_TESTING_H_
#define SOCKRPC_TESTS_CALLBACK_SERVER_TESTING_H_

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "client/client_context.h"
#include "client/client_streams.h"
#include "gtest/gtest.h"
#include "server/server.h"
#include "server/server_callback.h"
#include "sockrpc/reflection.sockrpc.pb.h"
#include "streaming.pb.h"
#include "streaming.sockrpc.pb.h"
#include "tests/testing/local_server.h"
#include "transport/sync.h"

namespace sockrpc::test::streaming {

using ::sockrpc::CallbackServerContext;
using ::sockrpc::ClientContext;
using ::sockrpc::ClientReader;
using ::sockrpc::Mutex;
using ::sockrpc::MutexLock;
using ::sockrpc::ServerBidiReactor;
using ::sockrpc::ServerContext;
using ::sockrpc::ServerOptions;
using ::sockrpc::ServerReadReactor;
using ::sockrpc::ServerUnaryReactor;
using ::sockrpc::ServerWriteReactor;
using ::sockrpc::ServerWriter;
using ::sockrpc::testing::LocalServer;

// Bounds every wait; reached only when something is broken.
inline constexpr absl::Duration kTimeout = absl::Seconds(30);

// Counts what the reactors report, for the tests to wait on.
class Probe {
 public:
  void Count(const std::string& event) {
    MutexLock lock(&mu_);
    ++counts_[event];
  }
  int count(const std::string& event) {
    MutexLock lock(&mu_);
    return counts_[event];
  }
  // Waits until `event` was counted `n` times; false after kTimeout.
  bool WaitFor(const std::string& event, int n) {
    MutexLock lock(&mu_);
    return mu_.AwaitWithDeadline(
        [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return counts_[event] >= n; },
        absl::Now() + kTimeout);
  }

 private:
  Mutex mu_;
  std::map<std::string, int> counts_ ABSL_GUARDED_BY(mu_);
};

// Watchers subscribed to events, as a daemon's event stream would keep
// them.
class Hub {
 public:
  void Add(ServerWriteReactor<Reading>* watcher) {
    MutexLock lock(&mu_);
    watchers_.push_back(watcher);
  }
  // False if `watcher` was gone already (Publish or FinishAll took it).
  bool Remove(ServerWriteReactor<Reading>* watcher) {
    MutexLock lock(&mu_);
    for (auto it = watchers_.begin(); it != watchers_.end(); ++it) {
      if (*it == watcher) {
        watchers_.erase(it);
        return true;
      }
    }
    return false;
  }
  size_t size() {
    MutexLock lock(&mu_);
    return watchers_.size();
  }
  void Publish(double value) {
    Reading event;
    event.set_sensor("event");
    event.set_value(value);
    MutexLock lock(&mu_);
    for (ServerWriteReactor<Reading>* watcher : watchers_) {
      watcher->StartWrite(&event);  // serialized now: `event` may go
    }
  }
  void FinishAll() {
    MutexLock lock(&mu_);  // Finish() runs no reaction: safe under the lock
    for (ServerWriteReactor<Reading>* watcher : watchers_) {
      watcher->Finish(absl::OkStatus());
    }
    watchers_.clear();
  }

 private:
  Mutex mu_;
  std::vector<ServerWriteReactor<Reading>*> watchers_ ABSL_GUARDED_BY(mu_);
};

// A unary reactor that reports its cancel and its end; with `finish_on_cancel`
// it finishes when cancelled, else never.
class CountingUnary : public ServerUnaryReactor {
 public:
  CountingUnary(Probe* probe, bool finish_on_cancel)
      : probe_(probe), finish_on_cancel_(finish_on_cancel) {
    probe_->Count("unary-started");
  }
  void OnCancel() override {
    probe_->Count("unary-cancel");
    if (finish_on_cancel_) Finish(absl::CancelledError("cancelled"));
  }
  void OnDone() override {
    probe_->Count("unary-done");
    delete this;
  }

 private:
  Probe* const probe_;
  const bool finish_on_cancel_;
};

// Watch: request.sensor picks the behaviour.
//   "burst":     request.count writes of 10 KB at once (one Reading object
//                reused), then Finish(OK) at once.
//   "subscribe": joins the hub; the test publishes and finishes.
//   "after-finish": Finish(OK), then a write that must fail.
//   "cancel":    waits; finishes when cancelled.
//   "never":     waits, and never finishes.
class Watcher : public ServerWriteReactor<Reading> {
 public:
  Watcher(Probe* probe, Hub* hub, const WatchRequest& request)
      : probe_(probe), hub_(hub), mode_(request.sensor()) {
    if (mode_ == "burst") {
      Reading reading;
      reading.set_sensor(std::string(10000, 'r'));
      for (int i = 0; i < request.count(); ++i) {
        reading.set_value(i);
        StartWrite(&reading);
      }
      Finish(absl::OkStatus());
    } else if (mode_ == "subscribe") {
      hub_->Add(this);
    } else if (mode_ == "after-finish") {
      Finish(absl::OkStatus());
      Reading late;
      StartWrite(&late);
    }
    probe_->Count("watch-started");
  }
  void OnWriteDone(bool ok) override {
    probe_->Count(ok ? "write-ok" : "write-failed");
  }
  void OnCancel() override {
    probe_->Count("watch-cancel");
    if (mode_ == "subscribe" && !hub_->Remove(this)) return;  // finished
    if (mode_ != "never") Finish(absl::CancelledError("cancelled"));
  }
  void OnDone() override {
    probe_->Count("watch-done");
    delete this;
  }

 private:
  Probe* const probe_;
  Hub* const hub_;
  const std::string mode_;
};

// Record: adds up the readings until the client's last.
class Summer : public ServerReadReactor<Reading> {
 public:
  explicit Summer(Summary* reply) : reply_(reply) { StartRead(&reading_); }
  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(absl::OkStatus());
      return;
    }
    reply_->set_count(reply_->count() + 1);
    reply_->set_total(reply_->total() + reading_.value());
    StartRead(&reading_);
  }
  void OnDone() override { delete this; }

 private:
  Summary* const reply_;
  Reading reading_;
};

// Control: starts two reads at once, so the second fails at once and says
// "refused"; then echoes each command, and finishes after the client's
// last.
class Echo : public ServerBidiReactor<Command, Reading> {
 public:
  Echo() {
    StartRead(&command_);
    StartRead(&second_);  // one read at a time: fails at once
  }
  void OnReadDone(bool ok) override {
    if (!refused_) {
      refused_ = true;
      Reading refused;
      refused.set_sensor(ok ? "not refused" : "refused");
      StartWrite(&refused);
      return;
    }
    if (!ok) {
      Finish(absl::OkStatus());
      return;
    }
    Reading echo;
    echo.set_sensor(command_.text());
    StartWrite(&echo);
    StartRead(&command_);
  }
  void OnDone() override { delete this; }

 private:
  Command command_;
  Command second_;
  bool refused_ = false;
};

// The service: request.sensor picks each method's behaviour.
class TestMeter : public Meter::CallbackService {
 public:
  using Meter::CallbackService::Latest;
  using Meter::CallbackService::Watch;

  ServerUnaryReactor* Latest(CallbackServerContext* context,
                             const WatchRequest* request,
                             Reading* reply) override {
    const std::string& mode = request->sensor();
    if (mode == "blocking" || mode == "block") {
      return nullptr;  // the blocking form, please
    }
    if (mode == "cancel" || mode == "never") {
      return new CountingUnary(&probe_, mode == "cancel");
    }
    if (mode == "race") {
      // Finished by another thread at once (FinishRacing()), racing the
      // client's cancel and deadline.
      reply->set_value(request->count());
      return new RacingUnary(this);
    }
    reply->set_sensor(mode);
    ServerUnaryReactor* reactor = context->DefaultReactor();
    if (mode == "later") {
      MutexLock lock(&mu_);
      later_.push_back({reactor, reply});
      probe_.Count("later-started");
    } else if (mode == "twice") {
      reply->set_value(1);
      reactor->Finish(absl::OkStatus());
      reactor->Finish(absl::InternalError("second Finish"));
    } else if (mode == "fail") {
      reactor->Finish(absl::NotFoundError("no sensor called fail"));
    } else {
      reply->set_value(1);
      reactor->Finish(absl::OkStatus());
    }
    return reactor;
  }
  absl::Status Latest(ServerContext* context, const WatchRequest& request,
                      Reading* reply) override {
    if (request.sensor() == "block") {  // holds its slot until cancelled
      probe_.Count("block-started");
      const bool cancelled =
          context->WaitForCancellation(absl::Now() + kTimeout);
      probe_.Count("block-ended");
      return cancelled ? absl::CancelledError("cancelled")
                       : absl::DeadlineExceededError("never cancelled");
    }
    reply->set_sensor("blocking form");
    reply->set_value(42);
    return absl::OkStatus();
  }
  ServerWriteReactor<Reading>* Watch(CallbackServerContext* context,
                                     const WatchRequest* request) override {
    if (request->sensor() == "blocking") return nullptr;
    return new Watcher(&probe_, &hub_, *request);
  }
  // Writes request.count readings numbered from 0.
  absl::Status Watch(ServerContext* context, const WatchRequest& request,
                     ServerWriter<Reading>* writer) override {
    Reading reading;
    reading.set_sensor("blocking form");
    for (int i = 0; i < request.count(); ++i) {
      reading.set_value(i);
      if (!writer->Write(reading)) return absl::CancelledError("gone");
    }
    return absl::OkStatus();
  }
  ServerReadReactor<Reading>* Record(CallbackServerContext* context,
                                     Summary* reply) override {
    return new Summer(reply);
  }
  ServerBidiReactor<Command, Reading>* Control(
      CallbackServerContext* context) override {
    return new Echo();
  }

  // Finishes every "later" call from the calling thread with `value`.
  void FinishLater(double value) {
    MutexLock lock(&mu_);
    for (auto& [reactor, reply] : later_) {
      reply->set_value(value);
      reactor->Finish(absl::OkStatus());
    }
    later_.clear();
  }

  // Finishes the "race" calls started so far; returns how many. Each is
  // taken off the list under the lock and finished after it, as a reactor
  // finished by a thread of its own would be: OnDone() (and the reactor's
  // delete) may then run on a server thread while Finish() returns here.
  int FinishRacing() {
    std::vector<ServerUnaryReactor*> taken;
    {
      MutexLock lock(&mu_);
      taken.swap(racing_);
    }
    for (ServerUnaryReactor* reactor : taken) {
      reactor->Finish(absl::OkStatus());
    }
    return static_cast<int>(taken.size());
  }

  Probe& probe() { return probe_; }
  Hub& hub() { return hub_; }

 private:
  // A "race" call's reactor: listed for FinishRacing(); if cancelled while
  // still listed, it takes itself off and finishes itself. Whoever takes
  // it off the list calls Finish(), once.
  class RacingUnary : public ServerUnaryReactor {
   public:
    explicit RacingUnary(TestMeter* service) : service_(service) {
      service_->probe_.Count("unary-started");
      MutexLock lock(&service_->mu_);
      service_->racing_.push_back(this);
    }
    void OnCancel() override {
      bool listed;
      {
        MutexLock lock(&service_->mu_);
        auto& racing = service_->racing_;
        auto it = std::find(racing.begin(), racing.end(), this);
        listed = it != racing.end();
        if (listed) racing.erase(it);
      }
      // Not listed: FinishRacing() took it and finishes it.
      if (listed) Finish(absl::CancelledError("cancelled"));
    }
    void OnDone() override {
      service_->probe_.Count("unary-done");
      delete this;
    }

   private:
    TestMeter* const service_;
  };

  Probe probe_;
  Hub hub_;
  Mutex mu_;
  std::vector<std::pair<ServerUnaryReactor*, Reading*>> later_
      ABSL_GUARDED_BY(mu_);
  std::vector<ServerUnaryReactor*> racing_ ABSL_GUARDED_BY(mu_);
};

class CallbackServerTest : public ::testing::Test {
 protected:
  void StartServer(ServerOptions options = ServerOptions()) {
    options.log = [this](absl::string_view line) {
      MutexLock lock(&log_mu_);
      log_.push_back(std::string(line));
    };
    absl::StatusOr<std::unique_ptr<LocalServer>> server =
        LocalServer::Start({&service_}, std::move(options));
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    stub_ = NewStub();
  }
  std::unique_ptr<Meter::Stub> NewStub() {
    absl::StatusOr<std::shared_ptr<::sockrpc::Channel>> channel =
        server_->NewChannel();
    EXPECT_TRUE(channel.ok()) << channel.status();
    return std::make_unique<Meter::Stub>(*channel);
  }
  void TearDown() override {
    stub_.reset();
    server_.reset();
  }
  // Waits until a log line contains `text`; false after `wait`.
  bool Logged(absl::string_view text, absl::Duration wait = kTimeout) {
    MutexLock lock(&log_mu_);
    return log_mu_.AwaitWithDeadline(
        [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
          for (const std::string& line : log_) {
            if (absl::StrContains(line, text)) return true;
          }
          return false;
        },
        absl::Now() + wait);
  }
  static WatchRequest Mode(const std::string& mode, int count = 0) {
    WatchRequest request;
    request.set_sensor(mode);
    request.set_count(count);
    return request;
  }

  TestMeter service_;
  std::unique_ptr<LocalServer> server_;
  std::unique_ptr<Meter::Stub> stub_;
  Mutex log_mu_;
  std::vector<std::string> log_ ABSL_GUARDED_BY(log_mu_);
};

}  // namespace sockrpc::test::streaming

#endif  // SOCKRPC_TESTS_CALLBACK_SERVER_TESTING_H_
