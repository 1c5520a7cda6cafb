// protoc-gen-sockrpc: the protoc plugin that generates sockrpc service code.
//
//   protoc --plugin=protoc-gen-sockrpc=PATH --cpp_out=DIR --sockrpc_out=DIR
//       foo.proto
//
// writes DIR/foo_client.sockrpc.pb.{h,cc} (the stubs),
// DIR/foo_server.sockrpc.pb.{h,cc} (the service base classes) and
// DIR/foo.sockrpc.pb.h (both). CMake projects use
// sockrpc_generate() (tools/protoc_plugin/sockrpc_generate.cmake) instead.
//
// protoc runs it with no arguments and talks to it over stdin and stdout;
// run by hand, it answers --help and --version.
#include <cstdio>
#include <cstring>

#include "google/protobuf/compiler/plugin.h"
#include "sockrpc/version.h"
#include "tools/protoc_plugin/generator.h"

namespace {

constexpr char kHelp[] =
    "Usage: protoc --plugin=protoc-gen-sockrpc=PATH --cpp_out=DIR "
    "--sockrpc_out=[mocks:]DIR FILE.proto...\n"
    "\n"
    "The protoc plugin of sockrpc: for each FILE.proto with services it\n"
    "writes DIR/FILE_client.sockrpc.pb.{h,cc} (the typed client stubs),\n"
    "DIR/FILE_server.sockrpc.pb.{h,cc} (the service base classes) and\n"
    "DIR/FILE.sockrpc.pb.h (both). protoc runs it; CMake projects call\n"
    "sockrpc_generate() instead (find_package(sockrpc)).\n"
    "\n"
    "Options (of --sockrpc_out, before the colon):\n"
    "  mocks\n"
    "      also write DIR/FILE_mock.sockrpc.pb.h, GoogleMock classes of the\n"
    "      stubs' interfaces\n"
    "\n"
    "Options (of the plugin itself, when run by hand):\n"
    "  --help\n"
    "      print this help and exit\n"
    "  --version\n"
    "      print the version and exit\n";

}  // namespace

int main(int argc, char* argv[]) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0 ||
        std::strcmp(argv[i], "-h") == 0) {
      std::fputs(kHelp, stdout);
      return 0;
    }
    if (std::strcmp(argv[i], "--version") == 0) {
      std::printf("protoc-gen-sockrpc %s\n", SOCKRPC_VERSION_STRING);
      return 0;
    }
  }
  sockrpc::generator::Generator generator;
  return google::protobuf::compiler::PluginMain(argc, argv, &generator);
}
