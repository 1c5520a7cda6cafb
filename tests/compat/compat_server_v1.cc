// compat_server_v1: serves version 1 of the Catalog service
// (tests/compat/v1/catalog.proto) for the compatibility tests.
//
//   compat_server_v1 --listen ADDRESS
//
// For every Lookup it prints one line saying what it received, which the
// tests read:
//   v1 Lookup sku="chair-1" unknown_fields=1 peer=ipv4:127.0.0.1:40112
// unknown_fields counts the request fields this version does not know (a
// v2 client's locale): protobuf parses them and the handler ignores them.
#include <string>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "tests/compat/serve.h"
#include "tests/testing/serve_until_signal.h"
#include "v1/catalog.sockrpc.pb.h"

namespace {

// The whole catalog of version 1: English titles only.
const char* TitleOf(const std::string& sku) {
  if (sku == "chair-1") return "Chair";
  if (sku == "table-1") return "Table";
  return nullptr;
}

class CatalogV1 final : public compat::Catalog::Service {
 public:
  absl::Status Lookup(sockrpc::ServerContext* context,
                      const compat::LookupRequest& request,
                      compat::LookupReply* reply) override {
    sockrpc::testing::PrintLine(absl::StrCat(
        "v1 Lookup sku=\"", absl::CHexEscape(request.sku()),
        "\" unknown_fields=",
        request.GetReflection()->GetUnknownFields(request).field_count(),
        " peer=", context->peer()));
    const char* title = TitleOf(request.sku());
    if (title == nullptr) {
      return absl::NotFoundError(
          absl::StrCat("no sku \"", absl::CHexEscape(request.sku()), "\""));
    }
    reply->set_sku(request.sku());
    reply->set_title(title);
    return absl::OkStatus();
  }
};

}  // namespace

int main(int argc, char** argv) {
  CatalogV1 service;
  return compat::ServeUntilSignal("compat_server_v1", &service, argc, argv);
}
