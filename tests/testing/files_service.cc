#include "tests/testing/files_service.h"

#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "tests/testing/fd_testing.h"

namespace sockrpc {
namespace testing {
namespace {

using test::fds::DescribeReply;
using test::fds::DescribeRequest;
using test::fds::OpenReply;
using test::fds::OpenRequest;

// Describes each descriptor of `request` in order (files, wrapped, named by
// key): what it holds, or the error TakeFd() gave.
void DescribeInto(ServerContext* context, const DescribeRequest& request,
                  DescribeReply* reply) {
  auto describe = [&](const FileDescriptor& field) {
    absl::StatusOr<Fd> fd = context->TakeFd(field);
    reply->add_contents(fd.ok() ? Contents(fd->get())
                                : std::string(fd.status().message()));
  };
  for (const FileDescriptor& field : request.files()) describe(field);
  if (request.has_wrapped()) describe(request.wrapped().file());
  std::map<std::string, FileDescriptor> named(request.named().begin(),
                                              request.named().end());
  for (const auto& [key, field] : named) describe(field);
}

class DescribeReader final : public ServerReadReactor<DescribeRequest> {
 public:
  DescribeReader(CallbackServerContext* context, DescribeReply* reply)
      : context_(context), reply_(reply) {
    StartRead(&request_);
  }
  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(absl::OkStatus());
      return;
    }
    DescribeInto(context_, request_, reply_);
    StartRead(&request_);
  }
  void OnDone() override { delete this; }

 private:
  CallbackServerContext* const context_;
  DescribeReply* const reply_;
  DescribeRequest request_;
};

class OpenWriter final : public ServerWriteReactor<OpenReply> {
 public:
  OpenWriter(CallbackServerContext* context, const OpenRequest* request)
      : context_(context), request_(request) {
    WriteNext();
  }
  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(absl::CancelledError("write failed"));
      return;
    }
    WriteNext();
  }
  void OnDone() override { delete this; }

 private:
  void WriteNext() {
    if (sent_ == request_->count()) {
      Finish(absl::OkStatus());
      return;
    }
    reply_.Clear();
    *reply_.add_files() = context_->AttachFd(
        MemfdHolding(absl::StrCat(request_->text(), sent_++)));
    StartWrite(&reply_);
  }
  CallbackServerContext* const context_;
  const OpenRequest* const request_;
  OpenReply reply_;
  uint32_t sent_ = 0;
};

}  // namespace

absl::Status FilesService::Describe(ServerContext* context,
                                    const DescribeRequest& request,
                                    DescribeReply* reply) {
  DescribeInto(context, request, reply);
  return absl::OkStatus();
}

absl::Status FilesService::DescribeAll(ServerContext* context,
                                       ServerReader<DescribeRequest>* reader,
                                       DescribeReply* reply) {
  DescribeRequest request;
  while (reader->Read(&request)) DescribeInto(context, request, reply);
  return absl::OkStatus();
}

absl::Status FilesService::Open(ServerContext* context,
                                const OpenRequest& request, OpenReply* reply) {
  for (uint32_t i = 0; i < request.count(); ++i) {
    *reply->add_files() = context->AttachFd(MemfdHolding(request.text()));
  }
  return absl::OkStatus();
}

absl::Status FilesService::OpenEach(ServerContext* context,
                                    const OpenRequest& request,
                                    ServerWriter<OpenReply>* writer) {
  for (uint32_t i = 0; i < request.count(); ++i) {
    OpenReply reply;
    *reply.add_files() =
        context->AttachFd(MemfdHolding(absl::StrCat(request.text(), i)));
    if (!writer->Write(reply)) break;
  }
  return absl::OkStatus();
}

ServerUnaryReactor* CallbackFilesService::Describe(
    CallbackServerContext* context, const DescribeRequest* request,
    DescribeReply* reply) {
  DescribeInto(context, *request, reply);
  context->DefaultReactor()->Finish(absl::OkStatus());
  return context->DefaultReactor();
}

ServerReadReactor<DescribeRequest>* CallbackFilesService::DescribeAll(
    CallbackServerContext* context, DescribeReply* reply) {
  return new DescribeReader(context, reply);
}

ServerUnaryReactor* CallbackFilesService::Open(CallbackServerContext* context,
                                               const OpenRequest* request,
                                               OpenReply* reply) {
  for (uint32_t i = 0; i < request->count(); ++i) {
    *reply->add_files() = context->AttachFd(MemfdHolding(request->text()));
  }
  context->DefaultReactor()->Finish(absl::OkStatus());
  return context->DefaultReactor();
}

ServerWriteReactor<OpenReply>* CallbackFilesService::OpenEach(
    CallbackServerContext* context, const OpenRequest* request) {
  return new OpenWriter(context, request);
}

}  // namespace testing
}  // namespace sockrpc
