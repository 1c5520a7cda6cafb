# The regression guard of the per-call cost (issue: performance round two):
# instructions and allocations per warm unary call of bench_server and
# call_loop under callgrind, and the callback client's system calls under
# strace, against tests/cost/call_cost_budgets.txt.
# Release builds only: the budgets describe optimised code, and valgrind
# cannot run the sanitizer builds' binaries.
# (Not with BUILD_SHARED_LIBS: bench_server and call_loop would then call
# through the shared libraries, which the budgets do not describe.)
if(CMAKE_BUILD_TYPE STREQUAL "Release" AND NOT BUILD_SHARED_LIBS)
  sockrpc_test(NAME call_cost_test
    SOURCES cost/call_cost_test.cc
    LIBS sockrpc_call_cost)
  add_dependencies(call_cost_test bench_server call_loop)
  target_compile_definitions(call_cost_test PRIVATE
    SOCKRPC_BENCH_SERVER="$<TARGET_FILE:bench_server>"
    SOCKRPC_CALL_LOOP="$<TARGET_FILE:call_loop>"
    SOCKRPC_CALL_COST_LTO=$<BOOL:${SOCKRPC_USE_LTO}>
    SOCKRPC_CALL_COST_BUDGETS="${CMAKE_CURRENT_SOURCE_DIR}/cost/call_cost_budgets.txt")
  if(SOCKRPC_USE_LTO)  # (bench/ makes them, after this directory)
    add_dependencies(call_cost_test bench_server_without_lto
      call_loop_without_lto)
    target_compile_definitions(call_cost_test PRIVATE
      SOCKRPC_BENCH_SERVER_WITHOUT_LTO="$<TARGET_FILE:bench_server_without_lto>"
      SOCKRPC_CALL_LOOP_WITHOUT_LTO="$<TARGET_FILE:call_loop_without_lto>")
  endif()
endif()
