# The programs as a user first meets them: every binary's --help and
# --version, and the README's greeter run as its reader would run it.

# Every program of the build, user-facing (build/bin) or the suite's own
# (build/tests/bin): --help and --version exit 0 and say what they should.
# (Not the greeter: the README's 20 lines, it takes only an address.)
set(_programs
  increment_server increment_client sockrpc_cli
  protoc-gen-sockrpc interop_server interop_client compat_server_v1
  compat_server_v2 stress_client hardening_client misbehaving_server
  misbehaving_client run_in_new_netns files_server files_client
  socket_holder health_server)
foreach(_program IN LISTS _programs)
  add_test(NAME program_help_${_program}
    COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/testing/check_program_help.sh
            $<TARGET_FILE:${_program}> ${PROJECT_VERSION})
  set_tests_properties(program_help_${_program} PROPERTIES TIMEOUT 60)
endforeach()

# The greeter of examples/greeter, built here: serves, answers, explains
# its failures, runs through `sockrpc tap`, stops on SIGTERM.
add_test(NAME greeter_example_works
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/consumer/check_greeter.sh
          $<TARGET_FILE_DIR:greeter_server> $<TARGET_FILE:sockrpc_cli>)
set_tests_properties(greeter_example_works PROPERTIES TIMEOUT 60)

# The README shows examples/greeter's files as they are.
add_test(NAME readme_shows_the_greeter_as_built
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/testing/check_readme_files.sh
          ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/examples/greeter
          greeter.proto greeter_server.cc greeter_client.cc CMakeLists.txt)
set_tests_properties(readme_shows_the_greeter_as_built PROPERTIES TIMEOUT 60)

# The descriptor example of examples/files: a memfd from the server, the
# client's standard output to the server, and the error over TCP.
add_test(NAME files_example_works
  COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/testing/check_files_example.sh
          $<TARGET_FILE_DIR:files_server>)
set_tests_properties(files_example_works PROPERTIES TIMEOUT 60)
