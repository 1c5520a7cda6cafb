// Tests of MatchFdFields (transport/fd_fields.h): which descriptors a
// message's sockrpc.FileDescriptor fields name, in generated messages and
// in dynamic ones (what `sockrpc call` parses replies into, from a schema
// it got by reflection or --proto: a pool of its own, not the generated
// one).
#include "transport/fd_fields.h"

#include <fcntl.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/dynamic_message.h"
#include "gtest/gtest.h"
#include "sockrpc/fd.pb.h"

namespace sockrpc {
namespace {

using ::google::protobuf::DescriptorPool;
using ::google::protobuf::DynamicMessageFactory;
using ::google::protobuf::FileDescriptorProto;
using ::google::protobuf::Message;

std::vector<Fd> OpenDevNull(int count) {
  std::vector<Fd> fds;
  for (int i = 0; i < count; ++i) {
    fds.emplace_back(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  }
  return fds;
}

// A pool of its own holding sockrpc/fd.proto and
//   message Reply { sockrpc.FileDescriptor file = 1;
//                   repeated Holder holders = 2; }
//   message Holder { sockrpc.FileDescriptor file = 1; }
class DynamicMessagesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    FileDescriptorProto fd_file;
    FileDescriptor::descriptor()->file()->CopyTo(&fd_file);
    ASSERT_NE(pool_.BuildFile(fd_file), nullptr);
    FileDescriptorProto file;
    file.set_name("reply.proto");
    file.set_package("t");
    file.set_syntax("proto3");
    file.add_dependency(fd_file.name());
    auto* holder = file.add_message_type();
    holder->set_name("Holder");
    auto* field = holder->add_field();
    field->set_name("file");
    field->set_number(1);
    field->set_type(google::protobuf::FieldDescriptorProto::TYPE_MESSAGE);
    field->set_type_name(".sockrpc.FileDescriptor");
    field->set_label(google::protobuf::FieldDescriptorProto::LABEL_OPTIONAL);
    auto* reply = file.add_message_type();
    reply->set_name("Reply");
    *reply->add_field() = *field;
    auto* holders = reply->add_field();
    holders->set_name("holders");
    holders->set_number(2);
    holders->set_type(google::protobuf::FieldDescriptorProto::TYPE_MESSAGE);
    holders->set_type_name(".t.Holder");
    holders->set_label(google::protobuf::FieldDescriptorProto::LABEL_REPEATED);
    ASSERT_NE(pool_.BuildFile(file), nullptr);
    const auto* type = pool_.FindMessageTypeByName("t.Reply");
    ASSERT_NE(type, nullptr);
    // Not the generated type: the same name in another pool.
    ASSERT_NE(pool_.FindMessageTypeByName("sockrpc.FileDescriptor"),
              FileDescriptor::descriptor());
    reply_.reset(factory_.GetPrototype(type)->New());
  }

  // Sets the `index` of the FileDescriptor `message` is or holds in
  // `field`.
  static void SetIndex(Message* message, const std::string& field,
                       uint32_t index) {
    const auto* descriptor = message->GetDescriptor()->FindFieldByName(field);
    Message* file =
        message->GetReflection()->MutableMessage(message, descriptor);
    file->GetReflection()->SetUInt32(
        file, file->GetDescriptor()->FindFieldByName("index"), index);
  }

  DescriptorPool pool_;
  DynamicMessageFactory factory_;
  std::unique_ptr<Message> reply_;
};

TEST_F(DynamicMessagesTest, NamedDescriptorsStayTheRestClose) {
  SetIndex(reply_.get(), "file", 2);
  Message* holder = reply_->GetReflection()->AddMessage(
      reply_.get(), reply_->GetDescriptor()->FindFieldByName("holders"));
  SetIndex(holder, "file", 0);
  std::vector<Fd> fds = OpenDevNull(3);
  ASSERT_TRUE(MatchFdFields(*reply_, &fds).ok());
  ASSERT_EQ(fds.size(), 3u);
  EXPECT_TRUE(fds[0].valid());
  EXPECT_FALSE(fds[1].valid());  // named by no field: closed
  EXPECT_TRUE(fds[2].valid());
}

TEST_F(DynamicMessagesTest, AnIndexOutOfRangeIsAnError) {
  SetIndex(reply_.get(), "file", 5);
  std::vector<Fd> fds = OpenDevNull(2);
  absl::Status matched = MatchFdFields(*reply_, &fds);
  EXPECT_EQ(matched.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(matched.message(),
            "file descriptor index 5, but the message came with 2");
}

TEST(GeneratedMessagesTest, TheFieldItselfNamesItsDescriptor) {
  FileDescriptor field;
  field.set_index(1);
  std::vector<Fd> fds = OpenDevNull(2);
  ASSERT_TRUE(MatchFdFields(field, &fds).ok());
  EXPECT_FALSE(fds[0].valid());
  EXPECT_TRUE(fds[1].valid());
}

}  // namespace
}  // namespace sockrpc
