// The raw baselines' loops (see cases.h, raw_wire.h).
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "cases.h"
#include "raw_wire.h"

namespace sockrpc {
namespace bench {
namespace {

// A message of `size` bytes, header included, ready to write.
std::vector<char> MakeMessage(size_t size) {
  std::vector<char> message(kRawHeaderSize + size, 'x');
  PutLength(static_cast<uint32_t>(size), message.data());
  return message;
}

// One pipelined connection: keeps `in_flight` messages outstanding until
// the window closes; adds the replies counted in the window to `*calls`.
bool PipelineOne(const CaseSpec& spec, Window* window, int64_t* calls) {
  int fd = ConnectRaw(spec.address);
  if (fd < 0) return false;
  const size_t message_size = kRawHeaderSize + spec.size;
  std::vector<char> batch;
  for (int i = 0; i < spec.in_flight; ++i) {
    std::vector<char> one = MakeMessage(spec.size);
    batch.insert(batch.end(), one.begin(), one.end());
  }
  std::vector<char> buf(std::max<size_t>(256 << 10, batch.size()));
  bool ok = WriteAll(fd, batch.data(), batch.size());
  size_t have = 0;
  int64_t outstanding = spec.in_flight;
  bool more = true;
  while (ok && outstanding > 0) {
    long filled = ReadAtLeast(fd, buf.data(), have, message_size, buf.size());
    if (filled < 0) {
      ok = false;
      break;
    }
    size_t replies = static_cast<size_t>(filled) / message_size;
    have = static_cast<size_t>(filled) - replies * message_size;
    std::memmove(buf.data(), buf.data() + replies * message_size, have);
    outstanding -= static_cast<int64_t>(replies);
    if (more && window->Measuring()) {
      *calls += static_cast<int64_t>(replies);
    }
    if (more) more = window->Continue();
    if (more) {
      // Send as many as came back, keeping in_flight outstanding.
      ok = WriteAll(fd, batch.data(), replies * message_size);
      outstanding += static_cast<int64_t>(replies);
    }
  }
  ::close(fd);
  return ok;
}

}  // namespace

Result RawPingPong(const CaseSpec& spec) {
  Result result;
  int fd = ConnectRaw(spec.address);
  if (fd < 0) return result;
  std::vector<char> message = MakeMessage(spec.size);
  std::vector<char> buf(message.size());
  // With spec.copies: the request's payload as a message object holds it
  // (copied into `message` as serializing would), the reply parsed out.
  std::vector<char> request(spec.copies ? spec.size : 0, 'x');
  std::vector<char> reply(spec.copies ? spec.size : 0);
  if (spec.copies) {
    PutLength(static_cast<uint32_t>(spec.size) | kCopyFlag, message.data());
  }
  Latencies latencies;
  Window window(spec.warmup_seconds, spec.seconds, spec.server);
  bool ok = true;
  while (window.Continue()) {
    int64_t start = NowNs();
    if (spec.copies) {
      std::memcpy(message.data() + kRawHeaderSize, request.data(),
                  request.size());
    }
    if (!WriteAll(fd, message.data(), message.size()) ||
        ReadAtLeast(fd, buf.data(), 0, buf.size(), buf.size()) < 0) {
      ok = false;
      break;
    }
    if (spec.copies) {
      std::memcpy(reply.data(), buf.data() + kRawHeaderSize, reply.size());
    }
    if (window.Measuring()) latencies.Add(NowNs() - start);
  }
  ::close(fd);
  result.ok = ok;
  result.calls = static_cast<int64_t>(latencies.count());
  result.seconds = window.seconds();
  result.p50_us = latencies.Percentile(0.5) / 1e3;
  result.p99_us = latencies.Percentile(0.99) / 1e3;
  if (result.calls > 0) {
    result.cpu_us_per_call = window.cpu_ns() / 1e3 / result.calls;
  }
  return result;
}

Result RawPipelined(const CaseSpec& spec) {
  return RunOnEachConnection(spec, PipelineOne);
}

Result RawStream(const CaseSpec& spec) {
  Result result;
  int fd = ConnectRaw(spec.address);
  if (fd < 0) return result;
  const uint32_t kBatch = 50000;
  const size_t message_size = kRawHeaderSize + spec.size;
  std::vector<char> buf(256 << 10);
  Window window(spec.warmup_seconds, spec.seconds);
  bool ok = true;
  while (ok && window.Continue()) {
    char request[kRawHeaderSize + 8];
    PutLength(kStreamFlag | 8, request);
    PutLength(kBatch, request + 4);
    PutLength(static_cast<uint32_t>(spec.size), request + 8);
    if (!WriteAll(fd, request, sizeof(request))) {
      ok = false;
      break;
    }
    size_t total = kBatch * message_size;
    size_t received = 0;
    while (received < total) {
      size_t want = std::min(buf.size(), total - received);
      long n = ReadAtLeast(fd, buf.data(), 0, 1, want);
      if (n < 0) {
        ok = false;
        break;
      }
      received += static_cast<size_t>(n);
    }
    if (window.Measuring()) result.calls += kBatch;
  }
  ::close(fd);
  result.ok = ok;
  result.seconds = window.seconds();
  return result;
}

Result RawConnect(const CaseSpec& spec) {
  Result result;
  std::vector<char> message = MakeMessage(1);
  std::vector<char> buf(message.size());
  Latencies latencies;
  Window window(spec.warmup_seconds, spec.seconds);
  bool ok = true;
  while (window.Continue()) {
    int64_t start = NowNs();
    int fd = ConnectRaw(spec.address);
    if (fd < 0 || !WriteAll(fd, message.data(), message.size()) ||
        ReadAtLeast(fd, buf.data(), 0, buf.size(), buf.size()) < 0) {
      if (fd >= 0) ::close(fd);
      ok = false;
      break;
    }
    ::close(fd);
    if (window.Measuring()) latencies.Add(NowNs() - start);
  }
  result.ok = ok;
  result.calls = static_cast<int64_t>(latencies.count());
  result.seconds = window.seconds();
  result.p50_us = latencies.Percentile(0.5) / 1e3;
  result.p99_us = latencies.Percentile(0.99) / 1e3;
  return result;
}

}  // namespace bench
}  // namespace sockrpc
