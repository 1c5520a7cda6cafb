#include "tools/cli/inspector.h"

#include <utility>

namespace sockrpc {
namespace cli {

Inspector::Inspector(const DecodeOptions& decode, const PrintOptions& print,
                     std::FILE* out, std::unique_ptr<PcapngWriter> capture)
    : print_(print), out_(out), decode_(decode), capture_(std::move(capture)) {}

void Inspector::SetPool(const google::protobuf::DescriptorPool* pool) {
  sockrpc::MutexLock lock(&mu_);
  decode_.pool = pool;
}

Inspector::Tracked& Inspector::FindLocked(uint32_t connection) {
  Tracked& tracked = connections_[connection];
  if (tracked.decoder == nullptr) {
    tracked.decoder = std::make_unique<ConnectionDecoder>(connection, decode_);
  }
  return tracked;
}

void Inspector::PrintLocked(const std::vector<InspectEvent>& events) {
  for (const InspectEvent& event : events) {
    std::string line = FormatEvent(event, print_);
    std::fwrite(line.data(), 1, line.size(), out_);
  }
  std::fflush(out_);
}

void Inspector::RecordLocked(const absl::Status& status) {
  if (status.ok() || !capture_status_.ok()) return;
  capture_status_ = status;
  capture_.reset();
}

void Inspector::Open(uint32_t connection, absl::Time time,
                     absl::string_view description) {
  sockrpc::MutexLock lock(&mu_);
  connections_.erase(connection);
  std::vector<InspectEvent> events;
  FindLocked(connection).decoder->Open(time, description, &events);
  PrintLocked(events);
  if (capture_ != nullptr) {
    RecordLocked(capture_->Open(connection, time, description));
  }
}

void Inspector::Data(uint32_t connection, Direction direction,
                     absl::Time time, absl::string_view bytes) {
  sockrpc::MutexLock lock(&mu_);
  std::vector<InspectEvent> events;
  Tracked& tracked = FindLocked(connection);
  tracked.decoder->Data(direction, time, bytes, &events);
  tracked.bytes[static_cast<int>(direction)] += bytes.size();
  PrintLocked(events);
  if (capture_ != nullptr) {
    RecordLocked(capture_->Data(connection, direction, time, bytes));
  }
}

void Inspector::Fds(uint32_t connection, Direction direction, absl::Time time,
                    std::vector<std::string> fds, absl::string_view outcome) {
  sockrpc::MutexLock lock(&mu_);
  InspectEvent event;
  event.kind = EventKind::kFds;
  event.time = time;
  event.connection = connection;
  event.direction = direction;
  event.offset = FindLocked(connection).bytes[static_cast<int>(direction)];
  event.fds = std::move(fds);
  event.text = std::string(outcome);
  PrintLocked({event});
}

void Inspector::End(uint32_t connection, Direction direction, absl::Time time,
                    absl::string_view failure) {
  sockrpc::MutexLock lock(&mu_);
  std::vector<InspectEvent> events;
  Tracked& tracked = FindLocked(connection);
  tracked.decoder->End(direction, time, failure, &events);
  tracked.ended[static_cast<int>(direction)] = true;
  if (tracked.ended[0] && tracked.ended[1]) connections_.erase(connection);
  PrintLocked(events);
  if (capture_ != nullptr) {
    RecordLocked(capture_->End(connection, direction, time, failure));
  }
}

absl::Status Inspector::capture_status() const {
  sockrpc::MutexLock lock(&mu_);
  return capture_status_;
}

}  // namespace cli
}  // namespace sockrpc
