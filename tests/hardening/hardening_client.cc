// hardening_client: a client process for the hardening tests, one that can
// run as another user and that a test can kill in the middle of a call.
//
//   hardening_client --target ADDRESS [--as_uid U --as_gid G] --call KIND
//
// --as_uid/--as_gid: when started as root, drop to that user and group
// (and no supplementary groups) before connecting, so that the server
// sees those credentials (SO_PEERCRED) and the socket file's permissions
// apply to them.
//
// --call increment: one Increment call of --char; prints
//   "char from server = B" and exits 0, or "call failed: STATUS" and 1.
// --call stream: an interop StreamingOutputCall of --replies small
//   replies, --pause_ms apart; prints "reply N" as each arrives, then
//   "stream ended: STATUS"; exits 0 only if it ended OK.
//
// Exits 2 for bad flags or a failed setuid/setgid.
#include <grp.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "client/channel.h"
#include "client/client_context.h"
#include "examples/common/program_flags.h"
#include "increment.sockrpc.pb.h"
#include "interop.sockrpc.pb.h"

ABSL_FLAG(std::string, target, "", "the server's address");
ABSL_FLAG(int, as_uid, -1, "uid to run as (needs root; -1: unchanged)");
ABSL_FLAG(int, as_gid, -1, "gid to run as (needs root; -1: unchanged)");
ABSL_FLAG(std::string, call, "increment", "increment or stream");
ABSL_FLAG(std::string, char, "A", "the character of --call increment");
ABSL_FLAG(int, replies, 1000, "replies of --call stream");
ABSL_FLAG(int, pause_ms, 50, "pause before each reply of --call stream");
ABSL_FLAG(absl::Duration, deadline, absl::Seconds(60), "the call's deadline");

namespace {

void PrintLine(const std::string& line) {
  std::string text = line + "\n";
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

// Becomes `uid`:`gid` with no supplementary groups. False on failure.
bool DropPrivileges(int uid, int gid) {
  if (gid >= 0 && (setgroups(0, nullptr) != 0 || setgid(gid) != 0)) {
    std::perror("hardening_client: setgid");
    return false;
  }
  if (uid >= 0 && setuid(uid) != 0) {
    std::perror("hardening_client: setuid");
    return false;
  }
  return true;
}

int CallIncrement(const std::shared_ptr<sockrpc::Channel>& channel) {
  increment::Increment::Stub stub(channel);
  sockrpc::ClientContext context;
  context.set_timeout(absl::GetFlag(FLAGS_deadline));
  increment::IncrementRequest request;
  request.set_character(absl::GetFlag(FLAGS_char));
  absl::StatusOr<increment::IncrementReply> reply =
      stub.Increment(&context, request);
  if (!reply.ok()) {
    PrintLine(absl::StrCat("call failed: ", reply.status().ToString()));
    return 1;
  }
  PrintLine(absl::StrCat("char from server = ", reply->character()));
  return 0;
}

int CallStream(const std::shared_ptr<sockrpc::Channel>& channel) {
  sockrpc::interop::InteropTest::Stub stub(channel);
  sockrpc::ClientContext context;
  context.set_timeout(absl::GetFlag(FLAGS_deadline));
  sockrpc::interop::DownloadRequest request;
  for (int i = 0; i < absl::GetFlag(FLAGS_replies); ++i) {
    request.add_reply_sizes(16);
  }
  request.set_pause_us(absl::GetFlag(FLAGS_pause_ms) * 1000);
  auto reader = stub.StreamingOutputCall(&context, request);
  sockrpc::interop::StreamChunk chunk;
  while (reader.Read(&chunk)) PrintLine(absl::StrCat("reply ", chunk.index()));
  absl::Status status = reader.Finish();
  PrintLine(absl::StrCat("stream ended: ", status.ToString()));
  return status.ok() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  sockrpc::examples::ParseProgramFlags(
      argc, argv,
      {"hardening_client --target ADDRESS [--as_uid U --as_gid G] "
       "--call increment|stream",
       "A client for the hardening tests (tests/hardening/): makes one call, "
       "optionally as another user, and prints its status."});
  if (!DropPrivileges(absl::GetFlag(FLAGS_as_uid),
                      absl::GetFlag(FLAGS_as_gid))) {
    return 2;
  }
  PrintLine(absl::StrCat("running as uid ", getuid(), " gid ", getgid(),
                         " pid ", getpid()));
  absl::StatusOr<std::shared_ptr<sockrpc::Channel>> channel =
      sockrpc::CreateChannel(absl::GetFlag(FLAGS_target));
  if (!channel.ok()) {
    PrintLine(absl::StrCat("bad target: ", channel.status().ToString()));
    return 2;
  }
  const std::string call = absl::GetFlag(FLAGS_call);
  if (call == "increment") return CallIncrement(*channel);
  if (call == "stream") return CallStream(*channel);
  PrintLine(absl::StrCat("unknown --call ", call));
  return 2;
}
