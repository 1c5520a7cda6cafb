// files_client: asks files_server for a memfd and reads it, then passes its
// own standard output for the server to write into (the example of
// descriptors in messages; see files.proto).
//
//   files_client [--target unix:files.sock] [--text hello]
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/time/time.h"
#include "examples/common/program_flags.h"
#include "files_client.sockrpc.pb.h"
#include "sockrpc/client/channel.h"

ABSL_FLAG(std::string, target, "unix:files.sock",
          "the server: unix:PATH or unix-abstract:NAME");
ABSL_FLAG(std::string, text, "hello", "what the server puts in the files");

namespace {

int Fail(const char* what, const absl::Status& status) {
  std::fprintf(stderr, "files_client: %s: %s\n", what,
               status.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  sockrpc::examples::ParseProgramFlags(
      argc, argv,
      {"files_client [--target unix:PATH] [--text TEXT]",
       "Gets a sealed memfd from files_server and prints what it holds, "
       "then passes its standard output to the server, which writes a line "
       "into it. Exits 1 if a call fails."});
  sockrpc::ChannelOptions options;
  options.max_fds_per_message = 1;  // accept descriptors in replies
  absl::StatusOr<std::shared_ptr<sockrpc::Channel>> channel =
      sockrpc::CreateChannel(absl::GetFlag(FLAGS_target), options);
  if (!channel.ok()) return Fail("bad target", channel.status());
  files::Files::Stub stub(*channel);

  // A descriptor in the reply: the server's memfd, ours to own.
  sockrpc::ClientContext share_context;
  share_context.set_timeout(absl::Seconds(10));
  files::ShareRequest share;
  share.set_text(absl::GetFlag(FLAGS_text));
  absl::StatusOr<files::ShareReply> shared = stub.Share(&share_context, share);
  if (!shared.ok()) return Fail("Share", shared.status());
  absl::StatusOr<sockrpc::Fd> memfd = share_context.TakeFd(shared->file());
  if (!memfd.ok()) return Fail("Share", memfd.status());
  struct stat info {};
  ::fstat(memfd->get(), &info);
  std::string text(static_cast<size_t>(info.st_size), '\0');
  const ssize_t got = ::pread(memfd->get(), &text[0], text.size(), 0);
  text.resize(got > 0 ? static_cast<size_t>(got) : 0);
  std::printf("memfd from the server (%lld bytes): %s\n",
              static_cast<long long>(info.st_size), text.c_str());
  std::fflush(stdout);

  // A descriptor in the request: our standard output, for the server.
  sockrpc::ClientContext write_context;
  write_context.set_timeout(absl::Seconds(10));
  files::WriteToRequest write;
  write.set_text(absl::GetFlag(FLAGS_text));
  sockrpc::Fd out(::dup(STDOUT_FILENO));
  *write.mutable_file() = write_context.AttachFd(std::move(out));
  absl::StatusOr<files::WriteToReply> written =
      stub.WriteTo(&write_context, write);
  if (!written.ok()) return Fail("WriteTo", written.status());
  std::printf("the server wrote %llu bytes into our standard output\n",
              static_cast<unsigned long long>(written->bytes_written()));
  return 0;
}
