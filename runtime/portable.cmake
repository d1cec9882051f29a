# The portable link (-DAGENTRT_PORTABLE=ON): libstdc++ and libgcc linked statically, and every
# library in the dependency closure of libcurl and libarchive that is installed as a .a archive
# linked statically too; only what has no .a (and glibc, which must stay dynamic for NSS and
# dlopen) remains a shared library.
#
# The closure is read from the shared libraries themselves (readelf's NEEDED entries), not from
# pkg-config, because Debian's libcurl.pc does not name the dependencies of its dependencies
# (librtmp needs GnuTLS, libldap needs SASL, ...). The install-deps.sh "portable" profile installs
# the -dev packages that carry those archives.

# glibc's libraries: never linked statically (a static glibc cannot load NSS modules).
set(AGENTRT_PORTABLE_GLIBC c m pthread dl rt resolv util anl nsl BrokenLocale)
# Archives that exist but cannot be used: Debian's libsasl2.a has its plugins built in (SQL and
# Berkeley DB auxprop), which need MySQL, PostgreSQL, SQLite and libdb that the shared
# libsasl2.so only loads on demand.
set(AGENTRT_PORTABLE_KEEP_SHARED sasl2)

# NEEDED entries of one shared object.
function(agentrt_needed_of file out_var)
  execute_process(COMMAND ${AGENTRT_READELF} -d ${file} OUTPUT_VARIABLE dyn RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "portable: readelf -d ${file} failed")
  endif()
  string(REGEX MATCHALL "\\(NEEDED\\)[^\n]*\\[[^]\n]+\\]" lines "${dyn}")
  set(names "")
  foreach(line IN LISTS lines)
    string(REGEX REPLACE ".*\\[([^]]+)\\].*" "\\1" name "${line}")
    list(APPEND names ${name})
  endforeach()
  set(${out_var} ${names} PARENT_SCOPE)
endfunction()

# Sets static_var to the .a matching soname (libldap-2.5.so.0 -> libldap-2.5.a or libldap.a),
# or to "" when there is none.
function(agentrt_static_for soname dirs static_var)
  string(REGEX REPLACE "\\.so(\\..*)?$" "" base "${soname}")
  string(REGEX REPLACE "-[0-9][0-9.]*$" "" unversioned "${base}")
  set(found "")
  foreach(dir IN LISTS dirs)
    foreach(candidate ${base} ${unversioned})
      if(NOT found AND EXISTS "${dir}/${candidate}.a")
        set(found "${dir}/${candidate}.a")
      endif()
    endforeach()
  endforeach()
  set(${static_var} "${found}" PARENT_SCOPE)
endfunction()

# Gives the INTERFACE library target the portable link of libcurl and libarchive (in place of
# the shared ones of the normal build) for everything that links it.
function(agentrt_portable_link target)
  find_program(AGENTRT_READELF NAMES readelf REQUIRED)
  set(dirs ${CMAKE_CXX_IMPLICIT_LINK_DIRECTORIES})
  foreach(lib ${CURL_LIBRARIES} ${LibArchive_LIBRARIES})
    get_filename_component(dir ${lib} DIRECTORY)
    list(PREPEND dirs ${dir})
  endforeach()
  list(REMOVE_DUPLICATES dirs)

  # Breadth-first over NEEDED; a library that stays shared brings its own dependencies along at
  # run time, so only the static ones are walked further.
  set(queue ${CURL_LIBRARIES} ${LibArchive_LIBRARIES})
  set(seen "")
  set(static_libs "")
  set(shared_libs "")
  set(shared_names "")
  while(queue)
    list(POP_FRONT queue item)
    if(IS_ABSOLUTE "${item}")
      set(path "${item}")
      get_filename_component(soname ${item} NAME)
    else()
      set(soname "${item}")
      set(path "")
      foreach(dir IN LISTS dirs)
        if(NOT path AND EXISTS "${dir}/${soname}")
          set(path "${dir}/${soname}")
        endif()
      endforeach()
      if(NOT path)
        message(FATAL_ERROR "portable: cannot find ${soname} (needed by the closure of libcurl/libarchive)")
      endif()
    endif()
    string(REGEX REPLACE "^lib([^.]+)\\.so.*$" "\\1" short "${soname}")
    if(soname MATCHES "^ld-linux" OR short IN_LIST AGENTRT_PORTABLE_GLIBC
       OR short STREQUAL "stdc++" OR short STREQUAL "gcc_s")
      continue() # glibc stays shared; libstdc++/libgcc come from -static-lib* below
    endif()
    set(archive "")
    if(NOT short IN_LIST AGENTRT_PORTABLE_KEEP_SHARED)
      agentrt_static_for(${soname} "${dirs}" archive)
    endif()
    if(archive)
      if(NOT archive IN_LIST seen)
        list(APPEND seen ${archive})
        list(APPEND static_libs ${archive})
        agentrt_needed_of(${path} needed)
        list(APPEND queue ${needed})
      endif()
    elseif(NOT path IN_LIST shared_libs)
      list(APPEND shared_libs ${path})
      list(APPEND shared_names ${soname})
    endif()
  endwhile()

  # One rescanned group, so the order of the archives does not matter; shared leftovers only
  # where something still references them.
  target_link_libraries(${target} INTERFACE "$<LINK_GROUP:RESCAN,${static_libs}>"
    "-Wl,--push-state,--as-needed" ${shared_libs} "-Wl,--pop-state" dl m)
  target_link_options(${target} INTERFACE -static-libstdc++ -static-libgcc)
  list(JOIN static_libs " " static_text)
  list(JOIN shared_names " " shared_text)
  message(STATUS "portable agentrt: static ${static_text}")
  message(STATUS "portable agentrt: shared ${shared_text}; plus glibc")
endfunction()
