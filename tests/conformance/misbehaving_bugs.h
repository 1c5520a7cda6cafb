// The bugs of misbehaving_server (misbehaving_server.cc): one per rule
// that `sockrpc conformance` checks, and which check each one must fail.
// Test-only.
#ifndef SOCKRPC_TESTS_CONFORMANCE_MISBEHAVING_BUGS_H_
#define SOCKRPC_TESTS_CONFORMANCE_MISBEHAVING_BUGS_H_

#include <string>

namespace sockrpc {
namespace conformance {

// The bugs, each named for what the server does wrong.
enum class Bug {
  kNone,
  kFrameBeforeTheFirstAnswer,     // 3/1: a frame before its preface
  kJudgesAPartialPreface,         // 3/2: closes on a short first read
  kGoAwayBeforeThePreface,        // 3/3: a bad magic gets GOAWAY alone
  kNoGoAwayForABadVersion,        // 3/4: preface, then just a close
  kSilentOnAMissingPreface,       // 3/5: closes without a word
  kPingFlagsTakenLiterally,       // 4.3/1: answers with the flags it got
  kRejectsUnknownCallFlags,       // 4.3/2
  kIgnoresCancel,                 // 4.7/*
  kIgnoresClientGoAway,           // 4.8/1
  kCorruptsPingAcks,              // 4.9/1
  kAnswersPingAcks,               // 4.9/2
  kRejectsWindowUpdateOnStream0,  // 4.10/1
  kCountsMessagesAfterHalfClose,  // 4.11/1
  kRejectsUnknownStreams,         // 6.1/1
  kRejectsSparseStreamIds,        // 6.1/2
  kAnswersAfterTheStatus,         // 6.2/1
  kSetsEndStreamOnReplies,        // 6.3/1
  kRejectsHalfClose,              // 6.3/2
  kIgnoresEndStreamOnHeaders,     // 6.3/3, 6.4/4
  kIgnoresHalfClose,              // 6.3/4, 6.4/2, 6.4/6
  kRejectsInterleavedCalls,       // 6.3/5
  kDropsInitialMetadata,          // 6.3/6, 6.7/6
  kDropsTheSecondReply,           // 6.4/1
  kIgnoresEndStreamOnMessages,    // 6.4/3
  kRepliesOnlyAfterHalfClose,     // 6.4/5
  kClosesAfterACallError,         // 6.5/1, 6.5/2, 8.1/12, 8.2/1, 8.2/2
  kMalformedNamesNotFound,        // 6.5/3
  kIgnoresDeadlines,              // 6.6/*
  kLowerCasesKeys,                // 6.7/1
  kStripsUnprintableBytes,        // 6.7/2
  kRejectsRepeatedKeys,           // 6.7/3
  kDropsLargeMetadata,            // 6.7/4
  kMetadataLimitOffByOne,         // 6.7/5
  kIgnoresTheClientsWindow,       // 6.8/1
  kNeverReturnsWindow,            // 6.8/2
  kRefusesMessagesOverAWindow,    // 6.8/3
  kLetsMalformedFramesThrough,    // 8.1/1-11
  kFrameLimitOffByOne,            // 8.2/3
  kCloseAtOnceOnSigterm,          // 9/1
  kRejectsUnknownTypes,           // 10/1
  kRejectsOversizedUnknownTypes,  // 10/2
  kOversizedUnknownEndsTheCall,   // 10/3
};

struct BugForCheck {
  const char* check_id;
  Bug bug;
};

constexpr BugForCheck kBugs[] = {
    {"3/1", Bug::kFrameBeforeTheFirstAnswer},
    {"3/2", Bug::kJudgesAPartialPreface},
    {"3/3", Bug::kGoAwayBeforeThePreface},
    {"3/4", Bug::kNoGoAwayForABadVersion},
    {"3/5", Bug::kSilentOnAMissingPreface},
    {"4.3/1", Bug::kPingFlagsTakenLiterally},
    {"4.3/2", Bug::kRejectsUnknownCallFlags},
    {"4.7/1", Bug::kIgnoresCancel},
    {"4.7/2", Bug::kIgnoresCancel},
    {"4.8/1", Bug::kIgnoresClientGoAway},
    {"4.9/1", Bug::kCorruptsPingAcks},
    {"4.9/2", Bug::kAnswersPingAcks},
    {"4.10/1", Bug::kRejectsWindowUpdateOnStream0},
    {"4.11/1", Bug::kCountsMessagesAfterHalfClose},
    {"6.1/1", Bug::kRejectsUnknownStreams},
    {"6.1/2", Bug::kRejectsSparseStreamIds},
    {"6.2/1", Bug::kAnswersAfterTheStatus},
    {"6.3/1", Bug::kSetsEndStreamOnReplies},
    {"6.3/2", Bug::kRejectsHalfClose},
    {"6.3/3", Bug::kIgnoresEndStreamOnHeaders},
    {"6.3/4", Bug::kIgnoresHalfClose},
    {"6.3/5", Bug::kRejectsInterleavedCalls},
    {"6.3/6", Bug::kDropsInitialMetadata},
    {"6.4/1", Bug::kDropsTheSecondReply},
    {"6.4/2", Bug::kIgnoresHalfClose},
    {"6.4/3", Bug::kIgnoresEndStreamOnMessages},
    {"6.4/4", Bug::kIgnoresEndStreamOnHeaders},
    {"6.4/5", Bug::kRepliesOnlyAfterHalfClose},
    {"6.4/6", Bug::kIgnoresHalfClose},
    {"6.5/1", Bug::kClosesAfterACallError},
    {"6.5/2", Bug::kClosesAfterACallError},
    {"6.5/3", Bug::kMalformedNamesNotFound},
    {"6.6/1", Bug::kIgnoresDeadlines},
    {"6.6/2", Bug::kIgnoresDeadlines},
    {"6.7/1", Bug::kLowerCasesKeys},
    {"6.7/2", Bug::kStripsUnprintableBytes},
    {"6.7/3", Bug::kRejectsRepeatedKeys},
    {"6.7/4", Bug::kDropsLargeMetadata},
    {"6.7/5", Bug::kMetadataLimitOffByOne},
    {"6.7/6", Bug::kDropsInitialMetadata},
    {"6.8/1", Bug::kIgnoresTheClientsWindow},
    {"6.8/2", Bug::kNeverReturnsWindow},
    {"6.8/3", Bug::kRefusesMessagesOverAWindow},
    {"8.1/1", Bug::kLetsMalformedFramesThrough},
    {"8.1/2", Bug::kLetsMalformedFramesThrough},
    {"8.1/3", Bug::kLetsMalformedFramesThrough},
    {"8.1/4", Bug::kLetsMalformedFramesThrough},
    {"8.1/5", Bug::kLetsMalformedFramesThrough},
    {"8.1/6", Bug::kLetsMalformedFramesThrough},
    {"8.1/7", Bug::kLetsMalformedFramesThrough},
    {"8.1/8", Bug::kLetsMalformedFramesThrough},
    {"8.1/9", Bug::kLetsMalformedFramesThrough},
    {"8.1/10", Bug::kLetsMalformedFramesThrough},
    {"8.1/11", Bug::kLetsMalformedFramesThrough},
    {"8.1/12", Bug::kClosesAfterACallError},
    {"8.2/1", Bug::kClosesAfterACallError},
    {"8.2/2", Bug::kClosesAfterACallError},
    {"8.2/3", Bug::kFrameLimitOffByOne},
    {"9/1", Bug::kCloseAtOnceOnSigterm},
    {"10/1", Bug::kRejectsUnknownTypes},
    {"10/2", Bug::kRejectsOversizedUnknownTypes},
    {"10/3", Bug::kOversizedUnknownEndsTheCall},
};

// The bug that breaks the rule of `check_id` (kNone for ""); `*found`
// says whether there is one.
inline Bug BugFor(const std::string& check_id, bool* found) {
  *found = check_id.empty();
  for (const BugForCheck& entry : kBugs) {
    if (check_id == entry.check_id) {
      *found = true;
      return entry.bug;
    }
  }
  return Bug::kNone;
}

}  // namespace conformance
}  // namespace sockrpc

#endif  // SOCKRPC_TESTS_CONFORMANCE_MISBEHAVING_BUGS_H_
