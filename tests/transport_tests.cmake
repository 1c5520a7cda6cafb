# Tests of the transport layer: addresses, sockets, metadata and framing.

# sockrpc_socket_testing: the SocketTest fixture and bounded socket I/O,
# shared by the socket tests (socket_listener_test, socket_io_test).
add_library(sockrpc_socket_testing STATIC testing/socket_testing.cc)
target_link_libraries(sockrpc_socket_testing PUBLIC
  sockrpc_transport GTest::gtest absl::status absl::statusor absl::strings
  absl::time)

sockrpc_test(NAME address_test SOURCES address_test.cc LIBS sockrpc_transport)
sockrpc_test(NAME socket_listener_test SOURCES socket_listener_test.cc
             LIBS sockrpc_transport sockrpc_socket_testing)
sockrpc_test(NAME socket_io_test SOURCES socket_io_test.cc
             LIBS sockrpc_transport sockrpc_socket_testing)
sockrpc_test(NAME metadata_test SOURCES metadata_test.cc LIBS sockrpc_transport)
sockrpc_test(NAME frame_test SOURCES frame_test.cc LIBS sockrpc_transport)
sockrpc_test(NAME frame_reader_test SOURCES frame_reader_test.cc
             LIBS sockrpc_transport)
sockrpc_test(NAME wire_codec_test SOURCES wire_codec_test.cc
             LIBS sockrpc_transport)
sockrpc_test(NAME sync_test SOURCES sync_test.cc LIBS sockrpc_transport)
sockrpc_test(NAME openssl_library_test SOURCES openssl_library_test.cc
  LIBS sockrpc_transport)
sockrpc_test(NAME receive_ring_test SOURCES receive_ring_test.cc
  LIBS sockrpc_transport)
sockrpc_test(NAME direct_syscalls_test SOURCES direct_syscalls_test.cc
  LIBS sockrpc_transport)
sockrpc_test(NAME buffer_pool_test SOURCES buffer_pool_test.cc LIBS sockrpc_transport)
sockrpc_test(NAME stream_table_test SOURCES stream_table_test.cc
  LIBS sockrpc_transport)
sockrpc_test(NAME block_recycler_test SOURCES block_recycler_test.cc
  LIBS sockrpc_transport)
sockrpc_test(NAME message_queue_test SOURCES message_queue_test.cc LIBS sockrpc_transport)
sockrpc_test(NAME fd_test SOURCES fd_test.cc LIBS sockrpc_transport)
sockrpc_test(NAME fd_passing_test SOURCES fd_passing_test.cc LIBS sockrpc_transport)
sockrpc_test(NAME fd_fields_test SOURCES fd_fields_test.cc LIBS sockrpc_transport)
