# What `cmake --install build/<preset> [--prefix DIR]` puts in place (GNUInstallDirs):
#
#   bin/                      token-replica, token-client, token-admin, token-check,
#                             token-chaos, token-sim, token-bench (those the build made)
#   lib/                      the client library: libtokenstore_client.a and the static
#                             libraries it is made of (config, proto, proto_gen, common)
#   include/tokenstore/       its public headers, client/token_client.h and what it includes
#   lib/cmake/tokenstore/     the CMake package: find_package(tokenstore) gives tokenstore::client
#   lib/pkgconfig/tokenstore.pc
#   share/doc/tokenstore/     README.md, client/README.md as client.md, docs/, examples/
#
# The generated protobuf code is not installed: the public headers do not include it. A
# program using the library links gRPC, protobuf, yaml-cpp and OpenSSL's libcrypto (Debian 12:
# libgrpc++-dev libprotobuf-dev libyaml-cpp-dev libssl-dev); the CMake package finds them.
# scripts/install-check.sh builds examples/client against an installed tree only.

include(CMakePackageConfigHelpers)

set(TOKENSTORE_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/tokenstore)

# The library and its parts, in link order. tokenstore::client is the one to link; the others
# come with it (static libraries carry their dependencies as link-only entries).
set(TOKENSTORE_CLIENT_LIBRARIES
  tokenstore_client tokenstore_config tokenstore_proto tokenstore_proto_gen tokenstore_common)
set_target_properties(tokenstore_client PROPERTIES EXPORT_NAME client)
install(TARGETS ${TOKENSTORE_CLIENT_LIBRARIES}
  EXPORT tokenstoreTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# Public headers: client/token_client.h and everything it includes of ours, under their
# source paths (they include each other that way).
set(TOKENSTORE_PUBLIC_HEADERS
  client/token_client.h
  common/mutex.h
  common/status.h
  common/thread_annotations.h
  config/cluster_config.h
  proto/security.h)
foreach(header IN LISTS TOKENSTORE_PUBLIC_HEADERS)
  get_filename_component(dir ${header} DIRECTORY)
  install(FILES ${PROJECT_SOURCE_DIR}/${header}
    DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/tokenstore/${dir})
endforeach()

install(EXPORT tokenstoreTargets
  NAMESPACE tokenstore::
  DESTINATION ${TOKENSTORE_CMAKE_DIR})
configure_package_config_file(
  ${CMAKE_CURRENT_LIST_DIR}/tokenstoreConfig.cmake.in
  ${PROJECT_BINARY_DIR}/tokenstoreConfig.cmake
  INSTALL_DESTINATION ${TOKENSTORE_CMAKE_DIR})
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/tokenstoreConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/tokenstoreConfig.cmake
  ${PROJECT_BINARY_DIR}/tokenstoreConfigVersion.cmake
  DESTINATION ${TOKENSTORE_CMAKE_DIR})

# pkg-config: relocatable (prefix from the .pc file's own place), so an install with
# `--prefix DIR` works without configuring again.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(TOKENSTORE_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
else()
  file(RELATIVE_PATH pc_up "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
  string(REGEX REPLACE "/$" "" pc_up "${pc_up}")
  set(TOKENSTORE_PC_PREFIX "\${pcfiledir}/${pc_up}")
endif()
list(TRANSFORM TOKENSTORE_CLIENT_LIBRARIES PREPEND "-l" OUTPUT_VARIABLE pc_libs)
list(JOIN pc_libs " " TOKENSTORE_PC_LIBS)
configure_file(${CMAKE_CURRENT_LIST_DIR}/tokenstore.pc.in ${PROJECT_BINARY_DIR}/tokenstore.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/tokenstore.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# The programs (a preset may leave some out, e.g. token-bench without benchmarks).
set(TOKENSTORE_PROGRAMS)
foreach(program token-replica token-client token-admin token-check token-chaos token-sim token-bench)
  if(TARGET ${program})
    list(APPEND TOKENSTORE_PROGRAMS ${program})
  endif()
endforeach()
install(TARGETS ${TOKENSTORE_PROGRAMS} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# `cmake --build build/dev --target installed` builds what the rules above install and
# nothing else (no tests), so that `cmake --install` finds it all.
add_custom_target(installed)
add_dependencies(installed ${TOKENSTORE_CLIENT_LIBRARIES} ${TOKENSTORE_PROGRAMS})

install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${PROJECT_SOURCE_DIR}/client/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR}
  RENAME client.md)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/examples/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
