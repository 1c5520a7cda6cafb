// Load: 64 clients, each on its own connection, make 10,000 Increment
// calls each against the real increment_server, every request a distinct
// character, every reply checked against its request (so nothing is lost,
// duplicated or crossed between calls), while the server's resident memory
// is sampled and must stay bounded.
//
// SOCKRPC_LOAD_CALLS overrides the calls per client (the sanitizer builds
// run fewer; see build.sh).
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "client/client_context.h"
#include "gtest/gtest.h"
#include "increment.pb.h"
#include "increment.sockrpc.pb.h"
#include "tests/hardening/hardening_testing.h"
#include "tests/testing/sanitizers.h"
#include "tests/testing/temp_dir.h"

namespace {

using ::sockrpc::testing::kIoTimeout;
using ::sockrpc::testing::StartedServer;
using ::sockrpc::testing::StartServerBinary;
using ::sockrpc::testing::TempDir;
using ::sockrpc::testing::VmRssKilobytes;

constexpr int kClients = 64;
constexpr int kDefaultCallsPerClient = 10000;
// The server's resident memory must stay under this throughout.
constexpr int64_t kRssLimitKilobytes = 64 * 1024;

int CallsPerClient() {
  const char* text = std::getenv("SOCKRPC_LOAD_CALLS");
  int calls = 0;
  if (text != nullptr && absl::SimpleAtoi(text, &calls) && calls > 0) {
    return calls;
  }
  return kDefaultCallsPerClient;
}

// The n-th code point from U+0100 on, skipping the surrogates.
uint32_t NthCharacter(uint32_t n) {
  uint32_t c = 0x100 + n;
  return c >= 0xd800 ? c + 0x800 : c;
}

std::string Utf8(uint32_t c) {
  std::string out;
  if (c < 0x800) {
    out += static_cast<char>(0xc0 | (c >> 6));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xe0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
  }
  out += static_cast<char>(0x80 | (c & 0x3f));
  return out;
}

TEST(LoadTest, SixtyFourClientsGetTheirOwnReplyToEveryCallWithBoundedRss) {
  const int calls_per_client = CallsPerClient();
  TempDir dir;
  absl::StatusOr<StartedServer> server = StartServerBinary(
      "increment_server", absl::StrCat("unix:", dir.File("s")));
  ASSERT_TRUE(server.ok()) << server.status();
  const int pid = server->process->pid();

  std::atomic<bool> done{false};
  std::atomic<int64_t> max_rss{0};
  std::thread sampler([&] {
    while (!done.load()) {
      absl::StatusOr<int64_t> rss = VmRssKilobytes(pid);
      if (rss.ok() && *rss > max_rss.load()) max_rss.store(*rss);
      absl::SleepFor(absl::Milliseconds(50));  // a sampling period
    }
  });

  std::atomic<int64_t> good{0};
  std::mutex mu;  // guards failures
  std::vector<std::string> failures;
  const absl::Time start = absl::Now();
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      absl::StatusOr<std::shared_ptr<sockrpc::Channel>> channel =
          sockrpc::CreateChannel(server->address);
      if (!channel.ok()) return;
      increment::Increment::Stub stub(*channel);
      int local_good = 0;
      for (int i = 0; i < calls_per_client; ++i) {
        const uint32_t sent = NthCharacter(c * calls_per_client + i);
        sockrpc::ClientContext context;
        context.set_timeout(kIoTimeout);
        increment::IncrementRequest request;
        request.set_character(Utf8(sent));
        absl::StatusOr<increment::IncrementReply> reply =
            stub.Increment(&context, request);
        const uint32_t next = sent + 1 == 0xd800 ? 0xe000 : sent + 1;
        if (reply.ok() && reply->character() == Utf8(next)) {
          ++local_good;
          continue;
        }
        std::lock_guard<std::mutex> lock(mu);
        if (failures.size() < 10) {
          failures.push_back(absl::StrCat(
              "client ", c, " call ", i, ": ",
              reply.ok() ? "wrong reply" : reply.status().ToString()));
        }
      }
      good += local_good;
    });
  }
  for (std::thread& thread : clients) thread.join();
  const absl::Duration elapsed = absl::Now() - start;
  done.store(true);
  sampler.join();

  const int64_t total = int64_t{kClients} * calls_per_client;
  EXPECT_EQ(good.load(), total) << (failures.empty() ? "" : failures.front());
  if (!sockrpc::testing::kUnderSanitizer) {
    EXPECT_LT(max_rss.load(), kRssLimitKilobytes);
  }
  std::printf("%lld calls in %s (%.0f calls/s), server RSS at most %lld KiB\n",
              static_cast<long long>(total),
              absl::FormatDuration(elapsed).c_str(),
              static_cast<double>(total) / absl::ToDoubleSeconds(elapsed),
              static_cast<long long>(max_rss.load()));
}

}  // namespace
