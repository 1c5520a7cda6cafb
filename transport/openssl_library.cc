#include "transport/openssl_library.h"

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"

namespace sockrpc {
namespace {

// OpenSSL 3's ABI name; libssl links libcrypto, whose functions dlsym()
// finds through libssl's handle.
constexpr char kLibSsl[] = "libssl.so.3";

std::string LoaderError() {
  const char* error = dlerror();
  return error != nullptr ? error : "unknown error";
}

}  // namespace

absl::StatusOr<std::unique_ptr<const OpenSslLibrary>> LoadOpenSslFrom(
    const char* file_name) {
  const std::string wanted =
      absl::StrCat("TLS needs OpenSSL 3 (", file_name, "): ");
  // Never closed: OpenSSL registers an exit handler and thread-local
  // destructors, so its code must stay mapped (RTLD_NODELETE keeps it even
  // if the handle is closed, as on a missing function below).
  void* handle = dlopen(file_name, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (handle == nullptr) {
    return absl::UnavailableError(absl::StrCat(wanted, LoaderError()));
  }
  auto library = std::make_unique<OpenSslLibrary>();
  std::string missing;
#define SOCKRPC_OPENSSL_FIND(name)                                           \
  library->name = reinterpret_cast<decltype(&::name)>(dlsym(handle, #name)); \
  if (library->name == nullptr) absl::StrAppend(&missing, " ", #name);
  SOCKRPC_OPENSSL_FUNCTIONS(SOCKRPC_OPENSSL_FIND)
#undef SOCKRPC_OPENSSL_FIND
  if (!missing.empty()) {
    dlclose(handle);
    return absl::UnavailableError(absl::StrCat(wanted, "it lacks", missing));
  }
  return std::unique_ptr<const OpenSslLibrary>(std::move(library));
}

absl::StatusOr<const OpenSslLibrary*> LoadOpenSsl() {
  // Made by the first caller (C++ makes the others wait), never changed.
  static const auto* const loaded =
      new absl::StatusOr<std::unique_ptr<const OpenSslLibrary>>(
          LoadOpenSslFrom(kLibSsl));
  if (!loaded->ok()) return loaded->status();
  return loaded->value().get();
}

const OpenSslLibrary& LoadedOpenSsl() {
  absl::StatusOr<const OpenSslLibrary*> loaded = LoadOpenSsl();
  if (!loaded.ok()) {
    // Unreachable: OpenSSL's objects, whose code calls this, are made only
    // through a loaded table.
    std::fprintf(stderr, "sockrpc: OpenSSL used before it was loaded: %s\n",
                 std::string(loaded.status().message()).c_str());
    std::abort();
  }
  return **loaded;
}

}  // namespace sockrpc
