# cmake -DINPUT=<file> -DOUTPUT=<.cpp> -DNAMESPACE=<ns> -DFUNCTION=<name> -P embed_file.cmake
# Writes a C++ source whose function <ns>::<name>() returns the file's bytes as a string_view,
# byte for byte (a hex array: no escaping, no encoding concerns). Run at build time, so the
# binary serves what the repository holds; nothing is fetched.
file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" hex_length)
math(EXPR size "${hex_length} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${hex}")
# Lines of 16 bytes keep the generated file readable by editors and compilers alike.
string(REGEX REPLACE "(('[^']+',){16})" "\\1\n" bytes "${bytes}")
set(content "// Generated from ${INPUT} by cmake/embed_file.cmake; do not edit.
#include <string_view>

namespace ${NAMESPACE} {
namespace {
constexpr char kBytes[${size} + 1] = {
${bytes}'\\0'};
}  // namespace

std::string_view ${FUNCTION}() { return {kBytes, ${size}}; }

}  // namespace ${NAMESPACE}
")
# Run only when the file changed (the build rule depends on it).
file(WRITE "${OUTPUT}" "${content}")
