# embed.cmake - compiles every file under web/ into tesserad (tools/embed.c).
# Sets TSR_WEB_ASSETS_C: the generated source, to add to the HTTP library.

add_executable(tsr_embed ${PROJECT_SOURCE_DIR}/tools/embed.c)
target_link_libraries(tsr_embed PRIVATE PkgConfig::SODIUM PkgConfig::ZLIB)

# CONFIGURE_DEPENDS: a file added to or removed from web/ re-runs the glob.
file(GLOB_RECURSE TSR_WEB_FILES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/web/*)
list(SORT TSR_WEB_FILES)
set(TSR_WEB_ASSETS_C ${CMAKE_BINARY_DIR}/generated/web_assets.c)
add_custom_command(
    OUTPUT ${TSR_WEB_ASSETS_C}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/generated
    COMMAND tsr_embed ${TSR_WEB_ASSETS_C} ${PROJECT_SOURCE_DIR}/web ${TSR_WEB_FILES}
    DEPENDS tsr_embed ${TSR_WEB_FILES}
    COMMENT "Embedding the web consoles"
    VERBATIM)
