// Inspector is what `sockrpc tap` and `sockrpc decode` share: it keeps a
// ConnectionDecoder per connection, prints every event as it is decoded,
// and (for the tap) records the traffic in a capture file. Because the tap
// and the decoder of a saved capture feed it the same calls, they print the
// same lines. Internal to the tool.
//
// Thread-safe: calls for any connection may come from any thread; one lock
// serializes decoding, printing and recording, so lines never interleave and
// the capture holds packets in the order they were printed.
#ifndef SOCKRPC_TOOLS_CLI_INSPECTOR_H_
#define SOCKRPC_TOOLS_CLI_INSPECTOR_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "transport/sync.h"
#include "absl/time/time.h"
#include "tools/cli/connection_decoder.h"
#include "tools/cli/frame_printer.h"
#include "tools/cli/pcapng_writer.h"

namespace sockrpc {
namespace cli {

class Inspector {
 public:
  // Prints to `out` (borrowed; it must outlive the Inspector). `capture`
  // may be null (no --save).
  Inspector(const DecodeOptions& decode, const PrintOptions& print,
            std::FILE* out, std::unique_ptr<PcapngWriter> capture);

  // Connections opened after this decode with `pool` (borrowed; it must
  // outlive the Inspector). For a schema that arrives late.
  void SetPool(const google::protobuf::DescriptorPool* pool);

  void Open(uint32_t connection, absl::Time time,
            absl::string_view description);
  void Data(uint32_t connection, Direction direction, absl::Time time,
            absl::string_view bytes);
  // Descriptors that came with the bytes the next Data() of `direction`
  // brings, described (`fds`), and what became of them (`outcome`). Printed
  // only: a capture cannot hold descriptors.
  void Fds(uint32_t connection, Direction direction, absl::Time time,
           std::vector<std::string> fds, absl::string_view outcome);
  // `failure` empty: an orderly end of stream.
  void End(uint32_t connection, Direction direction, absl::Time time,
           absl::string_view failure);

  // The first error writing the capture, if any (recording stops there;
  // forwarding and printing go on).
  absl::Status capture_status() const;

 private:
  // Connection state: its decoder, and which directions have ended.
  struct Tracked {
    std::unique_ptr<ConnectionDecoder> decoder;
    bool ended[2] = {false, false};
    uint64_t bytes[2] = {0, 0};  // received so far, by direction
  };
  Tracked& FindLocked(uint32_t connection) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PrintLocked(const std::vector<InspectEvent>& events)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RecordLocked(const absl::Status& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const PrintOptions print_;
  std::FILE* const out_;

  mutable sockrpc::Mutex mu_;
  DecodeOptions decode_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<PcapngWriter> capture_ ABSL_GUARDED_BY(mu_);
  absl::Status capture_status_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<uint32_t, Tracked> connections_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cli
}  // namespace sockrpc

#endif  // SOCKRPC_TOOLS_CLI_INSPECTOR_H_
