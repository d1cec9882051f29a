# What `cmake --install` lays down, and the Debian packages CPack makes of it
# (packaging/release.sh). One install component per package:
#
#   component    Debian package          files
#   runtime      agentrt                 bin/agentrt
#   client       agentrt-client          bin/agentrt-client (and libagentrt_client.so.* in a
#                                        BUILD_SHARED_LIBS build)
#   development  libagentrt-client-dev   include/agentrt/{client,protocol}/, the libraries, the
#                                        CMake package (lib/cmake/agentrt) and agentrt-client.pc
#
# and `portable`, left out of a plain install (EXCLUDE_FROM_ALL): agentrt-portable and
# agentrt-client-portable as bin/agentrt and bin/agentrt-client, for the release tarball.
include(CMakePackageConfigHelpers)

if(TARGET agentrt)
  install(TARGETS agentrt RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT runtime)
endif()
install(TARGETS agentrt-client RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT client)
install(TARGETS agentrt_client agentrt_protocol EXPORT agentrtTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT development
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT client NAMELINK_COMPONENT development)
# Public headers only: they name the standard library and each other, nothing third-party
# (tests/package checks the installed tree).
install(DIRECTORY ${PROJECT_SOURCE_DIR}/client/include/ ${PROJECT_SOURCE_DIR}/shared/include/
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} COMPONENT development FILES_MATCHING PATTERN "*.hpp")

# The CMake package: find_package(agentrt 0.2) -> agentrt::client.
set(AGENTRT_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/agentrt)
# A static libagentrt_client.a leaves OpenSSL (wss://) for its user to link; a shared one does not.
if(BUILD_SHARED_LIBS)
  set(AGENTRT_PACKAGE_OPENSSL_DEPENDENCY "")
  set(AGENTRT_PC_REQUIRES Requires.private)
else()
  set(AGENTRT_PACKAGE_OPENSSL_DEPENDENCY "find_dependency(OpenSSL)")
  set(AGENTRT_PC_REQUIRES Requires)
endif()
install(EXPORT agentrtTargets NAMESPACE agentrt:: DESTINATION ${AGENTRT_CMAKE_DIR}
  COMPONENT development)
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/agentrtConfig.cmake.in
  ${PROJECT_BINARY_DIR}/agentrtConfig.cmake INSTALL_DESTINATION ${AGENTRT_CMAKE_DIR})
# Semantic versioning: 0.2.x satisfies find_package(agentrt 0.2) but not 0.1 or 0.3 (a 0.x
# MINOR release may break the API); from 1.0 on, any later release of the same MAJOR.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(_agentrt_compatibility SameMinorVersion)
else()
  set(_agentrt_compatibility SameMajorVersion)
endif()
write_basic_package_version_file(${PROJECT_BINARY_DIR}/agentrtConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY ${_agentrt_compatibility})
install(FILES ${PROJECT_BINARY_DIR}/agentrtConfig.cmake ${PROJECT_BINARY_DIR}/agentrtConfigVersion.cmake
  DESTINATION ${AGENTRT_CMAKE_DIR} COMPONENT development)

# The pkg-config file, relocatable like the CMake package: its prefix is found from where the
# .pc file lies (${pcfiledir}), so the tree can be installed under any --prefix.
set(_agentrt_pc_dir ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  message(FATAL_ERROR "agentrt's install rules need relative CMAKE_INSTALL_LIBDIR and "
                      "CMAKE_INSTALL_INCLUDEDIR (relative to the prefix)")
endif()
file(RELATIVE_PATH AGENTRT_PC_PREFIX_FROM_PCDIR /prefix/${_agentrt_pc_dir} /prefix)
string(REGEX REPLACE "/$" "" AGENTRT_PC_PREFIX_FROM_PCDIR "${AGENTRT_PC_PREFIX_FROM_PCDIR}")
configure_file(${CMAKE_CURRENT_LIST_DIR}/agentrt-client.pc.in ${PROJECT_BINARY_DIR}/agentrt-client.pc
  @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/agentrt-client.pc DESTINATION ${_agentrt_pc_dir}
  COMPONENT development)

# The release tarball's binaries (packaging/release.sh installs this component on its own).
if(TARGET agentrt-portable)
  install(PROGRAMS $<TARGET_FILE:agentrt-portable> DESTINATION ${CMAKE_INSTALL_BINDIR}
    RENAME agentrt COMPONENT portable EXCLUDE_FROM_ALL)
endif()
if(TARGET agentrt-client-portable)
  install(PROGRAMS $<TARGET_FILE:agentrt-client-portable> DESTINATION ${CMAKE_INSTALL_BINDIR}
    RENAME agentrt-client COMPONENT portable EXCLUDE_FROM_ALL)
endif()

# Debian packages: `cpack -G DEB` in the build tree (packaging/release.sh runs it).
set(CPACK_PACKAGE_NAME agentrt)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
# Each package's description (synopsis line, then the long text) is its component's below. CPack
# would put a project-wide summary above each as a first synopsis line, unless the summary is its
# own default text.
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${CMAKE_PROJECT_NAME} built using CMake")
set(CPACK_PACKAGE_CONTACT "agentrt maintainers <maintainers@users.noreply.b-seed-d16f945f.example>")
set(CPACK_PACKAGE_INSTALL_DIRECTORY agentrt)
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR}/packages)
set(CPACK_GENERATOR DEB)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL client development)
if(TARGET agentrt)
  list(PREPEND CPACK_COMPONENTS_ALL runtime)
endif()
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # name_version-release_arch.deb
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON) # Depends of the binaries from dpkg-shlibdeps
set(CPACK_DEBIAN_PACKAGE_SECTION misc)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME agentrt)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION net)
# https:// downloads and uploads verify against the system store.
set(CPACK_DEBIAN_RUNTIME_PACKAGE_RECOMMENDS ca-certificates)
string(CONCAT CPACK_COMPONENT_RUNTIME_DESCRIPTION
  "WebSocket runtime that runs commands and agent harnesses inside a sandbox\n"
  "agentrt runs inside a sandbox (container, VM, CI job) and, driven over one WebSocket\n"
  "(the runtimeuse protocol), runs commands and agent harnesses, streams their output,\n"
  "downloads and unpacks inputs and uploads the files the work produces.")

set(CPACK_DEBIAN_CLIENT_PACKAGE_NAME agentrt-client)
set(CPACK_DEBIAN_CLIENT_PACKAGE_SECTION net)
set(CPACK_DEBIAN_CLIENT_PACKAGE_RECOMMENDS ca-certificates)
string(CONCAT CPACK_COMPONENT_CLIENT_DESCRIPTION
  "command-line client for the agentrt sandbox runtime\n"
  "agentrt-client runs commands or agent queries on an agentrt (or runtimeuse) runtime\n"
  "over ws:// or wss:// and streams their output, for CI jobs and shells.")

set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_NAME libagentrt-client-dev)
set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_SECTION libdevel)
# What find_package(agentrt) and the .pc file name: OpenSSL's -dev package (the static client
# library links it), and pkg-config's data; the shared library, if any, comes with agentrt-client.
if(BUILD_SHARED_LIBS)
  set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_DEPENDS "agentrt-client (= ${PROJECT_VERSION}-1)")
else()
  set(CPACK_DEBIAN_DEVELOPMENT_PACKAGE_DEPENDS "libssl-dev")
endif()
string(CONCAT CPACK_COMPONENT_DEVELOPMENT_DESCRIPTION
  "C++17 client library for the agentrt sandbox runtime (development files)\n"
  "Headers, the static libraries, the CMake package (find_package(agentrt), target\n"
  "agentrt::client) and the pkg-config file (agentrt-client) of the C++ client library\n"
  "for agentrt and runtimeuse runtimes.")
include(CPack)
