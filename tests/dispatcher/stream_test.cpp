// SPDX-License-Identifier: MIT
// The byte-stream layer under both transports: framing of messages that arrive in pieces,
// and the RDMA segment rules of dspm_wire.h (SENDs of at most 4096 bytes, no header of
// their own, a bounded number in flight).
#include "stream.hpp"

#include <cstring>
#include <numeric>

#include <gtest/gtest.h>

#include "samples.hpp"

using namespace dspm::dispatcher;
using namespace dspm::dispatcher::rdma_stream;

namespace {

// A NODE_TABLE of @n nodes: 48 + 64 n bytes.
Message big_table(std::uint32_t n) {
  NodeTable t{3, {}};
  for (std::uint32_t i = 1; i <= n; ++i) {
    NodeEntry e;
    e.id = i;
    e.uuid.fill(static_cast<std::uint8_t>(i));
    e.addr.addr = {10, 0, 0, static_cast<std::uint8_t>(i)};
    e.addr.port = 7411;
    t.nodes.push_back(e);
  }
  return Message{DSPM_WIRE_NODE_DISPATCHER, 0, t};
}

// What a receiver sees: @out cut into SENDs, at most @slots outstanding at a time.
std::vector<std::vector<std::byte>> segments_of(OutQueue& out, std::size_t slots = 16) {
  std::vector<std::vector<std::byte>> sends;
  SendSlots s(slots);
  std::vector<std::byte> buf(segment);
  while (!out.empty()) {
    auto slot = s.acquire();
    if (!slot) {  // every buffer in flight: the oldest completes
      EXPECT_EQ(s.in_flight(), slots);
      for (std::size_t i = 0; i < slots; ++i) EXPECT_TRUE(s.release(i));
      continue;
    }
    std::size_t n = take_segment(out, buf);
    EXPECT_GE(n, 1u);
    EXPECT_LE(n, segment);
    EXPECT_TRUE(receive_ok(n));
    sends.emplace_back(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
  }
  return sends;
}

std::vector<Message> drain(MessageFramer& f) {
  std::vector<Message> out;
  while (auto m = f.next()) {
    EXPECT_TRUE(*m) << m->error().message;
    if (!*m) break;
    out.push_back(std::move(m->value()));
  }
  return out;
}

}  // namespace

TEST(Stream, MessageSpansSegments) {
  Message m = big_table(200);  // 14448 bytes: 4 SENDs
  OutQueue out;
  out.append(encode(m));
  auto sends = segments_of(out);
  ASSERT_EQ(sends.size(), 4u);
  EXPECT_EQ(sends[0].size(), segment);
  EXPECT_EQ(sends[3].size(), 14448u - 3 * segment);
  MessageFramer f;
  for (std::size_t i = 0; i + 1 < sends.size(); ++i) {
    f.append(sends[i]);
    EXPECT_FALSE(f.next()) << "a whole message before its last segment";
  }
  f.append(sends.back());
  auto got = drain(f);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], m);
  EXPECT_EQ(f.buffered(), 0u);
}

TEST(Stream, SegmentHoldsEndOfOneAndStartOfNext) {
  auto samples = test::sample_messages();
  OutQueue out;
  std::vector<Message> sent;
  for (int round = 0; round < 40; ++round) {  // enough bytes for many boundaries
    for (const auto& m : samples) {
      out.append(encode(m));
      sent.push_back(m);
    }
    out.append(encode(big_table(static_cast<std::uint32_t>(round + 1))));
    sent.push_back(big_table(static_cast<std::uint32_t>(round + 1)));
  }
  std::size_t total = out.size();
  auto sends = segments_of(out, 3);
  EXPECT_EQ(sends.size(), (total + segment - 1) / segment);
  MessageFramer f;
  std::vector<Message> got;
  std::size_t straddling = 0;
  for (const auto& s : sends) {
    f.append(s);
    auto some = drain(f);
    if (!some.empty() && f.buffered() != 0) ++straddling;  // ended one, started the next
    got.insert(got.end(), some.begin(), some.end());
  }
  EXPECT_GT(straddling, 10u);
  EXPECT_EQ(got, sent);
}

TEST(Stream, ByteByByteAndAllAtOnceAgree) {
  auto samples = test::sample_messages();
  std::vector<std::byte> all;
  for (const auto& m : samples) {
    auto b = encode(m);
    all.insert(all.end(), b.begin(), b.end());
  }
  MessageFramer one, many;
  one.append(all);
  std::vector<Message> got;
  for (auto b : all) {
    many.append({&b, 1});
    auto some = drain(many);
    got.insert(got.end(), some.begin(), some.end());
  }
  EXPECT_EQ(drain(one), samples);
  EXPECT_EQ(got, samples);
}

TEST(Stream, OversizedReceiveRejected) {
  EXPECT_TRUE(receive_ok(0));
  EXPECT_TRUE(receive_ok(1));
  EXPECT_TRUE(receive_ok(DSPM_WIRE_RDMA_SEGMENT));
  EXPECT_FALSE(receive_ok(DSPM_WIRE_RDMA_SEGMENT + 1));
  EXPECT_FALSE(receive_ok(1 << 20));
}

TEST(Stream, BadHeaderIsAnErrorAtOnce) {
  MessageFramer f;
  std::vector<std::byte> junk(DSPM_WIRE_HDR_SIZE, std::byte{0x41});
  f.append(junk);
  auto m = f.next();
  ASSERT_TRUE(m);
  EXPECT_FALSE(*m);
  // A length beyond DSPM_WIRE_MAX_MESSAGE is refused from the header alone, before any
  // more bytes arrive.
  auto b = encode(test::sample_messages()[0]);
  std::uint32_t huge = DSPM_WIRE_MAX_MESSAGE + 1;
  std::memcpy(b.data() + 8, &huge, 4);
  MessageFramer g;
  g.append({b.data(), DSPM_WIRE_HDR_SIZE});
  auto m2 = g.next();
  ASSERT_TRUE(m2);
  EXPECT_FALSE(*m2);
  EXPECT_EQ(m2->error().code, EMSGSIZE);
}

TEST(Stream, SendSlotsBoundTheSendsInFlight) {
  SendSlots s(2);
  auto a = s.acquire();
  auto b = s.acquire();
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);
  EXPECT_FALSE(s.acquire());
  EXPECT_EQ(s.in_flight(), 2u);
  EXPECT_TRUE(s.release(*a));
  EXPECT_FALSE(s.release(*a)) << "a completion for a slot not in flight";
  EXPECT_FALSE(s.release(7));
  EXPECT_EQ(s.in_flight(), 1u);
  EXPECT_EQ(s.acquire(), a);
}

TEST(Stream, OutQueueTakesFromTheFront) {
  OutQueue q;
  std::vector<std::byte> b(200000);
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<std::byte>(i * 31);
  q.append(b);
  std::vector<std::byte> got;
  std::vector<std::byte> seg(segment);
  while (std::size_t n = take_segment(q, seg)) got.insert(got.end(), seg.begin(), seg.begin() + n);
  EXPECT_EQ(got, b);
  EXPECT_TRUE(q.empty());
}
