# gRPC's C++ library and protoc plugin, for the two optional parts that use
# them: the gRPC baseline of the benchmarks (bench/) and the gRPC gateway
# (tools/gateway/). Found once here: PkgConfig::GRPCPP (Debian's
# libgrpc++-dev, through pkg-config as grpc++) and GRPC_CPP_PLUGIN
# (grpc_cpp_plugin, from protobuf-compiler-grpc). Each part is built only
# where both are (test with `if(TARGET PkgConfig::GRPCPP AND
# GRPC_CPP_PLUGIN)`, not GRPCPP_FOUND, which stays in the cache).
# pkg-config rather than gRPCConfig.cmake: Debian's CMake config fails hard
# when protobuf-compiler-grpc is missing.
find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(GRPCPP QUIET IMPORTED_TARGET GLOBAL grpc++)
endif()
find_program(GRPC_CPP_PLUGIN grpc_cpp_plugin)
