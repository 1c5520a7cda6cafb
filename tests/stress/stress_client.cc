// stress_client: a mixed load against an interop_server in which every
// reply is checked. Used by the stress test (a ctest against the current
// build), by `./build.sh soak` and by `./build.sh skew` (a client of one
// version against a server of another).
//
//   stress_client --target ADDRESS [--workers 64] [--duration 10s]
//                 [--churn] [--hostile N] [--seed S]
//
// Each of --workers threads has its own channel and, until --duration is
// over, makes one call after another, each picked at random among: unary
// calls of 0 B to nearly 1 MiB each way with metadata echoed back; a call ending
// with a requested status code; server, client and bidirectional streams;
// a stream cancelled in its middle; a call whose deadline passes in the
// server. Every reply is checked: sizes, fingerprints and patterns,
// indices, echoed metadata, status codes and messages.
//
// --churn: a worker replaces its channel (a new connection) every few
// calls. --hostile N: N more threads play hostile peers on raw sockets (a
// bad preface, a preface never finished, calls pipelined and never read,
// a frame header announcing 2 GiB, a disconnect in the middle of a frame),
// each time followed by a call on a fresh channel that must succeed.
//
// Prints one summary line:
//   calls C ok O expected_errors E unexpected_errors U wrong W hangs H
//   hostile K
// (a "hang" is a call that outlived its deadline by more than
// kHangMargin, or a worker still busy kHangMargin after --duration) and
// the first few failures, then exits 0 only if U, W and H are all zero, 1
// otherwise, 2 for bad flags.
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "client/client_context.h"
#include "examples/common/program_flags.h"
#include "interop.pb.h"
#include "interop.sockrpc.pb.h"
#include "sockrpc/wire.pb.h"
#include "tests/interop/interop_common.h"
#include "transport/address.h"
#include "transport/frame.h"
#include "transport/socket.h"
#include "transport/sync.h"
#include "transport/wire_codec.h"

ABSL_FLAG(std::string, target, "", "the interop_server's address");
ABSL_FLAG(int, workers, 64, "threads making calls, each on its own channel");
ABSL_FLAG(absl::Duration, duration, absl::Seconds(10), "how long to run");
ABSL_FLAG(bool, churn, false, "replace each worker's channel now and then");
ABSL_FLAG(int, hostile, 0, "threads playing hostile peers");
ABSL_FLAG(uint32_t, seed, 1, "seed of the random choices");

namespace {

using ::sockrpc::Channel;
using ::sockrpc::ClientContext;
using ::sockrpc::interop::CheckPattern;
using ::sockrpc::interop::DownloadRequest;
using ::sockrpc::interop::DuplexRequest;
using ::sockrpc::interop::Fingerprint;
using ::sockrpc::interop::InteropTest;
using ::sockrpc::interop::kEchoInitialKey;
using ::sockrpc::interop::kEchoTrailingKey;
using ::sockrpc::interop::Nothing;
using ::sockrpc::interop::Pattern;
using ::sockrpc::interop::SleepRequest;
using ::sockrpc::interop::StreamChunk;
using ::sockrpc::interop::UnaryReply;
using ::sockrpc::interop::UnaryRequest;
using ::sockrpc::interop::UploadChunk;
using ::sockrpc::interop::UploadSummary;

// Every call's deadline, and how far past it a call counts as hung.
constexpr absl::Duration kCallDeadline = absl::Seconds(20);
constexpr absl::Duration kHangMargin = absl::Seconds(5);
// --churn: a new channel every this many calls, on average.
constexpr int kCallsPerChannel = 25;
// Failures printed in full; the rest are only counted.
constexpr int kFailuresShown = 10;

// What one call came to.
enum class Outcome {
  kOk,              // succeeded, reply checked
  kExpectedError,   // failed as asked (a status, a cancel, a deadline)
  kUnexpectedError, // failed when it should not have
  kWrong,           // "succeeded" with a wrong reply or the wrong status
};

class Tally {
 public:
  void Count(Outcome outcome, absl::Duration took, const std::string& what) {
    calls_.fetch_add(1);
    switch (outcome) {
      case Outcome::kOk:
        ok_.fetch_add(1);
        break;
      case Outcome::kExpectedError:
        expected_errors_.fetch_add(1);
        break;
      case Outcome::kUnexpectedError:
        unexpected_errors_.fetch_add(1);
        Show("unexpected error", what);
        break;
      case Outcome::kWrong:
        wrong_.fetch_add(1);
        Show("wrong reply", what);
        break;
    }
    if (took > kCallDeadline + kHangMargin) {
      hangs_.fetch_add(1);
      Show("hang", absl::StrCat(what, " took ", absl::FormatDuration(took)));
    }
  }
  void CountHostile() { hostile_.fetch_add(1); }
  void CountHungWorkers(int workers) { hangs_.fetch_add(workers); }

  bool Clean() const {
    return unexpected_errors_.load() == 0 && wrong_.load() == 0 &&
           hangs_.load() == 0;
  }
  std::string Summary() const {
    return absl::StrCat("calls ", calls_.load(), " ok ", ok_.load(),
                        " expected_errors ", expected_errors_.load(),
                        " unexpected_errors ", unexpected_errors_.load(),
                        " wrong ", wrong_.load(), " hangs ", hangs_.load(),
                        " hostile ", hostile_.load());
  }

 private:
  void Show(const char* kind, const std::string& what) {
    if (shown_.fetch_add(1) >= kFailuresShown) return;
    std::fprintf(stderr, "stress_client: %s: %s\n", kind, what.c_str());
  }
  std::atomic<uint64_t> calls_{0}, ok_{0}, expected_errors_{0},
      unexpected_errors_{0}, wrong_{0}, hangs_{0}, hostile_{0};
  std::atomic<int> shown_{0};
};

// A call's result: its outcome and, when not kOk, what went wrong.
struct Result {
  Outcome outcome = Outcome::kOk;
  std::string detail;
};
Result Ok() { return {}; }
Result Wrong(std::string why) { return {Outcome::kWrong, std::move(why)}; }
Result Unexpected(const absl::Status& status) {
  return {Outcome::kUnexpectedError, status.ToString()};
}
Result Expected() { return {Outcome::kExpectedError, ""}; }

// The size of a message body, weighted towards small ones.
uint32_t PickSize(std::mt19937& random) {
  static constexpr uint32_t kSizes[] = {0,    1,     7,     64,    100,
                                        1000, 4096,  16384, 65536, 200000};
  // Now and then nearly 1 MiB (interop_server takes frames of up to 1 MiB).
  if (random() % 200 == 0) return 1000000;
  return kSizes[random() % (sizeof(kSizes) / sizeof(kSizes[0]))];
}

std::string Unique(std::mt19937& random) { return std::to_string(random()); }

Result Unary(InteropTest::Stub& stub, std::mt19937& random) {
  UnaryRequest request;
  request.set_body(Pattern(PickSize(random), random()));
  request.set_reply_size(PickSize(random));
  const std::string initial = Unique(random);
  const std::string trailing = Unique(random);
  ClientContext context;
  context.set_timeout(kCallDeadline);
  context.AddMetadata(kEchoInitialKey, initial);
  context.AddMetadata(kEchoTrailingKey, trailing);
  absl::StatusOr<UnaryReply> reply = stub.UnaryCall(&context, request);
  if (!reply.ok()) return Unexpected(reply.status());
  if (reply->request_size() != request.body().size() ||
      reply->request_fingerprint() != Fingerprint(request.body())) {
    return Wrong("UnaryCall: the server saw another request body");
  }
  absl::Status body =
      CheckPattern("UnaryCall reply", reply->body(), request.reply_size(), 0);
  if (!body.ok()) return Wrong(std::string(body.message()));
  const sockrpc::Metadata expected_initial = {{kEchoInitialKey, initial}};
  const sockrpc::Metadata expected_trailing = {{kEchoTrailingKey, trailing}};
  if (context.server_initial_metadata() != expected_initial ||
      context.server_trailing_metadata() != expected_trailing) {
    return Wrong("UnaryCall: metadata not echoed as sent");
  }
  return Ok();
}

Result RequestedStatus(InteropTest::Stub& stub, std::mt19937& random) {
  // Every code but OK (0), in turn.
  const uint32_t code = 1 + random() % 16;
  UnaryRequest request;
  request.mutable_echo_status()->set_code(code);
  request.mutable_echo_status()->set_message(
      absl::StrCat("requested ", Unique(random)));
  ClientContext context;
  context.set_timeout(kCallDeadline);
  absl::StatusOr<UnaryReply> reply = stub.UnaryCall(&context, request);
  if (reply.ok()) return Wrong("UnaryCall: OK where a status was requested");
  if (static_cast<uint32_t>(reply.status().code()) != code ||
      reply.status().message() != request.echo_status().message()) {
    // The client's own failures are unexpected errors, not the server's.
    if (reply.status().code() == absl::StatusCode::kUnavailable) {
      return Unexpected(reply.status());
    }
    return Wrong(absl::StrCat("asked for ", code, " \"",
                              request.echo_status().message(), "\", got ",
                              reply.status().ToString()));
  }
  return Expected();
}

Result ServerStream(InteropTest::Stub& stub, std::mt19937& random) {
  DownloadRequest request;
  const int replies = random() % 20;
  for (int i = 0; i < replies; ++i) request.add_reply_sizes(PickSize(random));
  ClientContext context;
  context.set_timeout(kCallDeadline);
  sockrpc::ClientReader<StreamChunk> reader =
      stub.StreamingOutputCall(&context, request);
  StreamChunk chunk;
  int received = 0;
  while (reader.Read(&chunk)) {
    if (received >= replies) return Wrong("StreamingOutputCall: extra reply");
    if (chunk.index() != static_cast<uint32_t>(received)) {
      return Wrong("StreamingOutputCall: reply out of order");
    }
    absl::Status body = CheckPattern("StreamingOutputCall reply", chunk.body(),
                                     request.reply_sizes(received), received);
    if (!body.ok()) return Wrong(std::string(body.message()));
    ++received;
  }
  absl::Status status = reader.Finish();
  if (!status.ok()) return Unexpected(status);
  if (received != replies) return Wrong("StreamingOutputCall: replies lost");
  return Ok();
}

Result ClientStream(InteropTest::Stub& stub, std::mt19937& random) {
  ClientContext context;
  context.set_timeout(kCallDeadline);
  sockrpc::ClientWriter<UploadChunk, UploadSummary> writer =
      stub.StreamingInputCall(&context);
  const int chunks = random() % 20;
  uint64_t total = 0;
  for (int i = 0; i < chunks; ++i) {
    UploadChunk chunk;
    chunk.set_body(Pattern(PickSize(random), i));
    total += chunk.body().size();
    if (!writer.Write(chunk)) break;  // Finish() says why
  }
  absl::StatusOr<UploadSummary> summary = writer.Finish();
  if (!summary.ok()) return Unexpected(summary.status());
  if (summary->total_size() != total ||
      summary->chunk_count() != static_cast<uint32_t>(chunks)) {
    return Wrong(absl::StrCat("StreamingInputCall: sent ", chunks, " chunks, ",
                              total, " bytes; the server counted ",
                              summary->chunk_count(), ", ",
                              summary->total_size()));
  }
  return Ok();
}

Result Bidi(InteropTest::Stub& stub, std::mt19937& random) {
  ClientContext context;
  context.set_timeout(kCallDeadline);
  sockrpc::ClientReaderWriter<DuplexRequest, StreamChunk> stream =
      stub.FullDuplexCall(&context);
  const int rounds = random() % 10;
  for (int i = 0; i < rounds; ++i) {
    DuplexRequest request;
    request.set_body(Pattern(PickSize(random), i));
    request.set_reply_size(PickSize(random));
    StreamChunk chunk;
    if (!stream.Write(request) || !stream.Read(&chunk)) {
      return Unexpected(stream.Finish());
    }
    if (chunk.index() != static_cast<uint32_t>(i)) {
      return Wrong("FullDuplexCall: reply out of order");
    }
    absl::Status body = CheckPattern("FullDuplexCall reply", chunk.body(),
                                     request.reply_size(), i);
    if (!body.ok()) return Wrong(std::string(body.message()));
  }
  StreamChunk extra;
  if (!stream.WritesDone()) return Unexpected(stream.Finish());
  if (stream.Read(&extra)) return Wrong("FullDuplexCall: extra reply");
  absl::Status status = stream.Finish();
  if (!status.ok()) return Unexpected(status);
  return Ok();
}

Result CancelMidStream(InteropTest::Stub& stub, std::mt19937& random) {
  DownloadRequest request;
  for (int i = 0; i < 1000; ++i) request.add_reply_sizes(100);
  request.set_pause_us(1000);
  ClientContext context;
  context.set_timeout(kCallDeadline);
  sockrpc::ClientReader<StreamChunk> reader =
      stub.StreamingOutputCall(&context, request);
  StreamChunk chunk;
  const int before_cancel = 1 + random() % 5;
  for (int i = 0; i < before_cancel; ++i) {
    if (!reader.Read(&chunk)) return Unexpected(reader.Finish());
  }
  context.TryCancel();
  while (reader.Read(&chunk)) {
  }
  absl::Status status = reader.Finish();
  if (status.code() != absl::StatusCode::kCancelled) {
    return Wrong(absl::StrCat("cancelled stream ended with ",
                              status.ToString()));
  }
  return Expected();
}

Result DeadlineInServer(InteropTest::Stub& stub, std::mt19937& random) {
  SleepRequest request;
  request.set_sleep_ms(10000);
  ClientContext context;
  context.set_timeout(absl::Milliseconds(5 + random() % 50));
  absl::StatusOr<Nothing> reply = stub.SleepCall(&context, request);
  if (reply.ok()) return Wrong("SleepCall outran its deadline");
  if (reply.status().code() != absl::StatusCode::kDeadlineExceeded) {
    return Unexpected(reply.status());
  }
  return Expected();
}

absl::StatusOr<std::shared_ptr<Channel>> NewChannel(const std::string& target) {
  return sockrpc::CreateChannel(target);
}

void RunWorker(const std::string& target, absl::Time end, bool churn,
               uint32_t seed, Tally* tally) {
  std::mt19937 random(seed);
  std::shared_ptr<Channel> channel;
  while (absl::Now() < end) {
    if (channel == nullptr || (churn && random() % kCallsPerChannel == 0)) {
      absl::StatusOr<std::shared_ptr<Channel>> made = NewChannel(target);
      if (!made.ok()) {
        tally->Count(Outcome::kUnexpectedError, absl::ZeroDuration(),
                     made.status().ToString());
        return;
      }
      channel = *std::move(made);
    }
    InteropTest::Stub stub(channel);
    const absl::Time start = absl::Now();
    const int pick = random() % 100;
    const char* name;
    Result result;
    if (pick < 40) {
      name = "UnaryCall";
      result = Unary(stub, random);
    } else if (pick < 50) {
      name = "UnaryCall (status)";
      result = RequestedStatus(stub, random);
    } else if (pick < 62) {
      name = "StreamingOutputCall";
      result = ServerStream(stub, random);
    } else if (pick < 74) {
      name = "StreamingInputCall";
      result = ClientStream(stub, random);
    } else if (pick < 90) {
      name = "FullDuplexCall";
      result = Bidi(stub, random);
    } else if (pick < 95) {
      name = "StreamingOutputCall (cancelled)";
      result = CancelMidStream(stub, random);
    } else {
      name = "SleepCall (deadline)";
      result = DeadlineInServer(stub, random);
    }
    tally->Count(result.outcome, absl::Now() - start,
                 absl::StrCat(name, ": ", result.detail));
  }
}

// ---- Hostile peers ----

// Sends `bytes` on the non-blocking `fd` until `deadline`; false if the
// socket would not take them (the server closed it, or stopped reading).
bool SendAll(int fd, const std::string& bytes, absl::Time deadline) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    iovec iov{const_cast<char*>(bytes.data()) + sent, bytes.size() - sent};
    absl::StatusOr<size_t> n = sockrpc::WriteSome(fd, &iov, 1);
    if (!n.ok()) return false;
    sent += *n;
    if (*n == 0 && !sockrpc::WaitFor(fd, POLLOUT, deadline).ok()) return false;
  }
  return true;
}

// Reads and drops what the server sends until it closes the connection;
// false if it is still open at `deadline`.
bool ServerCloses(int fd, absl::Time deadline) {
  char buffer[4096];
  for (;;) {
    absl::StatusOr<ssize_t> n = sockrpc::ReadSome(fd, buffer, sizeof(buffer));
    if (!n.ok() || *n == 0) return true;
    if (*n < 0 && !sockrpc::WaitFor(fd, POLLIN, deadline).ok()) return false;
  }
}

std::string PrefaceBytes() {
  std::string out;
  sockrpc::AppendPreface(&out);
  return out;
}

// A HEADERS frame opening `stream_id` for `method` (built from the
// CallHeader message, as every version of the protocol library can).
void AppendCallHeader(std::string* out, uint32_t stream_id,
                      const std::string& method) {
  sockrpc::wire::CallHeader header;
  header.set_method(method);
  (void)sockrpc::AppendMessageFrame(out, sockrpc::FrameType::kHeaders, 0,
                                    stream_id, header,
                                    sockrpc::kDefaultMaxFrameSize);
}

std::string FrameHeaderBytes(uint32_t length, uint32_t stream_id,
                             sockrpc::FrameType type) {
  std::string out(sockrpc::kFrameHeaderSize, '\0');
  sockrpc::FrameHeader header;
  header.length = length;
  header.stream_id = stream_id;
  header.type = static_cast<uint8_t>(type);
  sockrpc::EncodeFrameHeader(header, out.data());
  return out;
}

// One hostile act on a raw connection. Returns what went wrong with the
// server's side of it, or "" if it behaved.
std::string ActHostile(const sockrpc::Address& address, int act) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  absl::StatusOr<sockrpc::Fd> fd = sockrpc::Connect(address, deadline);
  if (!fd.ok()) return absl::StrCat("connect: ", fd.status().ToString());
  const int raw = fd->get();
  switch (act) {
    case 0:  // not sockrpc at all: the server says GOAWAY and closes
      if (!SendAll(raw, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", deadline)) {
        return "";
      }
      return ServerCloses(raw, deadline) ? ""
                                         : "a bad preface left the connection "
                                           "open";
    case 1:  // half a preface, then gone
      SendAll(raw, PrefaceBytes().substr(0, 3), deadline);
      return "";
    case 2: {  // 200 calls pipelined, none of the replies read, then gone
      std::string bytes = PrefaceBytes();
      for (uint32_t id = 1; id <= 399; id += 2) {
        AppendCallHeader(&bytes, id, "/sockrpc.interop.InteropTest/EmptyCall");
        (void)sockrpc::AppendMessageFrame(&bytes, sockrpc::FrameType::kMessage,
                                          sockrpc::kFlagEndStream, id,
                                          Nothing(),
                                          sockrpc::kDefaultMaxFrameSize);
      }
      SendAll(raw, bytes, deadline);
      return "";
    }
    case 3:  // a request frame announcing 2 GiB: the server must not wait
             // for (or allocate) it; the connection may go on or close
      SendAll(raw,
              PrefaceBytes() +
                  FrameHeaderBytes(0x80000000u, 1, sockrpc::FrameType::kHeaders) +
                  std::string(1000, 'x'),
              deadline);
      return "";
    default: {  // gone in the middle of a frame
      std::string bytes = PrefaceBytes();
      AppendCallHeader(&bytes, 1, "/sockrpc.interop.InteropTest/UnaryCall");
      bytes.resize(bytes.size() - 5);
      SendAll(raw, bytes, deadline);
      return "";
    }
  }
}

void RunHostile(const std::string& target, absl::Time end, uint32_t seed,
                Tally* tally) {
  std::mt19937 random(seed);
  absl::StatusOr<sockrpc::Address> address = sockrpc::ParseAddress(target);
  if (!address.ok()) return;
  while (absl::Now() < end) {
    const int act = random() % 5;
    const std::string misbehaved = ActHostile(*address, act);
    tally->CountHostile();
    if (!misbehaved.empty()) {
      tally->Count(Outcome::kWrong, absl::ZeroDuration(),
                   absl::StrCat("hostile act ", act, ": ", misbehaved));
    }
    // The server still serves others: a fresh channel's call succeeds.
    absl::StatusOr<std::shared_ptr<Channel>> channel = NewChannel(target);
    if (!channel.ok()) return;
    InteropTest::Stub stub(*channel);
    ClientContext context;
    context.set_timeout(kCallDeadline);
    const absl::Time start = absl::Now();
    absl::Status status = stub.EmptyCall(&context, Nothing()).status();
    tally->Count(status.ok() ? Outcome::kOk : Outcome::kUnexpectedError,
                 absl::Now() - start,
                 absl::StrCat("EmptyCall after hostile act ", act, ": ",
                              status.ToString()));
  }
}

}  // namespace

int main(int argc, char** argv) {
  sockrpc::examples::ParseProgramFlags(
      argc, argv,
      {"stress_client --target ADDRESS [--workers N] [OPTIONS]",
       "Drives an interop_server with mixed, checked calls from many "
       "workers (and optionally channel churn, hostile peers and cancels) "
       "for the soak and version-skew runs (tests/stress/). Exits non-zero "
       "on a wrong reply or an unexpected error."});
  const std::string target = absl::GetFlag(FLAGS_target);
  const int workers = absl::GetFlag(FLAGS_workers);
  const int hostile = absl::GetFlag(FLAGS_hostile);
  if (target.empty() || workers < 0 || hostile < 0) {
    std::fprintf(stderr,
                 "usage: stress_client --target ADDRESS [--workers 64] "
                 "[--duration 10s] [--churn] [--hostile N] [--seed S]\n");
    return 2;
  }
  if (!sockrpc::ParseAddress(target).ok()) {
    std::fprintf(stderr, "stress_client: bad --target %s\n", target.c_str());
    return 2;
  }
  const absl::Time end = absl::Now() + absl::GetFlag(FLAGS_duration);
  const uint32_t seed = absl::GetFlag(FLAGS_seed);
  Tally tally;
  std::atomic<int> running{workers + hostile};
  std::vector<std::thread> threads;
  for (int i = 0; i < workers + hostile; ++i) {
    threads.emplace_back([&, i] {
      if (i < workers) {
        RunWorker(target, end, absl::GetFlag(FLAGS_churn), seed * 1000 + i,
                  &tally);
      } else {
        RunHostile(target, end, seed * 1000 + i, &tally);
      }
      running.fetch_sub(1);
    });
  }
  // Every call ends by its deadline, so every thread is done by then; one
  // that is not is a hang, and the process cannot wait for it.
  const absl::Time bound = end + kCallDeadline + kHangMargin;
  while (running.load() > 0 && absl::Now() < bound) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  const int stuck = running.load();
  if (stuck > 0) tally.CountHungWorkers(stuck);
  std::printf("%s\n", tally.Summary().c_str());
  std::fflush(stdout);
  if (stuck > 0) _exit(1);  // the stuck threads cannot be joined
  for (std::thread& thread : threads) thread.join();
  return tally.Clean() ? 0 : 1;
}
