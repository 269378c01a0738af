// metadata_test.cpp — the typed key/value store: order, duplicates, converting accessors.
#include "format/metadata.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "format/byte_reader.h"

namespace whale {
namespace {

TEST(Metadata, KeepsInsertionOrderAndRejectsDuplicates) {
  Metadata m;
  ASSERT_TRUE(m.add("z", meta_u32(1)).ok());
  ASSERT_TRUE(m.add("a", meta_str("x")).ok());
  ASSERT_TRUE(m.add("m", meta_f32(0.5f)).ok());
  auto dup = m.add("a", meta_u32(2));
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.error().what().find("duplicate metadata key 'a'"), std::string::npos);
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m.entries()[0].first, "z");
  EXPECT_EQ(m.entries()[1].first, "a");
  EXPECT_EQ(m.entries()[2].first, "m");
  EXPECT_EQ(*m.get_string("a"), "x");  // the failed add did not overwrite
  m.set("a", meta_str("y"));
  EXPECT_EQ(*m.get_string("a"), "y");
  EXPECT_EQ(m.entries()[1].first, "a");
  EXPECT_TRUE(m.erase("z"));
  EXPECT_FALSE(m.erase("z"));
  ASSERT_EQ(m.size(), 2u);
  // The index is rebuilt after erase: lookups still find the right entries.
  EXPECT_EQ(*m.get_string("a"), "y");
  EXPECT_EQ(*m.get_double("m"), 0.5);
  m.set("new", meta_i32(-4));
  EXPECT_EQ(m.entries().back().first, "new");
  EXPECT_EQ(*m.get_int("new"), -4);
}

TEST(Metadata, ConvertingAccessors) {
  Metadata m;
  ASSERT_TRUE(m.add("u8", MetaValue{std::uint8_t{200}}).ok());
  ASSERT_TRUE(m.add("i8", MetaValue{std::int8_t{-100}}).ok());
  ASSERT_TRUE(m.add("u16", MetaValue{std::uint16_t{60000}}).ok());
  ASSERT_TRUE(m.add("i64", MetaValue{std::int64_t{-5}}).ok());
  ASSERT_TRUE(m.add("u64big", MetaValue{std::uint64_t{1} << 63}).ok());
  ASSERT_TRUE(m.add("f64", MetaValue{2.5}).ok());
  ASSERT_TRUE(m.add("b", meta_bool(true)).ok());
  ASSERT_TRUE(m.add("s", meta_str("hi")).ok());
  ASSERT_TRUE(m.add("arr", meta_i32_array({1, 2, 3})).ok());
  EXPECT_EQ(*m.get_int("u8"), 200);
  EXPECT_EQ(*m.get_int("i8"), -100);
  EXPECT_EQ(*m.get_int("u16"), 60000);
  EXPECT_EQ(*m.get_int("i64"), -5);
  EXPECT_EQ(*m.get_double("i64"), -5.0);
  EXPECT_EQ(*m.get_double("f64"), 2.5);
  EXPECT_TRUE(*m.get_bool("b"));
  EXPECT_EQ((*m.get_array("arr"))->items.size(), 3u);

  auto big = m.get_int("u64big");
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.error().what().find("metadata key 'u64big'"), std::string::npos);
  EXPECT_NE(big.error().what().find("does not fit"), std::string::npos);
  auto wrong = m.get_int("s");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().what(), "metadata key 's': expected an integer, found string");
  EXPECT_FALSE(m.get_int("f64").ok());  // floats are not silently truncated
  EXPECT_FALSE(m.get_int("b").ok());
  EXPECT_FALSE(m.get_bool("u8").ok());
  EXPECT_FALSE(m.get_string("u8").ok());
  EXPECT_FALSE(m.get_array("s").ok());
  auto missing = m.get_int("nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().what(), "metadata key 'nope' is missing");

  EXPECT_EQ(m.get_int_or("nope", 9), 9);
  EXPECT_EQ(m.get_int_or("s", 9), 9);
  EXPECT_EQ(m.get_double_or("nope", 1.5), 1.5);
  EXPECT_EQ(m.get_string_or("u8", "dflt"), "dflt");
  EXPECT_FALSE(m.get_bool_or("nope", false));
}

TEST(MetaValue, EqualityComparesFloatsByBits) {
  EXPECT_EQ(meta_f32(NAN), meta_f32(NAN));
  EXPECT_FALSE(meta_f32(0.0f) == meta_f32(-0.0f));
  EXPECT_FALSE(MetaValue{1.0} == meta_f32(1.0f));       // type matters
  EXPECT_FALSE(meta_u32(1) == meta_i32(1));
  EXPECT_EQ(meta_f32_array({1.0f, NAN}), meta_f32_array({1.0f, NAN}));
  EXPECT_FALSE(meta_str_array({"a"}) == meta_str_array({"b"}));
}

TEST(MetaValue, Display) {
  EXPECT_EQ(meta_str("a\nb").to_display(), "\"a b\"");
  EXPECT_EQ(meta_bool(false).to_display(), "false");
  EXPECT_EQ(MetaValue{std::uint8_t{7}}.to_display(), "7");
  EXPECT_EQ(meta_i32_array({1, 2, 3}).to_display(), "[1, 2, 3]");
  EXPECT_EQ(meta_i32_array({1, 2, 3, 4}).to_display(2), "[1, 2, ... (4 i32 items)]");
  EXPECT_EQ(meta_str(std::string(100, 'x')).to_display().size(), 62u);  // 57 + "..." + quotes
  EXPECT_EQ(meta_type_name(MetaType::kF64), "f64");
}

TEST(Utf8, ValidatesEncodings) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("plain ascii"));
  EXPECT_TRUE(is_valid_utf8("\xc3\xa9"));          // é
  EXPECT_TRUE(is_valid_utf8("\xe2\x82\xac"));      // €
  EXPECT_TRUE(is_valid_utf8("\xf0\x9f\x90\xb3"));  // whale emoji
  EXPECT_TRUE(is_valid_utf8("\xf4\x8f\xbf\xbf"));  // U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xff"));
  EXPECT_FALSE(is_valid_utf8("\x80"));               // lone continuation
  EXPECT_FALSE(is_valid_utf8("\xc3"));               // truncated
  EXPECT_FALSE(is_valid_utf8("\xc0\x80"));           // overlong NUL
  EXPECT_FALSE(is_valid_utf8("\xe0\x80\xaf"));       // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xf0\x80\x80\xaf"));   // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));       // surrogate U+D800
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));   // U+110000
  EXPECT_FALSE(is_valid_utf8("\xf8\x88\x80\x80\x80"));
  EXPECT_FALSE(is_valid_utf8("a\xe2\x28\xa1"));      // bad continuation
}

TEST(CheckedSlice, RejectsOverflowAndOutOfRange) {
  std::vector<std::byte> buf(100);
  std::span<const std::byte> s(buf);
  auto ok = checked_slice(s, 10, 20, 4);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->data(), buf.data() + 10);
  EXPECT_EQ(ok->size(), 80u);
  EXPECT_TRUE(checked_slice(s, 100, 0, 4).ok());
  EXPECT_FALSE(checked_slice(s, 10, 23, 4).ok());
  EXPECT_FALSE(checked_slice(s, 101, 0, 1).ok());
  EXPECT_FALSE(checked_slice(s, 0, std::uint64_t{1} << 62, 8).ok());  // product overflows
  EXPECT_FALSE(checked_slice(s, ~std::uint64_t{0}, 1, 1).ok());
}

TEST(ByteReader, ReadsLittleEndianAndStopsAtTheEnd) {
  const std::uint8_t raw[] = {1, 2, 3, 4, 5, 6, 7};
  ByteReader in(std::as_bytes(std::span(raw)));
  EXPECT_EQ(*in.read<std::uint32_t>(), 0x04030201u);
  EXPECT_EQ(in.remaining(), 3u);
  auto fail = in.read<std::uint32_t>();
  ASSERT_FALSE(fail.ok());
  EXPECT_EQ(fail.error().what(), "unexpected end of data at offset 4 (need 4 bytes, 3 left)");
  EXPECT_EQ(in.offset(), 4u);  // a failed read does not move
  EXPECT_FALSE(in.read_bytes(4).ok());
  EXPECT_EQ(in.read_bytes(3)->size(), 3u);
  EXPECT_FALSE(in.seek(8).ok());
  EXPECT_TRUE(in.seek(7).ok());
  EXPECT_EQ(in.remaining(), 0u);
}

}  // namespace
}  // namespace whale
