#include "tools/cli/fd_description.h"

#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"

namespace sockrpc {
namespace cli {
namespace {

const char* TypeName(mode_t mode) {
  if (S_ISREG(mode)) return "regular file";
  if (S_ISDIR(mode)) return "directory";
  if (S_ISCHR(mode)) return "character device";
  if (S_ISBLK(mode)) return "block device";
  if (S_ISFIFO(mode)) return "pipe";
  if (S_ISSOCK(mode)) return "socket";
  if (S_ISLNK(mode)) return "symbolic link";
  return "unknown type";
}

}  // namespace

std::string DescribeFd(int fd) {
  struct stat info;
  if (::fstat(fd, &info) != 0) return "not open";
  std::string text = TypeName(info.st_mode);
  if (S_ISREG(info.st_mode)) {
    absl::StrAppend(&text, ", ", static_cast<long long>(info.st_size),
                    " bytes");
  }
  char target[512];
  const std::string link = absl::StrCat("/proc/self/fd/", fd);
  const ssize_t length = ::readlink(link.c_str(), target, sizeof(target) - 1);
  if (length > 0) {
    absl::StrAppend(&text, ", ",
                    absl::string_view(target, static_cast<size_t>(length)));
  }
  return text;
}

}  // namespace cli
}  // namespace sockrpc
