# Unit tests of the framing and codec pieces the runtimes share.
sockrpc_test(NAME frame_reader_test SOURCES frame_reader_test.cc
             LIBS sockrpc_transport)
sockrpc_test(NAME wire_codec_test SOURCES wire_codec_test.cc
             LIBS sockrpc_transport)
sockrpc_test(NAME reuse_pool_test SOURCES reuse_pool_test.cc
             LIBS sockrpc_server)
