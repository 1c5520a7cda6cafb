// Tests of the RAII descriptor (transport/fd.h) and the errno -> status
// helper (transport/posix_error.h).
#include "transport/fd.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <utility>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "transport/posix_error.h"

namespace sockrpc {
namespace {

using ::testing::HasSubstr;

bool IsOpen(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

int OpenDevNull() { return ::open("/dev/null", O_RDONLY | O_CLOEXEC); }

TEST(FdTest, DefaultIsInvalid) {
  Fd fd;
  EXPECT_FALSE(fd.valid());
  EXPECT_EQ(fd.get(), -1);
}

TEST(FdTest, DestructorClosesTheDescriptor) {
  int raw = OpenDevNull();
  ASSERT_GE(raw, 0);
  { Fd fd(raw); }
  EXPECT_FALSE(IsOpen(raw));
}

TEST(FdTest, ResetClosesTheOldAndOwnsTheNew) {
  int first = OpenDevNull();
  int second = OpenDevNull();
  Fd fd(first);
  fd.reset(second);
  EXPECT_FALSE(IsOpen(first));
  EXPECT_EQ(fd.get(), second);
  fd.reset();
  EXPECT_FALSE(IsOpen(second));
  EXPECT_FALSE(fd.valid());
}

TEST(FdTest, ReleaseGivesUpOwnershipWithoutClosing) {
  int raw = OpenDevNull();
  {
    Fd fd(raw);
    EXPECT_EQ(fd.release(), raw);
    EXPECT_FALSE(fd.valid());
  }
  EXPECT_TRUE(IsOpen(raw));
  ::close(raw);
}

TEST(FdTest, MoveTransfersOwnership) {
  int raw = OpenDevNull();
  Fd a(raw);
  Fd b(std::move(a));
  EXPECT_FALSE(a.valid());
  EXPECT_EQ(b.get(), raw);
  Fd c;
  c = std::move(b);
  EXPECT_EQ(c.get(), raw);
  EXPECT_TRUE(IsOpen(raw));
}

TEST(FdTest, MoveAssignClosesTheTargetsDescriptor) {
  int old_raw = OpenDevNull();
  Fd target(old_raw);
  target = Fd(OpenDevNull());
  EXPECT_FALSE(IsOpen(old_raw));
}

TEST(PosixErrorTest, MessageIsContextThenStrerror) {
  absl::Status status = PosixError("connect to unix:/tmp/s", ENOENT);
  EXPECT_EQ(status.message(),
            "connect to unix:/tmp/s: No such file or directory");
}

TEST(PosixErrorTest, CodesFollowTheDocumentedMapping) {
  EXPECT_EQ(PosixError("x", ECONNREFUSED).code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(PosixError("x", ECONNRESET).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(PosixError("x", EPIPE).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(PosixError("x", ENOENT).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(PosixError("x", EMFILE).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(PosixError("x", ENFILE).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(PosixError("x", ENOBUFS).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(PosixError("x", ENOMEM).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(PosixError("x", EACCES).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(PosixError("x", EPERM).code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(PosixError("x", ETIMEDOUT).code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(PosixError("x", EINVAL).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PosixError("x", EADDRINUSE).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(PosixError("x", EBADF).code(), absl::StatusCode::kInternal);
}

TEST(PosixErrorTest, UnknownErrnoStillHasAMessage) {
  absl::Status status = PosixError("op", 100000);
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(status.message(), HasSubstr("op: "));
  EXPECT_GT(status.message().size(), 4u);
}

}  // namespace
}  // namespace sockrpc
