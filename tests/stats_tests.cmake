# Tests of the live stats (server/server_stats.h, server/stats_service.h)
# and of `sockrpc stats`.
#
# stats_service_test reads the stats of an in-process Server while calls of
# every outcome run (StatsServiceTest), checks who may read them
# (StatsAccessTest; the other-uid case needs root) and the histogram's
# buckets. stats_e2e_test runs the real sockrpc binary against the real
# increment_server and interop_server started with --stats.
sockrpc_test(NAME stats_service_test
  SOURCES stats_service_test.cc
  LIBS sockrpc_server sockrpc_client interop_service sockrpc_e2e_testing)

sockrpc_test(NAME stats_e2e_test
  SOURCES stats_e2e_test.cc
  LIBS sockrpc_cli_testing)
add_dependencies(stats_e2e_test sockrpc_cli increment_server increment_client
                 interop_server)
