// The files API's error category: each code is the JSON body's "error" value with its HTTP
// status, and an error of another category is an io_error 500.
#include <gtest/gtest.h>

#include <cerrno>

#include "files/files_errc.hpp"
#include "files/files_error.hpp"

namespace agentrt::runtime::files {
namespace {

TEST(FilesErrc, ACodeHasItsWireNameStatusAndText) {
  const std::error_code ec = files_errc::not_found;
  EXPECT_EQ(ec.category(), files_category());
  EXPECT_STREQ(ec.category().name(), "files");
  EXPECT_EQ(ec.message(), "not found");
  EXPECT_STREQ(wire_code(ec), "not_found");
  EXPECT_EQ(http_status(ec), 404);
  EXPECT_STREQ(wire_code(files_errc::disk_full), "disk_full");
  EXPECT_EQ(http_status(files_errc::disk_full), 507);
  EXPECT_EQ(http_status(files_errc::head_too_large), 431);
}

TEST(FilesErrc, AnErrorOfAnotherCategoryIsAnIoError) {
  const std::error_code ec(EIO, std::generic_category());
  EXPECT_STREQ(wire_code(ec), "io_error");
  EXPECT_EQ(http_status(ec), 500);
  EXPECT_EQ(std::error_code(999, files_category()).message(), "unknown files API error 999");
}

TEST(FilesErrc, TheJsonBodyIsTheWireCodeTheTextAndTheStatus) {
  EXPECT_EQ(error_json(from_errno(ENOENT, "/work/x")),
            R"j({"error":"not_found","message":"not found: /work/x (No such file or directory)",)j"
            R"j("status":404})j");
  EXPECT_EQ(
      error_json(path_refused("/a/../b", "has a \"..\" component")),
      R"j({"error":"path_refused","message":"path refused: /a/../b: has a \"..\" component",)j"
      R"j("status":403})j");
}

} // namespace
} // namespace agentrt::runtime::files
