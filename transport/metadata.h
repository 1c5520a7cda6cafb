// Call metadata: ordered key/value pairs sent with a call (request
// metadata) and with its reply (initial and trailing metadata).
//
// Keys are lower-case ASCII letters, digits and "-_."; a key ending in
// "-bin" holds arbitrary bytes, any other key printable ASCII (0x20-0x7e).
// Keys may repeat. Thread-compatible value types.
#ifndef SOCKRPC_TRANSPORT_METADATA_H_
#define SOCKRPC_TRANSPORT_METADATA_H_

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sockrpc {

// Metadata holds entries in the order they were added.
using Metadata = std::vector<std::pair<std::string, std::string>>;

// Default limit on the metadata of one direction of a call (request
// metadata; or initial plus trailing metadata), counted as the sum of the
// sizes of keys and values.
inline constexpr size_t kDefaultMaxMetadataSize = 16 * 1024;

// ValidateMetadataEntry returns INVALID_ARGUMENT naming the key if the
// entry breaks the rules above.
absl::Status ValidateMetadataEntry(absl::string_view key,
                                   absl::string_view value);

// MetadataSize is the sum of the sizes of the keys and values.
size_t MetadataSize(const Metadata& metadata);

// ValidateMetadata checks every entry (INVALID_ARGUMENT) and that the
// whole is at most `max_size` bytes (RESOURCE_EXHAUSTED).
absl::Status ValidateMetadata(const Metadata& metadata,
                              size_t max_size = kDefaultMaxMetadataSize);

}  // namespace sockrpc

#endif  // SOCKRPC_TRANSPORT_METADATA_H_
