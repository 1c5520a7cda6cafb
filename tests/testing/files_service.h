// The Files test service (tests/protos/sockrpc/test/fds/files.proto),
// which passes file descriptors both ways, with blocking handlers and with
// reactors: Describe* read what each descriptor of a request holds (or the
// error TakeFd() gave), Open* hand out memfds holding a text.
#ifndef SOCKRPC_TESTS_TESTING_FILES_SERVICE_H_
#define SOCKRPC_TESTS_TESTING_FILES_SERVICE_H_

#include "sockrpc/test/fds/files.sockrpc.pb.h"

namespace sockrpc {
namespace testing {

class FilesService final : public test::fds::Files::Service {
 public:
  absl::Status Describe(ServerContext* context,
                        const test::fds::DescribeRequest& request,
                        test::fds::DescribeReply* reply) override;
  absl::Status DescribeAll(ServerContext* context,
                           ServerReader<test::fds::DescribeRequest>* reader,
                           test::fds::DescribeReply* reply) override;
  absl::Status Open(ServerContext* context,
                    const test::fds::OpenRequest& request,
                    test::fds::OpenReply* reply) override;
  absl::Status OpenEach(ServerContext* context,
                        const test::fds::OpenRequest& request,
                        ServerWriter<test::fds::OpenReply>* writer) override;
};

class CallbackFilesService final : public test::fds::Files::CallbackService {
 public:
  ServerUnaryReactor* Describe(CallbackServerContext* context,
                               const test::fds::DescribeRequest* request,
                               test::fds::DescribeReply* reply) override;
  ServerReadReactor<test::fds::DescribeRequest>* DescribeAll(
      CallbackServerContext* context, test::fds::DescribeReply* reply) override;
  ServerUnaryReactor* Open(CallbackServerContext* context,
                           const test::fds::OpenRequest* request,
                           test::fds::OpenReply* reply) override;
  ServerWriteReactor<test::fds::OpenReply>* OpenEach(
      CallbackServerContext* context,
      const test::fds::OpenRequest* request) override;
};

}  // namespace testing
}  // namespace sockrpc

#endif  // SOCKRPC_TESTS_TESTING_FILES_SERVICE_H_
