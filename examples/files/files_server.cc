// files_server: hands out memfds and writes into files that clients pass
// (the example of descriptors in messages; see files.proto).
//
//   files_server [--listen unix:files.sock]
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "examples/common/program_flags.h"
#include "files_server.sockrpc.pb.h"
#include "sockrpc/server/server.h"
#include "sockrpc/server/termination_signals.h"

ABSL_FLAG(std::string, listen, "unix:files.sock",
          "where to listen: unix:PATH or unix-abstract:NAME (descriptors "
          "pass only over unix sockets)");

namespace {

absl::Status ErrnoError(const char* what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

class FilesImpl final : public files::Files::Service {
  absl::Status Share(sockrpc::ServerContext* context,
                     const files::ShareRequest& request,
                     files::ShareReply* reply) override {
    sockrpc::Fd memfd(
        ::memfd_create("files_server", MFD_CLOEXEC | MFD_ALLOW_SEALING));
    if (!memfd.valid()) return ErrnoError("memfd_create");
    const std::string& text = request.text();
    if (::write(memfd.get(), text.data(), text.size()) !=
        static_cast<ssize_t>(text.size())) {
      return ErrnoError("write");
    }
    // Sealed: the client gets a file nobody can change any more.
    if (::fcntl(memfd.get(), F_ADD_SEALS,
                F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) !=
        0) {
      return ErrnoError("F_ADD_SEALS");
    }
    *reply->mutable_file() = context->AttachFd(std::move(memfd));
    return absl::OkStatus();
  }

  absl::Status WriteTo(sockrpc::ServerContext* context,
                       const files::WriteToRequest& request,
                       files::WriteToReply* reply) override {
    absl::StatusOr<sockrpc::Fd> file = context->TakeFd(request.file());
    if (!file.ok()) return file.status();
    const std::string line = absl::StrCat(
        request.text(), " (written by files_server, pid ", ::getpid(), ")\n");
    const ssize_t n = ::write(file->get(), line.data(), line.size());
    if (n < 0) return ErrnoError("write");
    reply->set_bytes_written(static_cast<uint64_t>(n));
    return absl::OkStatus();
  }
};

}  // namespace

int main(int argc, char** argv) {
  sockrpc::examples::ParseProgramFlags(
      argc, argv,
      {"files_server [--listen unix:PATH]",
       "Serves files.Files: Share hands a client a sealed memfd holding a "
       "text, WriteTo writes a line into a file the client passes. Serves "
       "until SIGINT or SIGTERM."});
  sockrpc::TerminationSignals signals;  // before the server's threads start
  FilesImpl files;
  sockrpc::ServerOptions options;
  options.max_fds_per_message = 4;  // accept descriptors from clients
  sockrpc::Server server(std::move(options));
  absl::Status status = server.RegisterService(&files);
  absl::StatusOr<std::string> bound =
      server.Listen(absl::GetFlag(FLAGS_listen));
  if (status.ok()) status = bound.status();
  if (status.ok()) status = server.Start();
  if (!status.ok()) {
    std::fprintf(stderr, "files_server: %s\n", status.ToString().c_str());
    return 1;
  }
  std::fprintf(stderr, "files_server: listening on %s\n", bound->c_str());
  signals.Wait();
  server.Shutdown(absl::Now() + absl::Seconds(5));
  return 0;
}
