// SPDX-License-Identifier: MIT
// The dispatcher's log lines: on stderr with a UTC timestamp, or, when stderr is the systemd
// journal, with an sd-daemon priority prefix ("<4>") instead, the journal keeping the time
// and the program name itself.
#pragma once

#include <time.h>

#include <functional>
#include <string>
#include <string_view>

namespace dspm::dispatcher {

// syslog(3) priorities, the values sd-daemon(3) prefixes carry.
enum class LogLevel : int { err = 3, warning = 4, notice = 5, info = 6 };

// One log line (without its newline) and its priority.
using LogFn = std::function<void(LogLevel, std::string_view)>;

// Whether stderr is the stream systemd named in $JOURNAL_STREAM ("DEV:INODE"): only then is
// it the journal, not a file or terminal the service's stderr was redirected to later.
bool stderr_is_journal();

// The bytes written for one line, newline included: "<6>LINE" for the journal,
// "2026-11-21T02:48:15.022Z dspm-dispatcher: LINE" otherwise.
std::string format_log_line(LogLevel level, std::string_view line, bool journal,
                            const timespec& now);

// Writes the line in one write(2), so that lines of concurrent writers do not interleave;
// the format is chosen once, at the first call.
void log_to_stderr(LogLevel level, std::string_view line);

}  // namespace dspm::dispatcher
