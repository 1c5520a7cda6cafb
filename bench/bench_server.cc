// bench_server: serves the benchmark services (bench.proto's Bench with
// blocking handlers, events.proto's Events through the callback API) until
// SIGTERM, SIGINT or SIGHUP. Started by the benchmark runner as a separate
// process.
//
//   bench_server --listen ADDR [--listen ADDR...] [--max_threads N] [--stats]
//                [--callback]
//   bench_server --load-only
//
// --max_threads sets ServerOptions::max_threads (the open-streams rows fill
// a small pool with Events.Block calls); --stats turns the stats service on
// (the "stats on" row measures what counting costs a call); --callback
// serves Bench through the callback API instead of blocking handlers (the
// "callback API" rows).
// --load-only makes no server: the process stops as loaded (its shared
// libraries mapped and relocated, static initializers run), says "ready"
// and waits for a stop signal. Its RSS is the floor of the idle-memory
// rows: what the same program costs before the server does anything.
//
// Prints "ready ADDR..." (the bound addresses, real ports included) on one
// line of standard output once it serves, so that the runner knows when
// and where to connect.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench.sockrpc.pb.h"
#include "events_service.h"
#include "server/server.h"

namespace {

class BenchService final : public sockrpc::bench::Bench::Service {
 public:
  absl::Status Echo(sockrpc::ServerContext* context,
                    const sockrpc::bench::Payload& request,
                    sockrpc::bench::Payload* reply) override {
    *reply = request;
    return absl::OkStatus();
  }

  absl::Status Stream(
      sockrpc::ServerContext* context,
      const sockrpc::bench::StreamRequest& request,
      sockrpc::ServerWriter<sockrpc::bench::Payload>* writer) override {
    sockrpc::bench::Payload message;
    message.set_body(std::string(request.size(), 'x'));
    sockrpc::WriteOptions options;
    for (uint32_t i = 0; i < request.count(); ++i) {
      if (request.buffer_hint() && i + 1 < request.count()) {
        options.set_buffer_hint();
      } else {
        options.clear_buffer_hint();
      }
      if (!writer->Write(message, options)) break;
    }
    return absl::OkStatus();
  }
};

// The same service through the callback API (--callback): the handlers
// return reactors and hold no thread. What the "callback API" rows compare
// with BenchService (callback_rows.cc).
class CallbackBenchService final
    : public sockrpc::bench::Bench::CallbackService {
 public:
  sockrpc::ServerUnaryReactor* Echo(sockrpc::CallbackServerContext* context,
                                    const sockrpc::bench::Payload* request,
                                    sockrpc::bench::Payload* reply) override {
    *reply = *request;
    sockrpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(absl::OkStatus());
    return reactor;
  }

  sockrpc::ServerWriteReactor<sockrpc::bench::Payload>* Stream(
      sockrpc::CallbackServerContext* context,
      const sockrpc::bench::StreamRequest* request) override {
    return new StreamWriter(*request);
  }

 private:
  // Writes request.count() messages, the next once the last is done (as
  // gRPC's callback API allows), all but the last with the buffer hint if
  // asked; the last one with the STATUS.
  class StreamWriter final
      : public sockrpc::ServerWriteReactor<sockrpc::bench::Payload> {
   public:
    explicit StreamWriter(const sockrpc::bench::StreamRequest& request)
        : left_(request.count()), buffer_hint_(request.buffer_hint()) {
      message_.set_body(std::string(request.size(), 'x'));
      WriteNext();
    }
    void OnWriteDone(bool ok) override {
      if (ok) {
        WriteNext();
      } else if (!finished_) {  // the client is gone
        finished_ = true;
        Finish(absl::CancelledError("the stream was cut"));
      }
    }
    void OnDone() override { delete this; }

   private:
    void WriteNext() {
      if (finished_) return;
      if (left_ <= 1) {
        finished_ = true;
        if (left_ == 1) {
          StartWriteAndFinish(&message_, absl::OkStatus());
        } else {
          Finish(absl::OkStatus());
        }
        return;
      }
      --left_;
      sockrpc::WriteOptions options;
      if (buffer_hint_) options.set_buffer_hint();
      StartWrite(&message_, options);
    }

    sockrpc::bench::Payload message_;
    uint32_t left_;
    const bool buffer_hint_;
    bool finished_ = false;
  };
};

}  // namespace

constexpr char kUsage[] =
    "usage: bench_server --listen ADDR... [--max_threads N] [--stats]\n"
    "                    [--callback]\n"
    "                    [--tls_cert FILE --tls_key FILE]\n"
    "       bench_server --load-only\n";

int main(int argc, char** argv) {
  std::vector<std::string> addresses;
  int max_threads = 0;  // 0: the default
  bool stats = false;
  bool callback = false;
  bool load_only = false;
  std::string tls_cert;
  std::string tls_key;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
      addresses.push_back(argv[++i]);
    } else if (std::strcmp(argv[i], "--max_threads") == 0 && i + 1 < argc &&
               std::atoi(argv[i + 1]) > 0) {
      max_threads = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--stats") == 0) {
      stats = true;
    } else if (std::strcmp(argv[i], "--callback") == 0) {
      callback = true;
    } else if (std::strcmp(argv[i], "--load-only") == 0) {
      load_only = true;
    } else if (std::strcmp(argv[i], "--tls_cert") == 0 && i + 1 < argc) {
      tls_cert = argv[++i];
    } else if (std::strcmp(argv[i], "--tls_key") == 0 && i + 1 < argc) {
      tls_key = argv[++i];
    } else {
      std::fprintf(stderr, "%s", kUsage);
      return 2;
    }
  }
  if (addresses.empty() == !load_only) {
    std::fprintf(stderr, "%s", kUsage);
    return 2;
  }

  // SIGTERM/SIGINT are taken synchronously by main's sigwait below; block
  // them before any server thread starts so every thread inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  int signal_number = 0;
  if (load_only) {
    std::printf("ready\n");
    std::fflush(stdout);
    sigwait(&stop_signals, &signal_number);
    return 0;
  }

  BenchService blocking_service;
  CallbackBenchService callback_service;
  sockrpc::Service* service = &blocking_service;
  if (callback) service = &callback_service;
  sockrpc::bench::EventsService events;
  sockrpc::ServerOptions options;
  options.log = [](absl::string_view) {};  // the runner opens and drops
                                           // many connections on purpose
  if (max_threads > 0) options.max_threads = max_threads;
  options.enable_stats_service = stats;
  if (!tls_cert.empty()) {
    options.tls.emplace();
    options.tls->certificate_file = tls_cert;
    options.tls->private_key_file = tls_key;
  }
  // The full-pool rows time PINGs, back to back on one connection.
  options.min_time_between_pings = absl::ZeroDuration();
  sockrpc::Server server(options);
  for (sockrpc::Service* each :
       std::vector<sockrpc::Service*>{service, &events}) {
    if (absl::Status s = server.RegisterService(each); !s.ok()) {
      std::fprintf(stderr, "bench_server: %s\n", s.ToString().c_str());
      return 1;
    }
  }
  std::string bound;
  for (const std::string& address : addresses) {
    absl::StatusOr<std::string> listening = server.Listen(address);
    if (!listening.ok()) {
      std::fprintf(stderr, "bench_server: %s\n",
                   listening.status().ToString().c_str());
      return 1;
    }
    bound += " " + *listening;
  }
  if (absl::Status s = server.Start(); !s.ok()) {
    std::fprintf(stderr, "bench_server: %s\n", s.ToString().c_str());
    return 1;
  }
  std::printf("ready%s\n", bound.c_str());
  std::fflush(stdout);

  sigwait(&stop_signals, &signal_number);
  // Bounded: open Subscribe calls and Block handlers never end by
  // themselves; Shutdown() cancels what is still open after a second.
  server.Shutdown(absl::Now() + absl::Seconds(1));
  return 0;
}
