# Unit tests of the runtimes' own pieces.
sockrpc_test(NAME reuse_pool_test SOURCES reuse_pool_test.cc
             LIBS sockrpc_server)
sockrpc_test(NAME outgoing_frames_test SOURCES outgoing_frames_test.cc
             LIBS sockrpc_client)
sockrpc_test(NAME incoming_frames_test SOURCES incoming_frames_test.cc
             LIBS sockrpc_client)

# The client's callback API (client/client_callback.h) and UnaryFuture::Then
# against a real Server over a unix socket; one test counts threads against
# increment_server in a child process.
sockrpc_test(NAME client_callback_test
  SOURCES client_callback_test.cc
  LIBS sockrpc_test_protos sockrpc_server sockrpc_client sockrpc_e2e_testing
       increment_proto)
add_dependencies(client_callback_test increment_server)

# Server::ConnectInProcess() and CreateChannelFromConnector(): a channel to
# a server in the same process, with no address.
sockrpc_test(NAME in_process_test
  SOURCES in_process_test.cc
  LIBS increment_proto sockrpc_server sockrpc_client)

# Passing file descriptors: the server's side frame by frame, and the
# client library against a server in the same process.
add_library(sockrpc_files_service STATIC testing/files_service.cc)
target_link_libraries(sockrpc_files_service PUBLIC sockrpc_test_protos)
sockrpc_test(NAME fd_server_test SOURCES fd_server_test.cc
             LIBS sockrpc_files_service sockrpc_e2e_testing)
sockrpc_test(NAME fd_client_test SOURCES fd_client_test.cc
             LIBS sockrpc_files_service sockrpc_e2e_testing)
sockrpc_test(NAME fd_callback_wire_test SOURCES fd_callback_wire_test.cc
             LIBS sockrpc_files_service sockrpc_e2e_testing
                  sockrpc_socket_testing)
