// TempDir: a fresh directory under /tmp for one test, removed with
// everything in it when the TempDir goes away. Test-only.
//
// The path is short on purpose (/tmp/sockrpc-XXXXXX), so socket files made
// in it stay well under sockaddr_un's 108 bytes.
//
// Thread-compatible: path() may be read from any thread.
#ifndef SOCKRPC_TESTS_TESTING_TEMP_DIR_H_
#define SOCKRPC_TESTS_TESTING_TEMP_DIR_H_

#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace sockrpc {
namespace testing {

class TempDir {
 public:
  // Creates the directory (mode 0700). Throws std::runtime_error if mkdtemp
  // fails, which fails the test that asked for it.
  TempDir() {
    char name[] = "/tmp/sockrpc-XXXXXX";
    if (mkdtemp(name) == nullptr) {
      throw std::runtime_error(
          absl::StrCat("mkdtemp(/tmp/sockrpc-XXXXXX): ", std::strerror(errno)));
    }
    path_ = name;
  }
  // Removes the directory and everything in it (best effort).
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // The directory, without a trailing slash.
  const std::string& path() const { return path_; }

  // The path of `name` inside the directory.
  std::string File(absl::string_view name) const {
    return absl::StrCat(path_, "/", name);
  }

 private:
  std::string path_;
};

}  // namespace testing
}  // namespace sockrpc

#endif  // SOCKRPC_TESTS_TESTING_TEMP_DIR_H_
