// Makes client-supplied text safe to put on one log line: a newline, carriage return or ESC in
// a source_id, a file name or an error text must not start a forged line or drive the
// terminal that shows the log.
#pragma once

#include <string>
#include <string_view>

namespace agentrt::runtime::log {

// Appends text to out with every byte that could end a line or start a control sequence
// replaced by a visible escape: \n, \r, \t, other C0 controls and DEL as \xHH, the C1 controls
// U+0080..U+009F (8-bit CSI and friends) as \u00HH. Bytes that are not valid UTF-8 become
// U+FFFD, as in the protocol's text frames. Everything else, including backslashes and valid
// UTF-8, is copied as is, so ordinary text reads unchanged; the output is always valid UTF-8
// without control characters.
void append_escaped(std::string& out, std::string_view text);

} // namespace agentrt::runtime::log
