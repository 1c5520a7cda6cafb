// Golden-file test of protoc-gen-sockrpc: the code it generates for
// examples/increment/increment.proto must equal the checked-in copies under
// tests/golden/.
//
// A failure means the generator's output changed. If the change is intended,
// refresh the golden files with
//   cmake --build <build dir> --target sockrpc_update_golden_files
// and review their diff along with the generator's.

#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"

namespace {

std::string ReadFileOrDie(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  EXPECT_TRUE(file.good()) << "cannot open " << path;
  std::ostringstream contents;
  contents << file.rdbuf();
  return contents.str();
}

void ExpectMatchesGolden(const std::string& name) {
  const std::string generated =
      ReadFileOrDie(std::string(SOCKRPC_GENERATED_DIR) + "/" + name);
  const std::string golden =
      ReadFileOrDie(std::string(SOCKRPC_GOLDEN_DIR) + "/" + name + ".golden");
  EXPECT_EQ(generated, golden)
      << "The generated " << name << " differs from tests/golden/" << name
      << ".golden. If the generator changed on purpose, run\n"
      << "  cmake --build <build dir> --target sockrpc_update_golden_files\n"
      << "and review the golden files' diff.";
}

TEST(GeneratorGoldenTest, IncrementHeaderMatchesGolden) {
  ExpectMatchesGolden("increment.sockrpc.pb.h");
}

TEST(GeneratorGoldenTest, IncrementClientHalfMatchesGolden) {
  ExpectMatchesGolden("increment_client.sockrpc.pb.h");
  ExpectMatchesGolden("increment_client.sockrpc.pb.cc");
}

TEST(GeneratorGoldenTest, IncrementServerHalfMatchesGolden) {
  ExpectMatchesGolden("increment_server.sockrpc.pb.h");
  ExpectMatchesGolden("increment_server.sockrpc.pb.cc");
}

}  // namespace
