// Section 3: the connection preface.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tools/conformance/check.h"
#include "tools/conformance/probe.h"

namespace sockrpc {
namespace conformance {
namespace {

// Connects, sends `preface` and reads the server's: it must be the
// preface, whatever the client sent.
bool ExchangePrefaces(Probe& probe, absl::string_view preface) {
  if (!probe.Connect() || !probe.Send(preface)) return false;
  absl::StatusOr<std::string> got =
      probe.peer().ReadExactly(kPrefaceSize, probe.Deadline());
  const std::string expected = absl::StrCat(
      "the server's preface ", Hex(Preface()), " before anything else");
  if (!got.ok()) {
    probe.Fail(expected, got.status().message());
    return false;
  }
  if (*got != Preface()) {
    probe.Fail(expected, Hex(*got));
    return false;
  }
  return true;
}

Outcome ValidPrefaceIsAnswered(const CheckConfig& config) {
  Probe probe(config);
  if (!probe.Handshake()) return probe.outcome();
  std::vector<RawFrame> before;
  if (!probe.PingBarrier(&before)) return probe.outcome();
  if (!before.empty()) {
    return probe.Fail("nothing from the server but its preface and the ACK",
                      before.front().Describe());
  }
  return probe.outcome();
}

Outcome BadMagicGetsPrefaceThenGoAway(const CheckConfig& config) {
  Probe probe(config);
  if (!ExchangePrefaces(probe, "GET / HT")) return probe.outcome();
  probe.ExpectGoAwayAndClose(3, "bad connection preface", 0);
  return probe.outcome();
}

Outcome BadVersionGetsPrefaceThenGoAway(const CheckConfig& config) {
  Probe probe(config);
  if (!ExchangePrefaces(probe, Preface(2))) return probe.outcome();
  probe.ExpectGoAwayAndClose(9, "unsupported sockrpc protocol version 2", 0);
  return probe.outcome();
}

Outcome PrefaceInPiecesIsAccepted(const CheckConfig& config) {
  Probe probe(config);
  if (!probe.Connect()) return probe.outcome();
  const std::string preface = Preface();
  // Three bytes, a pause, the rest: the server must not judge the preface
  // before all 8 bytes are in.
  if (!probe.Send(preface.substr(0, 3))) return probe.outcome();
  absl::SleepFor(absl::Milliseconds(200));
  if (!probe.Send(preface.substr(3))) return probe.outcome();
  absl::StatusOr<std::string> got =
      probe.peer().ReadExactly(kPrefaceSize, probe.Deadline());
  if (!got.ok() || *got != preface) {
    probe.Fail(absl::StrCat("the server's preface ", Hex(preface)),
               got.ok() ? Hex(*got) : std::string(got.status().message()));
    return probe.outcome();
  }
  probe.PingBarrier();
  return probe.outcome();
}

Outcome MissingPrefaceTimesOut(const CheckConfig& config) {
  // The partial preface "SOC" never completes: after the handshake timeout
  // the server sends its preface, then GOAWAY UNAVAILABLE, and closes.
  CheckConfig patient = config;
  patient.timeout = config.handshake_timeout + absl::Seconds(2) +
                    config.timeout;  // the C++ server checks once a second
  Probe probe(patient);
  if (!probe.Connect() || !probe.Send("SOC")) return probe.outcome();
  absl::StatusOr<std::string> got =
      probe.peer().ReadExactly(kPrefaceSize, probe.Deadline());
  if (!got.ok() || *got != Preface()) {
    probe.Fail(absl::StrCat("the server's preface ", Hex(Preface()),
                            " when the handshake timeout passes"),
               got.ok() ? Hex(*got) : std::string(got.status().message()));
    return probe.outcome();
  }
  probe.ExpectGoAwayAndClose(14, "no connection preface", 0);
  return probe.outcome();
}

}  // namespace

std::vector<Check> HandshakeChecks() {
  return {
      {"3/1",
       "a valid preface gets the server's preface, and nothing before it",
       Needs::kNothing, ValidPrefaceIsAnswered},
      {"3/2", "a preface sent in two pieces, 200 ms apart, is accepted",
       Needs::kNothing, PrefaceInPiecesIsAccepted},
      {"3/3",
       "a bad magic gets the server's preface, then GOAWAY 3 "
       "INVALID_ARGUMENT with last_stream_id 0, then a close",
       Needs::kNothing, BadMagicGetsPrefaceThenGoAway},
      {"3/4",
       "an unsupported version gets the server's preface, then GOAWAY 9 "
       "FAILED_PRECONDITION, then a close",
       Needs::kNothing, BadVersionGetsPrefaceThenGoAway},
      {"3/5",
       "a preface that never completes gets, at the handshake timeout, the "
       "server's preface, then GOAWAY 14 UNAVAILABLE, then a close",
       Needs::kHandshakeTimeout, MissingPrefaceTimesOut},
  };
}

}  // namespace conformance
}  // namespace sockrpc
