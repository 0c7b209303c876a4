# Run at build time (cmake -P) by the target tokenstore_build_info_gen: fills in
# build_info_values.cc.in with the version, the git commit of SOURCE_DIR and the date, and rewrites
# OUT only when that changed (so a build without changes compiles nothing).
#   -DSOURCE_DIR=... -DIN=.../build_info_values.cc.in -DOUT=.../build_info_values.cc -DVERSION=0.1.0
set(TOKENSTORE_VERSION "${VERSION}")
set(TOKENSTORE_GIT "unknown")
find_program(GIT_EXECUTABLE git)
if(GIT_EXECUTABLE)
  # Local commands only (no fetch): the commit checked out, and whether tracked files differ.
  execute_process(COMMAND "${GIT_EXECUTABLE}" -C "${SOURCE_DIR}" rev-parse --short HEAD
                  OUTPUT_VARIABLE hash OUTPUT_STRIP_TRAILING_WHITESPACE
                  RESULT_VARIABLE hash_rc ERROR_QUIET)
  if(hash_rc EQUAL 0 AND hash MATCHES "^[0-9a-f]+$")
    set(TOKENSTORE_GIT "${hash}")
    execute_process(COMMAND "${GIT_EXECUTABLE}" -C "${SOURCE_DIR}" status --porcelain
                            --untracked-files=no
                    OUTPUT_VARIABLE changes RESULT_VARIABLE status_rc ERROR_QUIET)
    if(status_rc EQUAL 0 AND NOT changes STREQUAL "")
      string(APPEND TOKENSTORE_GIT "-dirty")
    endif()
  endif()
endif()
# string(TIMESTAMP) honours SOURCE_DATE_EPOCH (reproducible builds).
string(TIMESTAMP TOKENSTORE_BUILD_DATE "%Y-%m-%d" UTC)
configure_file("${IN}" "${OUT}" @ONLY)
