#include "transport/fd_fields.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "sockrpc/fd.pb.h"

namespace sockrpc {
namespace {

using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::Message;
using ::google::protobuf::Reflection;

// The index a sockrpc.FileDescriptor names, if `message` is one: the
// generated type, or the same type from another pool (a dynamic message,
// as the sockrpc tool parses replies with a schema from reflection).
std::optional<uint32_t> IndexIfFileDescriptor(const Message& message) {
  const google::protobuf::Descriptor* type = message.GetDescriptor();
  if (type == FileDescriptor::descriptor()) {
    return static_cast<const FileDescriptor&>(message).index();
  }
  if (type->full_name() != FileDescriptor::descriptor()->full_name()) {
    return std::nullopt;
  }
  const FieldDescriptor* index = type->FindFieldByNumber(1);
  if (index == nullptr ||
      index->cpp_type() != FieldDescriptor::CPPTYPE_UINT32 ||
      index->is_repeated()) {
    return std::nullopt;  // not the real one: looked into as any message
  }
  return message.GetReflection()->GetUInt32(message, index);
}

// Marks in `named` the indexes `message` and the messages in it name;
// the first index out of range is an error.
absl::Status Visit(const Message& message, size_t count,
                   std::vector<bool>* named) {
  if (const std::optional<uint32_t> found = IndexIfFileDescriptor(message)) {
    const uint32_t index = *found;
    if (index >= count) {
      return absl::InvalidArgumentError(
          absl::StrCat("file descriptor index ", index,
                       ", but the message came with ", count));
    }
    (*named)[index] = true;
    return absl::OkStatus();
  }
  const Reflection* reflection = message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) continue;
    if (field->is_repeated()) {
      const int size = reflection->FieldSize(message, field);
      for (int i = 0; i < size; ++i) {
        absl::Status visited = Visit(
            reflection->GetRepeatedMessage(message, field, i), count, named);
        if (!visited.ok()) return visited;
      }
    } else {
      absl::Status visited =
          Visit(reflection->GetMessage(message, field), count, named);
      if (!visited.ok()) return visited;
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status MatchFdFields(const google::protobuf::MessageLite& message,
                           std::vector<Fd>* fds) {
  const auto* full = dynamic_cast<const Message*>(&message);
  if (full == nullptr) return absl::OkStatus();
  std::vector<bool> named(fds->size(), false);
  absl::Status visited = Visit(*full, fds->size(), &named);
  if (!visited.ok()) return visited;
  for (size_t i = 0; i < fds->size(); ++i) {
    if (!named[i]) (*fds)[i].reset();
  }
  return absl::OkStatus();
}

}  // namespace sockrpc
