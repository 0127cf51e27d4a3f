# Install layout and the Debian package (CPack DEB).
#
# Included at the end of the top-level CMakeLists.txt. What is installed,
# relative to the install prefix (/usr/local for `cmake --install`, /usr in
# the .deb):
#
#   bin/vigil
#   share/vigil/rules/**.yml          the rule catalogue
#   share/vigil/frameworks/*.yml      the framework catalogues
#   share/vigil/elasticsearch/*.json  index templates, pipeline, ILM, transform
#   share/vigil/kibana/*.ndjson       saved objects (whatever files are there)
#   share/doc/vigil/README.md
#   lib/systemd/system/vigil.service  on systemd's unit path for both prefixes
#   SYSCONFDIR/vigil/vigil.yml        /etc/vigil for the prefix /usr
#
# The configuration's directory and the paths written into the unit are
# chosen when installing, not when configuring: GNUInstallDirs' rule (/etc
# for the prefixes / and /usr, /etc/opt/X for /opt/X, PREFIX/etc otherwise)
# is applied to the prefix the install runs with. So one build directory,
# configured with any prefix, gives both `cmake --install BUILD` (under
# /usr/local) and the .deb (`cpack --config BUILD/CPackConfig.cmake`,
# always /usr and /etc), and CI packages the binary it has already built.
#
# The package is exactly what `DESTDIR=STAGE cmake --install BUILD --prefix
# /usr` installs (CPACK_SET_DESTDIR with CPACK_INSTALL_PREFIX /usr).

if(NOT TARGET vigil)
  return()  # VG_FUZZ builds have no vigil binary to install
endif()

set(vg_src ${CMAKE_CURRENT_LIST_DIR}/..)
get_filename_component(vg_src ${vg_src} ABSOLUTE)

# ---- install rules --------------------------------------------------------

install(TARGETS vigil RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${vg_src}/checks/rules/
        DESTINATION ${CMAKE_INSTALL_DATADIR}/vigil/rules
        FILES_MATCHING PATTERN "*.yml")
install(DIRECTORY ${vg_src}/checks/frameworks/
        DESTINATION ${CMAKE_INSTALL_DATADIR}/vigil/frameworks
        FILES_MATCHING PATTERN "*.yml")
# The Elasticsearch assets are embedded in the binary (`vigil setup`); the
# files are shipped too, for people who install them with their own tools.
file(GLOB vg_es_assets CONFIGURE_DEPENDS ${vg_src}/packaging/elasticsearch/*.json)
if(vg_es_assets)
  install(FILES ${vg_es_assets} DESTINATION ${CMAKE_INSTALL_DATADIR}/vigil/elasticsearch)
endif()
file(GLOB vg_kibana_assets CONFIGURE_DEPENDS ${vg_src}/packaging/kibana/*.ndjson)
if(vg_kibana_assets)
  install(FILES ${vg_kibana_assets} DESTINATION ${CMAKE_INSTALL_DATADIR}/vigil/kibana)
endif()
file(GLOB vg_docs ${vg_src}/README.md ${vg_src}/LICENSE ${vg_src}/LICENSE.*
     ${vg_src}/COPYING)
install(FILES ${vg_docs} DESTINATION ${CMAKE_INSTALL_DOCDIR})

# The configuration and the systemd unit, with their directories chosen at
# install time (see the top of this file). The unit is written for /usr and
# /etc; under another prefix its paths are rewritten to match.
install(CODE "set(vg_src [[${vg_src}]])
set(vg_bin [[${CMAKE_CURRENT_BINARY_DIR}]])
set(vg_sysconfdir [[${CMAKE_INSTALL_SYSCONFDIR}]])
set(vg_bindir [[${CMAKE_INSTALL_BINDIR}]])")
install(CODE [[
  if(IS_ABSOLUTE "${vg_sysconfdir}")
    set(vg_etc "${vg_sysconfdir}")
  elseif(vg_sysconfdir STREQUAL "etc" AND CMAKE_INSTALL_PREFIX MATCHES "^/(usr/?)?$")
    set(vg_etc "/etc")
  elseif(vg_sysconfdir STREQUAL "etc" AND CMAKE_INSTALL_PREFIX MATCHES "^/opt/(.+)$")
    set(vg_etc "/etc/opt/${CMAKE_MATCH_1}")
  else()
    set(vg_etc "${CMAKE_INSTALL_PREFIX}/${vg_sysconfdir}")
  endif()
  if(IS_ABSOLUTE "${vg_bindir}")
    set(vg_exe "${vg_bindir}/vigil")
  else()
    set(vg_exe "${CMAKE_INSTALL_PREFIX}/${vg_bindir}/vigil")
  endif()
  file(INSTALL DESTINATION "${vg_etc}/vigil" TYPE FILE
       PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
       FILES "${vg_src}/config/vigil.yml")
  file(READ "${vg_src}/packaging/systemd/vigil.service" vg_unit)
  string(REPLACE "/usr/bin/vigil" "${vg_exe}" vg_unit "${vg_unit}")
  string(REPLACE "/etc/vigil/" "${vg_etc}/vigil/" vg_unit "${vg_unit}")
  string(REPLACE "file:/usr/share/" "file:${CMAKE_INSTALL_PREFIX}/share/" vg_unit "${vg_unit}")
  file(WRITE "${vg_bin}/packaging/systemd/vigil.service" "${vg_unit}")
  file(INSTALL DESTINATION "${CMAKE_INSTALL_PREFIX}/lib/systemd/system" TYPE FILE
       PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ
       FILES "${vg_bin}/packaging/systemd/vigil.service")
]])

# ---- the Debian package ---------------------------------------------------

set(VG_DEB_MAINTAINER "Vigil maintainers <vigil-maintainers@example.org>"
    CACHE STRING "Maintainer field of the .deb")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME vigil)
set(CPACK_PACKAGE_VENDOR Vigil)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT ${VG_DEB_MAINTAINER})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "compliance agent for Linux hosts and AWS accounts, findings as ECS events")
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_PACKAGE_NAME vigil)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER ${VG_DEB_MAINTAINER})
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# The first line of Description is CPACK_PACKAGE_DESCRIPTION_SUMMARY.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
"Vigil checks Linux hosts and AWS accounts against security baselines (CIS
Debian 12, CIS AWS Foundations 3.0), maps every result to SOC 2, ISO/IEC
27001:2022, NIST SP 800-53 rev. 5, NIST CSF 2.0 and PCI DSS 4.0, and ships
each result as an Elastic Common Schema event to Elasticsearch, Kafka, a
file or stdout, through a durable on-disk spool.

This package runs it as the systemd service vigil.service, as the system
user vigil with the one capability CAP_DAC_READ_SEARCH.")
# The library packages come from the binary (dpkg-shlibdeps); adduser is for
# the maintainer scripts.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${vg_src}/packaging/deb/conffiles
    ${vg_src}/packaging/deb/postinst
    ${vg_src}/packaging/deb/prerm
    ${vg_src}/packaging/deb/postrm)
# 0755 for the maintainer scripts and 0644 for conffiles, whatever the
# checkout's modes.
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
