#include "tools/cli/probe_setup.h"

#include <utility>

#include "absl/status/statusor.h"
#include "tools/cli/common_options.h"

namespace sockrpc {
namespace cli {

std::optional<int> SetUpProbe(const ArgParser& parser,
                              const std::string& address,
                              const ProbeFlags& flags, Probe* probe) {
  absl::StatusOr<absl::Duration> connect_timeout =
      ParsePositiveDuration("--connect-timeout", flags.connect_timeout);
  if (!connect_timeout.ok()) {
    return parser.UsageError(connect_timeout.status().message());
  }
  absl::StatusOr<absl::Duration> timeout =
      ParsePositiveDuration("--timeout", flags.timeout);
  if (!timeout.ok()) return parser.UsageError(timeout.status().message());
  probe->timeout = *timeout;
  absl::StatusOr<Metadata> metadata = ParseHeaders("-H", flags.headers);
  if (!metadata.ok()) return parser.UsageError(metadata.status().message());
  probe->metadata = *std::move(metadata);
  if (flags.watch) {
    absl::StatusOr<StopSignals> blocked = StopSignals::Block();
    if (!blocked.ok()) return ReportFailure(blocked.status());
    probe->stop.emplace(*std::move(blocked));
  }
  ChannelOptions options;
  options.connect_timeout = *connect_timeout;
  absl::StatusOr<std::optional<TlsChannelOptions>> tls =
      TlsOptionsOf(flags.tls);
  if (!tls.ok()) return parser.UsageError(tls.status().message());
  options.tls = *std::move(tls);
  absl::StatusOr<std::shared_ptr<Channel>> channel =
      CreateChannel(address, options);
  if (!channel.ok()) return parser.UsageError(channel.status().message());
  probe->channel = *std::move(channel);
  return std::nullopt;
}

}  // namespace cli
}  // namespace sockrpc
