// PeerCredentials: who is at the other end of a unix socket.
#ifndef SOCKRPC_TRANSPORT_PEER_CREDENTIALS_H_
#define SOCKRPC_TRANSPORT_PEER_CREDENTIALS_H_

#include <sys/types.h>

namespace sockrpc {

// The peer process's pid, uid and gid, as the kernel recorded them when the
// peer connected (SO_PEERCRED; transport/socket.h's GetPeerCredentials()
// reads them).
struct PeerCredentials {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

}  // namespace sockrpc

#endif  // SOCKRPC_TRANSPORT_PEER_CREDENTIALS_H_
