# Tests of the transport layer: addresses, sockets, metadata and framing.
sockrpc_test(NAME address_test SOURCES address_test.cc LIBS sockrpc_transport)
sockrpc_test(NAME socket_test SOURCES socket_test.cc LIBS sockrpc_transport)
sockrpc_test(NAME metadata_test SOURCES metadata_test.cc LIBS sockrpc_transport)
sockrpc_test(NAME frame_test SOURCES frame_test.cc LIBS sockrpc_transport)
sockrpc_test(NAME buffer_pool_test SOURCES buffer_pool_test.cc LIBS sockrpc_transport)
sockrpc_test(NAME fd_test SOURCES fd_test.cc LIBS sockrpc_transport)
