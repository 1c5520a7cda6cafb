// compat_server_v2: serves version 2 of the Catalog service
// (tests/compat/v2/catalog.proto) for the compatibility tests.
//
//   compat_server_v2 --listen ADDRESS
//
// For every call it prints one line saying what it received, which the
// tests read:
//   v2 Lookup sku="chair-1" locale="" peer=unix:/tmp/sockrpc-x/catalog
// A v1 client never sends locale, so this server sees it at its default "".
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "tests/compat/serve.h"
#include "tests/testing/serve_until_signal.h"
#include "v2/catalog.sockrpc.pb.h"

namespace {

// One catalog entry of version 2: titles in two languages, and stock.
struct Entry {
  const char* sku;
  const char* title_en;
  const char* title_fr;
  uint32_t stock;
  const char* description;
};

constexpr Entry kCatalog[] = {
    {"chair-1", "Chair", "Chaise", 12, "A wooden chair with four legs."},
    {"table-1", "Table", "Table", 3, "A round table that seats four."},
};

const Entry* Find(const std::string& sku) {
  for (const Entry& entry : kCatalog) {
    if (sku == entry.sku) return &entry;
  }
  return nullptr;
}

absl::Status NoSuchSku(const std::string& sku) {
  return absl::NotFoundError(
      absl::StrCat("no sku \"", absl::CHexEscape(sku), "\""));
}

class CatalogV2 final : public compat::Catalog::Service {
 public:
  absl::Status Lookup(sockrpc::ServerContext* context,
                      const compat::LookupRequest& request,
                      compat::LookupReply* reply) override {
    sockrpc::testing::PrintLine(absl::StrCat(
        "v2 Lookup sku=\"", absl::CHexEscape(request.sku()), "\" locale=\"",
        absl::CHexEscape(request.locale()), "\" peer=", context->peer()));
    const Entry* entry = Find(request.sku());
    if (entry == nullptr) return NoSuchSku(request.sku());
    const std::string& locale = request.locale();
    if (!locale.empty() && locale != "en" && locale != "fr") {
      return absl::InvalidArgumentError(absl::StrCat(
          "unsupported locale \"", absl::CHexEscape(locale), "\""));
    }
    reply->set_sku(request.sku());
    reply->set_title(locale == "fr" ? entry->title_fr : entry->title_en);
    reply->set_stock(entry->stock);
    return absl::OkStatus();
  }

  absl::Status Describe(sockrpc::ServerContext* context,
                        const compat::DescribeRequest& request,
                        compat::DescribeReply* reply) override {
    sockrpc::testing::PrintLine(absl::StrCat("v2 Describe sku=\"",
                                   absl::CHexEscape(request.sku()), "\""));
    const Entry* entry = Find(request.sku());
    if (entry == nullptr) return NoSuchSku(request.sku());
    reply->set_description(entry->description);
    return absl::OkStatus();
  }
};

}  // namespace

int main(int argc, char** argv) {
  CatalogV2 service;
  return compat::ServeUntilSignal("compat_server_v2", &service, argc, argv);
}
