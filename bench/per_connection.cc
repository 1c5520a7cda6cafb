// RunOnEachConnection (cases.h): the in-flight cases' common driver.
#include <atomic>
#include <thread>
#include <vector>

#include "cases.h"

namespace sockrpc {
namespace bench {

Result RunOnEachConnection(const CaseSpec& spec, ConnectionLoop loop) {
  std::vector<std::thread> threads;
  std::vector<int64_t> calls(spec.connections, 0);
  std::vector<double> seconds(spec.connections, 0);
  std::atomic<bool> ok{true};
  for (int c = 0; c < spec.connections; ++c) {
    threads.emplace_back([&, c] {
      Window window(spec.warmup_seconds, spec.seconds);
      if (!loop(spec, &window, &calls[c])) ok = false;
      seconds[c] = window.seconds();
    });
  }
  for (std::thread& thread : threads) thread.join();
  Result result;
  result.ok = ok;
  // The threads' windows overlap almost exactly; sum their rates.
  double rate = 0;
  for (int c = 0; c < spec.connections; ++c) {
    if (seconds[c] > 0) rate += calls[c] / seconds[c];
  }
  result.seconds = 1;
  result.calls = static_cast<int64_t>(rate);
  return result;
}

}  // namespace bench
}  // namespace sockrpc
