# sockrpc_generate(TARGET <target> PROTOS <files...> [IMPORT_DIRS <dirs...>]
#                  [CLIENT] [SERVER] [MOCKS])
#
# Generates the protobuf messages (protoc's --cpp_out) and the sockrpc
# services (protoc-gen-sockrpc) of each .proto file in PROTOS and builds them
# into <target>, an existing library or executable:
#
#   add_library(greeter_proto STATIC)
#   sockrpc_generate(TARGET greeter_proto PROTOS greeter.proto)
#   target_link_libraries(greeter_server PRIVATE greeter_proto)
#
# Relative paths in PROTOS and IMPORT_DIRS are relative to
# CMAKE_CURRENT_SOURCE_DIR. Each .proto is compiled relative to its import
# root: the first IMPORT_DIRS entry that contains it, else its own directory;
# every IMPORT_DIRS entry is also searched for imports, and so are protobuf's
# well-known types and sockrpc's own protos (import "sockrpc/fd.proto" for
# sockrpc.FileDescriptor fields). A proto at <root>/a/b/foo.proto generates, under
# CMAKE_CURRENT_BINARY_DIR (which becomes a PUBLIC include directory of
# <target>):
#   a/b/foo.pb.h, .pb.cc                 the messages
#   a/b/foo_client.sockrpc.pb.h, .pb.cc  the client half (Foo::Stub)
#   a/b/foo_server.sockrpc.pb.h, .pb.cc  the server half (Foo::Service,
#                                        Foo::CallbackService)
#   a/b/foo.sockrpc.pb.h                 both halves
# CLIENT builds only the client half into <target>, which then links PUBLIC
# sockrpc::client alone, so that a program that only calls loads no server
# code; SERVER, only the server half and sockrpc::server. With neither (or
# both), <target> gets both halves and links sockrpc::sockrpc. <target>
# links protobuf::libprotobuf too. Editing a .proto, one it imports, or the
# plugin regenerates the code. A directory may generate the same .proto for
# several targets (a client's and a server's): protoc runs once.
#
# MOCKS also generates a/b/foo_mock.sockrpc.pb.h: for each service Foo, a
# gMock mock of Foo::StubInterface, MockFooStub. Only tests include it; they
# link GTest::gmock themselves (<target> does not).
#
# Works the same when sockrpc is part of another project through
# add_subdirectory() and when it is installed (find_package(sockrpc)).

# protobuf::protoc is an imported target, visible only in sockrpc's own
# directories; remember where it is for callers elsewhere in the project.
if(NOT TARGET protobuf::protoc)
  message(FATAL_ERROR "sockrpc_generate needs protoc: find_package(Protobuf) first")
endif()
get_target_property(_sockrpc_protoc protobuf::protoc IMPORTED_LOCATION)
if(NOT _sockrpc_protoc)
  get_target_property(_sockrpc_protoc_configs protobuf::protoc IMPORTED_CONFIGURATIONS)
  foreach(_config IN LISTS _sockrpc_protoc_configs)
    get_target_property(_sockrpc_protoc protobuf::protoc IMPORTED_LOCATION_${_config})
    if(_sockrpc_protoc)
      break()
    endif()
  endforeach()
endif()
if(NOT _sockrpc_protoc)
  message(FATAL_ERROR "sockrpc_generate: cannot tell where protobuf::protoc is")
endif()
set_property(GLOBAL PROPERTY SOCKRPC_PROTOC_EXECUTABLE ${_sockrpc_protoc})
# The plugin: built here, or installed (sockrpcConfig.cmake imports it as
# sockrpc::protoc-gen-sockrpc and sets this property before including this
# file).
get_property(_sockrpc_plugin GLOBAL PROPERTY SOCKRPC_PLUGIN_TARGET)
if(NOT _sockrpc_plugin)
  set_property(GLOBAL PROPERTY SOCKRPC_PLUGIN_TARGET protoc-gen-sockrpc)
endif()

function(sockrpc_generate)
  cmake_parse_arguments(PARSE_ARGV 0 ARG "MOCKS;CLIENT;SERVER" "TARGET"
                        "PROTOS;IMPORT_DIRS")
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "sockrpc_generate: unexpected arguments: ${ARG_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT ARG_TARGET)
    message(FATAL_ERROR "sockrpc_generate: TARGET is required")
  endif()
  if(NOT TARGET ${ARG_TARGET})
    message(FATAL_ERROR "sockrpc_generate: ${ARG_TARGET} is not a target; "
                        "create it first, e.g. add_library(${ARG_TARGET} STATIC)")
  endif()
  if(NOT ARG_PROTOS)
    message(FATAL_ERROR "sockrpc_generate(TARGET ${ARG_TARGET}): PROTOS is empty")
  endif()
  get_property(protoc GLOBAL PROPERTY SOCKRPC_PROTOC_EXECUTABLE)
  get_property(plugin GLOBAL PROPERTY SOCKRPC_PLUGIN_TARGET)
  set(client ON)
  set(server ON)
  if(ARG_CLIENT AND NOT ARG_SERVER)
    set(server OFF)
  elseif(ARG_SERVER AND NOT ARG_CLIENT)
    set(client OFF)
  endif()

  set(import_dirs "")
  foreach(dir IN LISTS ARG_IMPORT_DIRS)
    get_filename_component(dir "${dir}" ABSOLUTE BASE_DIR ${CMAKE_CURRENT_SOURCE_DIR})
    list(APPEND import_dirs ${dir})
  endforeach()

  set(out_dir ${CMAKE_CURRENT_BINARY_DIR})
  set(generated "")
  foreach(proto IN LISTS ARG_PROTOS)
    get_filename_component(proto "${proto}" ABSOLUTE BASE_DIR ${CMAKE_CURRENT_SOURCE_DIR})
    if(NOT EXISTS ${proto})
      message(FATAL_ERROR "sockrpc_generate(TARGET ${ARG_TARGET}): no such file: ${proto}")
    endif()

    # The import root: the first IMPORT_DIRS entry holding the proto, else
    # the proto's own directory.
    get_filename_component(root ${proto} DIRECTORY)
    foreach(dir IN LISTS import_dirs)
      file(RELATIVE_PATH rel ${dir} ${proto})
      if(NOT rel MATCHES "^\\.\\./" AND NOT IS_ABSOLUTE "${rel}")
        set(root ${dir})
        break()
      endif()
    endforeach()
    file(RELATIVE_PATH rel ${root} ${proto})
    string(REGEX REPLACE "\\.proto$" "" stem ${rel})

    # The .pb.cc comes first: protoc's dependency file names it first.
    set(outputs
      ${out_dir}/${stem}.pb.cc
      ${out_dir}/${stem}.pb.h
      ${out_dir}/${stem}.sockrpc.pb.h
      ${out_dir}/${stem}_client.sockrpc.pb.h
      ${out_dir}/${stem}_client.sockrpc.pb.cc
      ${out_dir}/${stem}_server.sockrpc.pb.h
      ${out_dir}/${stem}_server.sockrpc.pb.cc)
    set(sockrpc_out ${out_dir})
    if(ARG_MOCKS)
      list(APPEND outputs ${out_dir}/${stem}_mock.sockrpc.pb.h)
      set(sockrpc_out mocks:${out_dir})
    endif()
    set(include_args -I${root})
    foreach(dir IN LISTS import_dirs)
      if(NOT dir STREQUAL root)
        list(APPEND include_args -I${dir})
      endif()
    endforeach()
    # sockrpc's own .proto files (import "sockrpc/fd.proto").
    get_property(sockrpc_protos GLOBAL PROPERTY SOCKRPC_PROTO_IMPORT_DIR)
    if(sockrpc_protos)
      list(APPEND include_args -I${sockrpc_protos})
    endif()
    string(MAKE_C_IDENTIFIER ${stem} depfile_name)
    set(depfile ${out_dir}/${depfile_name}.sockrpc.deps)

    # One rule per generated file set in a directory: a second target that
    # generates the same .proto here reuses it (and must agree on MOCKS).
    get_property(rule DIRECTORY PROPERTY SOCKRPC_GENERATED_${depfile_name})
    if(rule AND NOT rule STREQUAL "${sockrpc_out}")
      message(FATAL_ERROR "sockrpc_generate(TARGET ${ARG_TARGET}): ${rel} is "
                          "generated in this directory already, with other "
                          "options (MOCKS); use the same ones")
    endif()
    if(NOT rule)
      set_property(DIRECTORY PROPERTY SOCKRPC_GENERATED_${depfile_name}
                   "${sockrpc_out}")
      add_custom_command(
        OUTPUT ${outputs}
        COMMAND ${protoc}
                ${include_args}
                --cpp_out=${out_dir}
                --plugin=protoc-gen-sockrpc=$<TARGET_FILE:${plugin}>
                --sockrpc_out=${sockrpc_out}
                --dependency_out=${depfile}
                ${proto}
        WORKING_DIRECTORY ${out_dir}
        DEPENDS ${proto} ${plugin}
        DEPFILE ${depfile}
        COMMENT "Generating messages and services of ${rel}"
        VERBATIM)
    endif()

    # What <target> builds: the messages, and the halves it asked for.
    set(sources ${out_dir}/${stem}.pb.cc ${out_dir}/${stem}.pb.h)
    if(client)
      list(APPEND sources ${out_dir}/${stem}_client.sockrpc.pb.h
                          ${out_dir}/${stem}_client.sockrpc.pb.cc)
    endif()
    if(server)
      list(APPEND sources ${out_dir}/${stem}_server.sockrpc.pb.h
                          ${out_dir}/${stem}_server.sockrpc.pb.cc)
    endif()
    if(client AND server)
      list(APPEND sources ${out_dir}/${stem}.sockrpc.pb.h)
    endif()
    if(ARG_MOCKS AND client)
      list(APPEND sources ${out_dir}/${stem}_mock.sockrpc.pb.h)
    endif()
    list(APPEND generated ${sources})
  endforeach()

  target_sources(${ARG_TARGET} PRIVATE ${generated})
  target_include_directories(${ARG_TARGET} PUBLIC ${out_dir})
  if(client AND server)
    target_link_libraries(${ARG_TARGET} PUBLIC sockrpc::sockrpc)
  elseif(client)
    target_link_libraries(${ARG_TARGET} PUBLIC sockrpc::client)
  else()
    target_link_libraries(${ARG_TARGET} PUBLIC sockrpc::server)
  endif()
  # The runtime linked above brings protobuf::libprotobuf with it; name it
  # too where that imported target is visible.
  if(TARGET protobuf::libprotobuf)
    target_link_libraries(${ARG_TARGET} PUBLIC protobuf::libprotobuf)
  endif()
endfunction()
