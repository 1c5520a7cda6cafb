// CallEnd: the end of a callback call, as its done callback or OnDone()
// reports it on the channel's loop thread, waited for by the test's thread.
// Test-only.
//
// Thread-safe: Set() on one thread, Wait() on another.
#ifndef SOCKRPC_TESTS_TESTING_CALL_END_H_
#define SOCKRPC_TESTS_TESTING_CALL_END_H_

#include <string>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "transport/sync.h"

namespace sockrpc {
namespace testing {

// It keeps the code and a copy of the message, not the absl::Status: a
// Status's shared payload is freed by the prebuilt Abseil, which TSan does
// not see synchronize (as client_callback_testing.h's Events does); and it
// waits with sockrpc's Mutex, which TSan sees, unlike absl::Notification.
class CallEnd {
 public:
  // Records the call's end: once.
  void Set(const absl::Status& status) {
    MutexLock lock(&mu_);
    code_ = status.code();
    message_ = std::string(status.message());
    done_ = true;
  }
  // The call's status, once it has ended; UNKNOWN (and a test failure) if
  // it has not within 10 seconds.
  absl::Status Wait() {
    MutexLock lock(&mu_);
    EXPECT_TRUE(mu_.AwaitWithDeadline(
        [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return done_; },
        absl::Now() + absl::Seconds(10)));
    return absl::Status(code_, message_);
  }

 private:
  Mutex mu_;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  absl::StatusCode code_ ABSL_GUARDED_BY(mu_) = absl::StatusCode::kUnknown;
  std::string message_ ABSL_GUARDED_BY(mu_);
};

}  // namespace testing
}  // namespace sockrpc

#endif  // SOCKRPC_TESTS_TESTING_CALL_END_H_
