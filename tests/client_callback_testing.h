// The Meter service (a small callback service: request.sensor picks the
// behaviour), the client reactors that record what they saw, and the
// fixture that client_callback_test.cc shares: a real Server and Channel
// over a unix socket in a temp dir.
#ifndef SOCKRPC_TESTS_CLIENT_CALLBACK_TESTING_H_
#define SOCKRPC_TESTS_CLIENT_CALLBACK_TESTING_H_

#include <dirent.h>

#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "client/client_callback.h"
#include "client/client_context.h"
#include "client/client_streams.h"
#include "client/interceptor.h"
#include "gtest/gtest.h"
#include "server/server.h"
#include "server/server_callback.h"
#include "streaming.pb.h"
#include "streaming.sockrpc.pb.h"
#include "tests/testing/local_server.h"
#include "tests/testing/temp_dir.h"
#include "transport/sync.h"

namespace sockrpc::test::streaming {

using ::sockrpc::CallbackServerContext;
using ::sockrpc::Channel;
using ::sockrpc::ClientBidiReactor;
using ::sockrpc::ClientContext;
using ::sockrpc::ClientReadReactor;
using ::sockrpc::ClientWriteReactor;
using ::sockrpc::Mutex;
using ::sockrpc::MutexLock;
using ::sockrpc::ServerBidiReactor;
using ::sockrpc::ServerReadReactor;
using ::sockrpc::ServerUnaryReactor;
using ::sockrpc::ServerWriteReactor;
using ::sockrpc::testing::LocalServer;
using ::sockrpc::testing::TempDir;

// Bounds every wait; reached only when something is broken.
constexpr absl::Duration kTimeout = absl::Seconds(30);

// What the reactors (client and server) report, counted by name, for the
// test thread to wait on.
class Events {
 public:
  void Add(const std::string& event) {
    MutexLock lock(&mu_);
    ++counts_[event];
  }
  // Counts "done" and "done:<CODE>" for a call's final status.
  void Done(const absl::Status& status) {
    MutexLock lock(&mu_);
    ++counts_["done"];
    ++counts_[absl::StrCat("done:", absl::StatusCodeToString(status.code()))];
  }
  int count(const std::string& event) {
    MutexLock lock(&mu_);
    return counts_[event];
  }
  // Waits until `event` was counted `n` times; false after `timeout`.
  bool WaitFor(const std::string& event, int n = 1,
               absl::Duration timeout = kTimeout) {
    MutexLock lock(&mu_);
    return mu_.AwaitWithDeadline(
        [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return counts_[event] >= n; },
        absl::Now() + timeout);
  }

 private:
  Mutex mu_;
  std::map<std::string, int> counts_ ABSL_GUARDED_BY(mu_);
};

// ---- The server: request.sensor picks the behaviour ----

// "silent" calls: the server never answers; the reactor finishes only when
// the call is cancelled (by the client, its deadline or a disconnect).
class SilentUnary : public ServerUnaryReactor {
 public:
  explicit SilentUnary(Events* events) : events_(events) {
    events_->Add("server-silent");
  }
  void OnCancel() override { Finish(absl::CancelledError("cancelled")); }
  void OnDone() override {
    events_->Add("server-silent-done");
    delete this;
  }

 private:
  Events* const events_;
};

class SilentWatch : public ServerWriteReactor<Reading> {
 public:
  explicit SilentWatch(Events* events) : events_(events) {
    events_->Add("server-silent");
  }
  void OnCancel() override { Finish(absl::CancelledError("cancelled")); }
  void OnDone() override {
    events_->Add("server-silent-done");
    delete this;
  }

 private:
  Events* const events_;
};

// Watch: request.count readings with values 0, 1, ... at once (held by the
// client's window), then OK. "big" readings carry 10 KB each.
class Burst : public ServerWriteReactor<Reading> {
 public:
  explicit Burst(const WatchRequest& request) {
    Reading reading;
    if (request.sensor() == "big") reading.set_sensor(std::string(10000, 'r'));
    for (int i = 0; i < request.count(); ++i) {
      reading.set_value(i);
      StartWrite(&reading);  // serialized now
    }
    Finish(absl::OkStatus());
  }
  void OnDone() override { delete this; }
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

// Control: echoes each command's text as a reading's sensor; OK after the
// client's last.
class Echo : public ServerBidiReactor<Command, Reading> {
 public:
  Echo() { StartRead(&command_); }
  void OnReadDone(bool ok) override {
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
};

class TestMeter : public Meter::CallbackService {
 public:
  using Meter::CallbackService::Control;
  using Meter::CallbackService::Latest;
  using Meter::CallbackService::Record;
  using Meter::CallbackService::Watch;

  // Latest: "silent" never answers; "fail" is NOT_FOUND; otherwise the
  // reply is the sensor with request.count as its value.
  ServerUnaryReactor* Latest(CallbackServerContext* context,
                             const WatchRequest* request,
                             Reading* reply) override {
    if (request->sensor() == "silent") return new SilentUnary(&events_);
    ServerUnaryReactor* reactor = context->DefaultReactor();
    if (request->sensor() == "fail") {
      reactor->Finish(absl::NotFoundError("no sensor called fail"));
      return reactor;
    }
    reply->set_sensor(request->sensor());
    reply->set_value(request->count());
    reactor->Finish(absl::OkStatus());
    return reactor;
  }
  ServerWriteReactor<Reading>* Watch(CallbackServerContext* context,
                                     const WatchRequest* request) override {
    if (request->sensor() == "silent") return new SilentWatch(&events_);
    return new Burst(*request);
  }
  ServerReadReactor<Reading>* Record(CallbackServerContext* context,
                                     Summary* reply) override {
    return new Summer(reply);
  }
  ServerBidiReactor<Command, Reading>* Control(
      CallbackServerContext* context) override {
    return new Echo();
  }

  Events& events() { return events_; }

 private:
  Events events_;
};

// ---- Client reactors: each records what it saw in an Events ----

// Reads every reply of a Watch call, checking that they come in order and
// after the initial metadata. Starts its read before StartCall().
class Reader : public ClientReadReactor<Reading> {
 public:
  Reader(Meter::Stub* stub, const WatchRequest& request, Events* events,
         absl::Duration timeout = absl::InfiniteDuration())
      : events_(events), request_(request) {
    if (timeout != absl::InfiniteDuration()) context_.set_timeout(timeout);
    // request_ is serialized by StartCall(): it must live until then.
    stub->async()->Watch(&context_, &request_, this);
    StartRead(&reading_);
  }
  void Start() { StartCall(); }
  ClientContext& context() { return context_; }

  void OnReadInitialMetadataDone(bool ok) override {
    if (metadata_reported_ || reads_ > 0) events_->Add("error:metadata-late");
    metadata_reported_ = true;
    events_->Add(ok ? "metadata" : "no-metadata");
  }
  void OnReadDone(bool ok) override {
    if (!metadata_reported_) events_->Add("error:read-before-metadata");
    if (!ok) {
      events_->Add("read-end");
      return;
    }
    if (reading_.value() != reads_) events_->Add("error:out-of-order");
    ++reads_;
    events_->Add("read");
    StartRead(&reading_);
  }
  void OnDone(const absl::Status& status) override {
    events_->Done(status);
    delete this;
  }

 private:
  Events* const events_;
  const WatchRequest request_;
  ClientContext context_;
  Reading reading_;
  bool metadata_reported_ = false;
  int reads_ = 0;
};

// Sends `count` readings of `size` bytes (values 0, 1, ...) at once,
// beyond the server's window, then half-closes; checks the summary.
// `late` more writes, started after StartWritesDone(), must fail and
// count for nothing.
class Recorder : public ClientWriteReactor<Reading> {
 public:
  Recorder(Meter::Stub* stub, int count, size_t size, Events* events,
           int late = 0)
      : events_(events), count_(count) {
    stub->async()->Record(&context_, &summary_, this);
    Reading reading;
    reading.set_sensor(std::string(size, 'w'));
    for (int i = 0; i < count; ++i) {
      reading.set_value(i);
      StartWrite(&reading);  // serialized now: `reading` may change
    }
    StartWritesDone();
    reading.set_value(1000);
    for (int i = 0; i < late; ++i) StartWrite(&reading);
    StartCall();
  }
  void OnWriteDone(bool ok) override {
    events_->Add(ok ? "write" : "write-failed");
  }
  void OnWritesDoneDone(bool ok) override {
    events_->Add(ok ? "writes-done" : "writes-done-failed");
  }
  void OnDone(const absl::Status& status) override {
    if (status.ok() && (summary_.count() != count_ ||
                        summary_.total() != count_ * (count_ - 1) / 2.0)) {
      events_->Add("error:summary");
    }
    events_->Done(status);
    delete this;
  }

 private:
  Events* const events_;
  const int count_;
  ClientContext context_;
  Summary summary_;
};

// Sends `count` commands, each after the echo of the one before, then
// half-closes and reads to the end. Starts a second read at once at
// first, which must fail without disturbing the first.
class Chatter : public ClientBidiReactor<Command, Reading> {
 public:
  Chatter(Meter::Stub* stub, int count, Events* events)
      : events_(events), count_(count) {
    stub->async()->Control(&context_, this);
    StartRead(&reading_);
    StartRead(&second_);  // one read at a time: fails
    SendNext();
    StartCall();
  }
  void OnWriteDone(bool ok) override {
    events_->Add(ok ? "write" : "write-failed");
  }
  void OnWritesDoneDone(bool ok) override {
    events_->Add(ok ? "writes-done" : "writes-done-failed");
  }
  void OnReadInitialMetadataDone(bool ok) override {
    metadata_reported_ = true;
  }
  void OnReadDone(bool ok) override {
    // The refused read too comes after the metadata.
    if (!metadata_reported_) events_->Add("error:read-before-metadata");
    if (!refused_) {
      refused_ = true;
      events_->Add(ok ? "error:second-read-not-refused" : "refused");
      return;
    }
    if (!ok) {
      events_->Add("read-end");
      return;
    }
    if (reading_.sensor() != absl::StrCat("command ", echoed_)) {
      events_->Add("error:wrong-echo");
    }
    ++echoed_;
    events_->Add("read");
    SendNext();
    StartRead(&reading_);
  }
  void OnDone(const absl::Status& status) override {
    events_->Done(status);
    delete this;
  }

 private:
  void SendNext() {
    if (sent_ == count_) {
      StartWritesDone();
      return;
    }
    Command command;
    command.set_text(absl::StrCat("command ", sent_++));
    StartWrite(&command);
  }

  Events* const events_;
  const int count_;
  ClientContext context_;
  Reading reading_;
  Reading second_;
  bool metadata_reported_ = false;
  bool refused_ = false;
  int sent_ = 0;
  int echoed_ = 0;
};

// Calls that wait for the server, which waits for them: a bidi call with
// a read pending and a client-streaming call that sends nothing.
class IdleBidi : public ClientBidiReactor<Command, Reading> {
 public:
  IdleBidi(Meter::Stub* stub, Events* events) : events_(events) {
    stub->async()->Control(&context_, this);
    StartRead(&reading_);
    StartCall();
  }
  void OnReadDone(bool ok) override {
    events_->Add(ok ? "error:idle-read" : "read-end");
  }
  void OnDone(const absl::Status& status) override {
    events_->Done(status);
    delete this;
  }

 private:
  Events* const events_;
  ClientContext context_;
  Reading reading_;
};

class IdleWriter : public ClientWriteReactor<Reading> {
 public:
  IdleWriter(Meter::Stub* stub, Events* events) : events_(events) {
    stub->async()->Record(&context_, &summary_, this);
    StartCall();
  }
  void OnDone(const absl::Status& status) override {
    events_->Done(status);
    delete this;
  }

 private:
  Events* const events_;
  ClientContext context_;
  Summary summary_;
};

// A unary call's completion function that records the status and the
// reply's value (as "value:<n>"); owns the call's context and messages.
struct UnaryCall {
  ClientContext context;
  WatchRequest request;
  Reading reply;
};

inline void CallLatest(Meter::Stub& stub, const std::string& sensor, int value,
                       Events* events,
                       absl::Duration timeout = absl::InfiniteDuration()) {
  auto call = std::make_shared<UnaryCall>();
  call->request.set_sensor(sensor);
  call->request.set_count(value);
  if (timeout != absl::InfiniteDuration()) call->context.set_timeout(timeout);
  stub.async()->Latest(
      &call->context, &call->request, &call->reply,
      [call, events](absl::Status status) {
        if (status.ok()) {
          events->Add(
              absl::StrCat("value:", static_cast<int>(call->reply.value())));
        }
        events->Done(status);
      });
}

// The threads of this process: all of them, and the client event loops.
inline int CountThreads() {
  int count = 0;
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return -1;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(dir);
  return count;
}

inline int CountLoopThreads() {
  int count = 0;
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return -1;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    std::ifstream comm(
        absl::StrCat("/proc/self/task/", entry->d_name, "/comm"));
    std::string name;
    std::getline(comm, name);
    if (name == "sockrpc-client") ++count;  // ClientEventLoop::kThreadName
  }
  closedir(dir);
  return count;
}

class ClientCallbackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<LocalServer>> server =
        LocalServer::Start({&service_});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    channel_ = NewChannel();
    stub_ = std::make_unique<Meter::Stub>(channel_);
  }
  void TearDown() override {
    stub_.reset();
    channel_.reset();
    server_.reset();
  }
  std::shared_ptr<Channel> NewChannel(
      const ::sockrpc::ChannelOptions& options = {}) {
    absl::StatusOr<std::shared_ptr<Channel>> channel =
        server_->NewChannel(options);
    EXPECT_TRUE(channel.ok()) << channel.status();
    return *channel;
  }
  static WatchRequest Request(const std::string& sensor, int count) {
    WatchRequest request;
    request.set_sensor(sensor);
    request.set_count(count);
    return request;
  }

  TestMeter service_;
  std::unique_ptr<LocalServer> server_;
  std::shared_ptr<Channel> channel_;
  std::unique_ptr<Meter::Stub> stub_;
  Events events_;
};

}  // namespace sockrpc::test::streaming

#endif  // SOCKRPC_TESTS_CLIENT_CALLBACK_TESTING_H_
