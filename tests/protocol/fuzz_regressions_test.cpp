// Regression tests for what tests/fuzz found in the protocol library. Each test replays the
// finding (the reproducer itself, or the smallest frame showing the same bug) and checks the
// behaviour the fix gives. All of them are RapidJSON 1.1.0 number-parsing bugs
// (agentrt/protocol/json_numbers.hpp), but for one BOM quirk (the last test).
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstdlib>
#include <random>
#include <string>

#include "agentrt/protocol/codec.hpp"
#include "agentrt/protocol/errc.hpp"
#include "agentrt/protocol/json_numbers.hpp"

namespace agentrt::protocol {
namespace {

std::string zeros(std::size_t n) {
  return std::string(n, '0');
}

// fuzz_protocol_decode, crash-2f652be5: the full-precision parser ran clz(0) on "0e40" (UBSan:
// "passing zero to clz()"). The reproducer is malformed JSON: it must simply be refused.
TEST(FuzzRegressions, ZeroWithExponentReproducerIsMalformedJson) {
  const decode_result r = decode(R"({"messaee_type":"a.txt","_ms":0e40ok":faHTTP 500"})");
  EXPECT_FALSE(r.msg);
  EXPECT_EQ(r.ec, make_error_code(errc::malformed_json)) << r.error;
}

TEST(FuzzRegressions, ZeroSignificandsDecodeAsZero) {
  // Before the fix: "elapsed_ms: must be >= 0, got -2.4258095192198577e229" (or other garbage).
  decode_result r = decode(R"({"message_type":"heartbeat_message","phase":"p","elapsed_ms":0e40})");
  ASSERT_TRUE(r.msg) << r.error;
  EXPECT_EQ(std::get<heartbeat_message>(*r.msg).elapsed_ms, 0);

  r = decode(R"({"message_type":"command_execution_message","commands":[)"
             R"({"command":"a","timeout_s":0.000E+99},{"command":"b","timeout_s":-0e308},)"
             R"({"command":"c","timeout_s":0.)" +
             zeros(30) + "}]}");
  ASSERT_TRUE(r.msg) << r.error;
  const auto& cmds = std::get<command_execution_message>(*r.msg).commands;
  ASSERT_EQ(cmds.size(), 3u);
  for (const auto& c : cmds)
    EXPECT_EQ(c.timeout_s.value_or(-1), 0.0) << c.command;

  // JSON-text fields carry the number on: 0, not garbage; other numbers stay exact.
  r = decode(R"({"message_type":"result_message","data":{"type":"text","text":"t"},)"
             R"("metadata":{"cost":0e40,"n":12345678901234567890,"x":0.1}})");
  ASSERT_TRUE(r.msg) << r.error;
  EXPECT_EQ(std::get<result_message>(*r.msg).metadata.json,
            R"({"cost":0.0,"n":12345678901234567890,"x":0.1})");
}

// fuzz_protocol_decode, crash-014710d4: "-0.0777…781e-400" made the full-precision parser read
// its cached-powers table out of bounds (UBSan: "signed integer overflow: 536870903 * 8"; a
// segmentation fault without sanitizers). So did any number below about 1e-330, e.g.
// "0.<400 zeros>1". Such numbers decode as 0 now.
TEST(FuzzRegressions, TinyNumbersDecodeAsZeroInsteadOfCrashing) {
  for (const std::string& number :
       {"-0.0" + std::string(84, '7') + "81e-400", "0." + zeros(400) + "1",
        "0." + zeros(60) + "1e-290", "123" + zeros(40) + "e-400"}) {
    const decode_result r = decode(
        R"({"message_type":"command_execution_message","commands":[{"command":"a","timeout_s":)" +
        number + "}]}");
    ASSERT_TRUE(r.msg) << r.error << "\nnumber: " << number;
    EXPECT_EQ(std::get<command_execution_message>(*r.msg).commands[0].timeout_s.value_or(-1), 0.0)
        << number;
  }
}

// An exponent near -2^31 plus a long fraction overflows RapidJSON's int (CVE-2024-38517): such
// a frame is refused as malformed JSON, naming where the number starts.
TEST(FuzzRegressions, AbsurdNegativeExponentIsMalformedJson) {
  const std::string frame = R"({"message_type":"cancel_message","x":0.0000000001e-2147483639})";
  const decode_result r = decode(frame);
  EXPECT_FALSE(r.msg);
  EXPECT_EQ(r.ec, make_error_code(errc::malformed_json));
  EXPECT_EQ(r.error,
            "malformed JSON at offset " + std::to_string(frame.find("0.0")) + ": Invalid value.");
}

// fuzz_protocol_decode, crash-bd579bda: after refusing a number, the frame was parsed again
// (spoiled at the refused number) with full precision, so a tiny number before it still hit
// the out-of-bounds read (UBSan: "passing zero to clz()" for its "0.0E+99").
TEST(FuzzRegressions, NumbersBeforeARefusedOneAreParsedSafely) {
  const std::string frame =
      R"({"message_type":"cancel_message","a":0.)" + zeros(400) + R"(1,"b":0.0E+99,"c":1000e306})";
  const decode_result r = decode(frame);
  EXPECT_FALSE(r.msg);
  EXPECT_EQ(r.error, "malformed JSON at offset " + std::to_string(frame.find("1000e306")) +
                         ": Invalid value.");
  // The reproducer itself (NUL bytes included).
  static const char reproducer[] = "0.0E+99\x01\x00\x00\x00\x00\x00\x00\x00"
                                   "1,1[-1-9223372039{,2,{\"\\\\9223372039{_se\"}"
                                   "0E+99-1e3001,2}\"w\"aecg|";
  EXPECT_EQ(decode(std::string_view(reproducer, sizeof reproducer - 1)).ec,
            make_error_code(errc::malformed_json));
}

TEST(FuzzRegressions, NumberCheckVerdicts) {
  using v = json_number_verdict;
  const std::pair<std::string, v> cases[] = {
      {"0e40", v::normal_precision},
      {"[0.000E-3]", v::normal_precision},
      {"{\"a\":-0e1}", v::normal_precision},
      {"0." + zeros(30), v::normal_precision},
      {"0." + zeros(400) + "1", v::normal_precision},
      {"1e-324", v::normal_precision}, // full precision: NaN
      {"[1, 0.25e-323]", v::normal_precision},
      {"4.9e-324", v::normal_precision},
      {"1e-322", v::full_precision},
      {"2.2250738585072011e-308", v::full_precision},
      {"1e40", v::full_precision},
      {"0.5e-300", v::full_precision},
      {"10e40", v::full_precision},
      {"0", v::full_precision},
      {"-0.0", v::full_precision},
      {"0." + zeros(400) + "1e400", v::full_precision}, // 0.1
      {"\"0e40\"", v::full_precision},                  // a string
      {R"({"a\"0e1":1})", v::full_precision},           // an escaped quote inside a key
      {"true", v::full_precision},
      {"", v::full_precision},
      {"[1e-2147483000]", v::normal_precision},
      {"1.7976931348623157e308", v::full_precision}, // DBL_MAX
      {"17976931348623157e292", v::full_precision},
      {"1.7976931348623158e308", v::refuse},
      {"1797693134862315700001e287", v::refuse},
      {"1000e306", v::refuse},
      {"0.01e311", v::refuse},
      {"[0.1e-2147483639]", v::refuse},
      {"[1e-99999999999999999999]", v::refuse},
  };
  for (const auto& [text, expected] : cases)
    EXPECT_EQ(check_json_numbers(text).verdict, expected) << text;
  EXPECT_EQ(check_json_numbers("[1, 0.1e-2147483639]").offset, 4u);
}

// The fuzzer's findings generalised: numbers of every shape around both ends of the double
// range (many digits, leading zeros, exponents) decode to what strtod says, exactly wherever a
// double can hold them; beyond DBL_MAX they are refused like "1e309"; nothing crashes.
TEST(FuzzRegressions, DecodedNumbersMatchStrtod) {
  std::mt19937_64 rng(20240607);
  int exact = 0, tiny = 0, refused = 0;
  for (int t = 0; t < 20000; ++t) {
    const int magnitude = static_cast<int>(rng() % 800) - 400; // decimal exponent of digit 1
    std::string digits(1, static_cast<char>('1' + rng() % 9));
    for (std::size_t k = rng() % (rng() % 4 ? 20 : 120); k > 0; --k)
      digits += static_cast<char>('0' + rng() % 10);
    // "D.DDDe(m-len)" or "0.<z-1 zeros>DDDe(m+z-1)": both have their first digit at 10^(m-1).
    const int z = rng() % 3 ? 0 : 1 + static_cast<int>(rng() % 60);
    const std::string number =
        z ? "0." + std::string(z - 1, '0') + digits + "e" + std::to_string(magnitude + z - 1)
          : digits + "e" + std::to_string(magnitude - static_cast<int>(digits.size()));
    const double expected = std::strtod(number.c_str(), nullptr);
    const decode_result r = decode(
        R"({"message_type":"command_execution_message","commands":[{"command":"a","timeout_s":)" +
        number + "}]}");
    if (!r.msg) {
      EXPECT_GE(expected, DBL_MAX) << number << ": " << r.error;
      ++refused;
      continue;
    }
    const double got =
        std::get<command_execution_message>(*r.msg).commands[0].timeout_s.value_or(-1);
    if (magnitude <= -323) {
      EXPECT_TRUE(got >= 0 && got < 1e-300) << number << " -> " << got;
      ++tiny;
    } else {
      EXPECT_EQ(got, expected) << number;
      ++exact;
    }
  }
  std::printf("[ figures  ] numbers: %d exact, %d below the subnormals, %d refused\n", exact, tiny,
              refused);
}

// Full precision is kept for every other number: the codec's round trip stays exact.
TEST(FuzzRegressions, FullPrecisionKeptForOtherNumbers) {
  // The normal-precision parser reads this one 1 ulp off.
  const decode_result r =
      decode(R"({"message_type":"command_execution_message",)"
             R"("commands":[{"command":"a","timeout_s":2.2250738585072011e-308}]})");
  ASSERT_TRUE(r.msg) << r.error;
  EXPECT_EQ(std::get<command_execution_message>(*r.msg).commands[0].timeout_s.value_or(0),
            2.2250738585072011e-308);
}

// fuzz_protocol_decode, crash-a3b42d19 ("\xEF\x99\x99\x19"): decode read frames through
// RapidJSON's EncodedInputStream, which drops a UTF-8 BOM and also a lone 0xEF before it
// looks further, so decode accepted "\xEF{...}" and BOM-prefixed frames while
// decode_text_frame (what the sockets use) refused them, with a different offset. Both refuse
// them now, as JSON.parse in the TypeScript runtime does, at offset 0.
TEST(FuzzRegressions, LeadingBomOrLoneEfIsRefusedByBothDecoders) {
  const std::string frame = R"({"message_type":"heartbeat_message","phase":"p","elapsed_ms":1})";
  ASSERT_TRUE(decode(frame).msg);
  for (const std::string& prefix :
       {std::string("\xEF\xBB\xBF"), std::string("\xEF"), std::string("\xEF\xBB")}) {
    for (const decode_result& r : {decode(prefix + frame), decode_text_frame(prefix + frame)}) {
      EXPECT_FALSE(r.msg);
      EXPECT_EQ(r.ec, make_error_code(errc::malformed_json)) << r.error;
      EXPECT_NE(r.error.find("offset 0:"), std::string::npos) << r.error;
    }
  }
  const std::string reproducer = "\xEF\x99\x99\x19";
  const decode_result a = decode(reproducer);
  const decode_result b = decode_text_frame(reproducer);
  EXPECT_FALSE(a.msg);
  EXPECT_EQ(a.error, b.error);
  EXPECT_EQ(a.error, "malformed JSON at offset 0: Invalid value.");
}

// fuzz_protocol_decode, crash-94731b24 ("-0.1844674407370955161599" and a stray byte): digits
// that start with 2^64 - 1's and go on with a 5 or more made StrtodDiyFp round its uint64
// significand up to 0 (UBSan: clz(0) in DiyFp::Normalize) and return a wrong value. Such
// numbers take the normal-precision parser now, which reads them within an ulp.
TEST(FuzzRegressions, Uint64MaxDigitsFollowedByFiveOrMoreReadCorrectly) {
  EXPECT_FALSE(decode("-0.1844674407370955161599\xCF").msg);
  for (const std::string number :
       {"0.1844674407370955161599", "-0.1844674407370955161599", "184467440737095516155",
        "1.84467440737095516159e300", "18446744073709551615.5e-10"}) {
    EXPECT_EQ(check_json_numbers(number).verdict, json_number_verdict::normal_precision) << number;
    const decode_result r = decode(R"({"message_type":"command_execution_message","commands":[)"
                                   R"({"command":"a","timeout_s":)" +
                                   number + "}]}");
    if (number[0] == '-') {
      EXPECT_FALSE(r.msg) << number; // refused as negative, no longer a garbage value
      EXPECT_NE(r.error.find("must be >= 0"), std::string::npos) << r.error;
      continue;
    }
    ASSERT_TRUE(r.msg) << number << ": " << r.error;
    const double got =
        std::get<command_execution_message>(*r.msg).commands[0].timeout_s.value_or(-1);
    EXPECT_DOUBLE_EQ(got, std::strtod(number.c_str(), nullptr)) << number;
  }
  // Neighbours the bug does not touch keep full precision.
  for (const char* number : {"18446744073709551615", "184467440737095516154",
                             "0.18446744073709551614", "1844674407370955161"})
    EXPECT_EQ(check_json_numbers(number).verdict, json_number_verdict::full_precision) << number;
}

} // namespace
} // namespace agentrt::protocol
