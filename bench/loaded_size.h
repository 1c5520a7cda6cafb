// What a client costs on disk and in loaded shared libraries: the one line
// both minimal clients (minimal_client, grpc_minimal_client) print after
// their call. Internal to bench/.
#ifndef SOCKRPC_BENCH_LOADED_SIZE_H_
#define SOCKRPC_BENCH_LOADED_SIZE_H_

namespace sockrpc {
namespace bench {

// PrintLoadedSize prints, on one line of standard output,
//   binary_bytes N so_bytes M so_count K
// where N is the file size of this executable and M the summed file size
// of the K distinct shared libraries mapped into this process (from
// /proc/self/maps), the dynamic loader included.
void PrintLoadedSize();

}  // namespace bench
}  // namespace sockrpc

#endif  // SOCKRPC_BENCH_LOADED_SIZE_H_
