// Socket activation: listening sockets handed to this process by systemd
// (or by anything that follows its protocol, such as
// systemd-socket-activate), taken without libsystemd.
//
// The protocol (sd_listen_fds(3)): the environment holds LISTEN_PID (the
// pid meant to take the sockets), LISTEN_FDS (how many, the first being
// fd 3) and optionally LISTEN_FDNAMES (their names, colon-separated, from
// FileDescriptorName= of the .socket unit; systemd's default is the unit's
// name).
//
// The environment is read once per process, on the first TakePassedSockets()
// call: the sockets are then held in a table owned by this file (process-
// wide state, unavoidable since the environment itself is process-wide),
// each wrapped in an Fd at once and made close-on-exec, and the LISTEN_*
// variables are unset so that child processes do not take them too. A
// socket that no call takes stays open, in the table, for the life of the
// process: another part of the program may know what to do with it.
//
// Thread-safe.
#ifndef SOCKRPC_TRANSPORT_SOCKET_ACTIVATION_H_
#define SOCKRPC_TRANSPORT_SOCKET_ACTIVATION_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "transport/fd.h"

namespace sockrpc {

// The listen address forms that name passed sockets: "systemd:" (every
// socket passed) and "systemd:NAME" (those named NAME in LISTEN_FDNAMES).
struct PassedSocketsAddress {
  std::string name;  // empty: every socket
};

// ParsePassedSocketsAddress recognizes the forms above; nothing for any
// other text (a transport/address.h form, say).
std::optional<PassedSocketsAddress> ParsePassedSocketsAddress(
    absl::string_view text);

// A socket taken from systemd.
struct PassedSocket {
  Fd fd;             // listening stream socket, non-blocking, close-on-exec
  std::string name;  // its LISTEN_FDNAMES entry ("unknown" without names)
};

// TakePassedSockets takes the passed sockets `address` names and hands over
// their ownership. Each is checked: a stream socket (SO_TYPE), listening
// (SO_ACCEPTCONN), unix, inet or inet6; it is made non-blocking. Errors:
//  - FAILED_PRECONDITION "no sockets passed by systemd (LISTEN_FDS is not
//    set)", or LISTEN_PID names another process, or LISTEN_FDS/
//    LISTEN_FDNAMES are malformed;
//  - NOT_FOUND when no passed socket is named NAME (the message lists the
//    names passed);
//  - INVALID_ARGUMENT when a socket to take is not a listening stream
//    socket of a served family (the message names its fd and name);
//  - ALREADY_EXISTS when a socket to take was taken already (every socket
//    can be taken once).
// Nothing is taken when an error is returned.
absl::StatusOr<std::vector<PassedSocket>> TakePassedSockets(
    const PassedSocketsAddress& address);

}  // namespace sockrpc

#endif  // SOCKRPC_TRANSPORT_SOCKET_ACTIVATION_H_
