#include "tests/testing/increment_calls.h"

#include "client/client_context.h"
#include "gtest/gtest.h"
#include "increment.pb.h"

namespace sockrpc {
namespace testing {

std::shared_ptr<Channel> MakeChannel(const std::string& target,
                                     const ChannelOptions& options) {
  absl::StatusOr<std::shared_ptr<Channel>> channel =
      sockrpc::CreateChannel(target, options);
  EXPECT_TRUE(channel.ok()) << channel.status();
  return channel.ok() ? *channel : nullptr;
}

absl::StatusOr<std::string> Increment(::increment::Increment::Stub& stub,
                                      const std::string& character) {
  ClientContext context;
  context.set_timeout(kCallTimeout);
  ::increment::IncrementRequest request;
  request.set_character(character);
  absl::StatusOr<::increment::IncrementReply> reply =
      stub.Increment(&context, request);
  if (!reply.ok()) return reply.status();
  return reply->character();
}

void ExpectServes(const std::string& address) {
  ::increment::Increment::Stub stub(MakeChannel(address));
  absl::StatusOr<std::string> reply = Increment(stub, "A");
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(*reply, "B");
}

}  // namespace testing
}  // namespace sockrpc
