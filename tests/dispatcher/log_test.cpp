// SPDX-License-Identifier: MIT
// The dispatcher's log line formats: stderr with a timestamp, or the journal with a priority.
#include "log.hpp"

#include <time.h>

#include <string>

#include <gtest/gtest.h>

using namespace dspm::dispatcher;

TEST(Log, StderrLineHasUtcTimestampAndName) {
  const timespec t{.tv_sec = 1795230495, .tv_nsec = 22'500'000};  // 2026-11-21T03:08:15.022Z
  EXPECT_EQ(format_log_line(LogLevel::info, "connection from 10.0.0.2:1234", false, t),
            "2026-11-21T03:08:15.022Z dspm-dispatcher: connection from 10.0.0.2:1234\n");
}

TEST(Log, JournalLineHasPriorityOnly) {
  const timespec t{.tv_sec = 1795230495, .tv_nsec = 0};
  EXPECT_EQ(format_log_line(LogLevel::err, "error: x", true, t), "<3>error: x\n");
  EXPECT_EQ(format_log_line(LogLevel::warning, "w", true, t), "<4>w\n");
  EXPECT_EQ(format_log_line(LogLevel::notice, "n", true, t), "<5>n\n");
  EXPECT_EQ(format_log_line(LogLevel::info, "i", true, t), "<6>i\n");
}

TEST(Log, JournalStreamMustNameStderr) {
  ::setenv("JOURNAL_STREAM", "not-a-pair", 1);
  EXPECT_FALSE(stderr_is_journal());
  ::setenv("JOURNAL_STREAM", "1:1", 1);
  EXPECT_FALSE(stderr_is_journal());
  ::unsetenv("JOURNAL_STREAM");
  EXPECT_FALSE(stderr_is_journal());
}
