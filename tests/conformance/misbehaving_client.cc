// misbehaving_client: a sockrpc client that breaks one client rule of
// docs/PROTOCOL.md on purpose, to prove that `sockrpc conformance
// --client` catches it. Test-only.
//
//   misbehaving_client --target ADDR --break_check C6.1/1
//
// It connects, sends the bytes of kScripts for that check (a few valid
// calls around the one broken rule), reads what comes back for a moment,
// and closes. Exit status 0 once the bytes are sent.
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/time/clock.h"
#include "examples/common/program_flags.h"
#include "tools/conformance/frames.h"
#include "tools/conformance/wire_peer.h"
#include "transport/address.h"

ABSL_FLAG(std::string, target, "", "the strict server to connect to");
ABSL_FLAG(std::string, break_check, "", "the client check to fail");

namespace sockrpc {
namespace conformance {
namespace {

const std::string kEmptyCall = "/sockrpc.interop.InteropTest/EmptyCall";
const std::string kUpload = "/sockrpc.interop.InteropTest/StreamingInputCall";

// The bytes that break the rule of `check_id` (after a valid preface,
// unless the rule is about the preface); empty if there is no such check.
std::string ScriptFor(const std::string& check_id, bool* with_preface) {
  *with_preface = true;
  const std::string call = UnaryCall(1, kEmptyCall, "");
  if (check_id == "C3/1") {
    *with_preface = false;
    return Preface(7) + call;
  }
  if (check_id == "C4.1/1") return Frame(kPing, 0, 0, "12345678", 0x0100);
  if (check_id == "C4.2/1") return call + Frame(kStatus, 0, 1, "");
  if (check_id == "C4.3/1") return Headers(1, kEmptyCall, 0, {}, 0x40);
  if (check_id == "C4.7/1") return Cancel(9);
  if (check_id == "C4.9/1") return " ";  // sends nothing more, answers nothing
  if (check_id == "C4.10/1") {
    return Headers(1, kUpload) + Frame(kWindowUpdate, 0, 1, "abc");
  }
  if (check_id == "C4.11/1") return HalfClose(5);
  if (check_id == "C5/1") return Frame(kHeaders, 0, 1, "\x0a\x05");
  if (check_id == "C6.1/1") return UnaryCall(5, kEmptyCall, "") + call;
  if (check_id == "C6.2/1") return call + Message(1, "");
  if (check_id == "C6.5/1") return UnaryCall(1, "EmptyCall", "");
  if (check_id == "C6.7/1")
    return UnaryCall(1, kEmptyCall, "", 0, {{"Key", "v"}});
  if (check_id == "C6.8/1") {
    // 80 KiB in one go: beyond the 64 KiB window without waiting.
    std::string upload = Headers(1, kUpload);
    for (int i = 0; i < 5; ++i) {
      upload += Message(1, UploadChunk(std::string(16384, 'w')));
    }
    return upload + HalfClose(1);
  }
  if (check_id == "C8.1/1") return Message(0, "");
  if (check_id == "C8.2/1") {
    return Headers(1, kUpload) +
           Message(1, std::string((4u << 20) + 1, 'x'), kFlagEndStream);
  }
  return "";
}

int Main() {
  bool with_preface = true;
  std::string script =
      ScriptFor(absl::GetFlag(FLAGS_break_check), &with_preface);
  if (script.empty()) {
    std::fprintf(stderr, "misbehaving_client: no script for check \"%s\"\n",
                 absl::GetFlag(FLAGS_break_check).c_str());
    return 2;
  }
  if (script == " ") script.clear();
  absl::StatusOr<Address> address = ParseAddress(absl::GetFlag(FLAGS_target));
  if (!address.ok()) {
    std::fprintf(stderr, "misbehaving_client: %s\n",
                 address.status().ToString().c_str());
    return 2;
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  absl::StatusOr<std::unique_ptr<WirePeer>> peer =
      WirePeer::Connect(*address, deadline);
  if (!peer.ok()) {
    std::fprintf(stderr, "misbehaving_client: %s\n",
                 peer.status().ToString().c_str());
    return 1;
  }
  absl::Status sent =
      (*peer)->Send((with_preface ? Preface() : "") + script, deadline);
  if (!sent.ok()) {
    std::fprintf(stderr, "misbehaving_client: %s\n", sent.ToString().c_str());
    return 1;
  }
  // Reads (and ignores, PINGs included) what comes back for a moment; for
  // the PING's rule, longer than the strict server allows for an answer.
  const bool silent = absl::GetFlag(FLAGS_break_check) == "C4.9/1";
  (*peer)
      ->WaitForClose(absl::Now() + absl::Milliseconds(silent ? 2500 : 300))
      .IgnoreError();
  return 0;
}

}  // namespace
}  // namespace conformance
}  // namespace sockrpc

int main(int argc, char** argv) {
  sockrpc::examples::ParseProgramFlags(
      argc, argv,
      {"misbehaving_client --target ADDRESS --break_check CHECK",
       "A client that breaks one rule of docs/PROTOCOL.md on purpose, so "
       "that the tests can prove each client check of `sockrpc conformance "
       "--client` fails against it."});
  return sockrpc::conformance::Main();
}
