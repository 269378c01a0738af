// gguf_test.cpp — GGUF reader and writer: exact bytes against a hand-built image, round trips
// of every value type and every ggml type, alignment, split files.
#include <fmt/format.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>

#include "data/bad/crafted.h"
#include "format/gguf.h"
#include "format/gguf_writer.h"
#include "format/mapped_file.h"
#include "format/model_files.h"
#include "format/tensor_directory.h"
#include "unit/test_files.h"
#include "util/aligned_buffer.h"

namespace whale {
namespace {

using test::ByteBuilder;

bool contains(const std::string& s, const std::string& sub) { return s.find(sub) != std::string::npos; }

std::vector<std::byte> pattern(std::size_t n, unsigned seed) {
  std::vector<std::byte> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::byte>((i * 131 + seed * 7 + 3) & 0xff);
  return v;
}

bool same_bytes(std::span<const std::byte> a, std::span<const std::byte> b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

// The decoder layer of a tensor, from either naming scheme; -1 for anything else.
TEST(TensorNames, LayerOfGgufAndHuggingFaceNames) {
  EXPECT_EQ(layer_of_tensor("blk.12.ffn_down.weight"), 12);
  EXPECT_EQ(layer_of_tensor("blk.0.attn_v.weight"), 0);
  EXPECT_EQ(layer_of_tensor("model.layers.61.mlp.experts.3.up_proj.weight"), 61);
  EXPECT_EQ(layer_of_tensor("output.weight"), -1);
  EXPECT_EQ(layer_of_tensor("model.embed_tokens.weight"), -1);
  EXPECT_EQ(layer_of_tensor("blk.x.attn_v.weight"), -1);
  EXPECT_EQ(layer_of_tensor("blk.7"), -1);
  EXPECT_EQ(layer_of_tensor("blk.-1.attn_v.weight"), -1);
  EXPECT_EQ(layer_of_tensor("blk.99999999999999999999.attn_v.weight"), -1);
}

// The writer's output for a tiny model, compared byte for byte with the layout the GGUF spec
// describes, built by hand.
TEST(GgufWriter, BytesMatchTheSpecLayout) {
  Metadata m;
  ASSERT_TRUE(m.add("general.architecture", meta_str("x")).ok());
  ASSERT_TRUE(m.add("n", meta_u32(5)).ok());
  GgufWriter w(std::move(m));
  const std::vector<float> data = {1.0f, 2.0f};
  ASSERT_TRUE(w.add_tensor("t", DType::kF32, {2}, test::as_bytes(data)).ok());
  const std::vector<std::uint16_t> h = {0x3c00, 0x4000, 0x4200};
  ASSERT_TRUE(w.add_tensor("u", DType::kF16, {1, 3}, test::as_bytes(h)).ok());
  auto bytes = w.to_bytes();
  ASSERT_TRUE(bytes.ok()) << bytes.error().what();

  ByteBuilder b;
  b.raw("GGUF", 4).u32(3).u64(2).u64(2);
  b.str("general.architecture").u32(8).str("x");
  b.str("n").u32(4).u32(5);
  b.str("t").u32(1).u64(2).u32(0).u64(0);       // 1 dim: 2, F32, offset 0
  b.str("u").u32(2).u64(3).u64(1).u32(1).u64(32);  // dims innermost first: 3, 1; F16; offset 32
  b.pad_to(32);
  b.f32(1.0f).f32(2.0f).zeros(24);  // tensor t, then padding to the next 32
  b.u16(0x3c00).u16(0x4000).u16(0x4200);
  b.pad_to(32);  // the writer pads the end of the file to the alignment too
  EXPECT_EQ(bytes->size(), b.size());
  EXPECT_TRUE(same_bytes(*bytes, b.bytes()));
}

TEST(GgufReader, ParsesHandBuiltFile) {
  const auto bytes = test::small_valid_gguf();
  auto g = parse_gguf(bytes);
  ASSERT_TRUE(g.ok()) << g.error().what();
  EXPECT_EQ(g->version, 3u);
  EXPECT_EQ(g->alignment, 32u);
  EXPECT_EQ(g->data_offset % 32, 0u);
  EXPECT_EQ(*g->metadata.get_string("general.architecture"), "test");
  EXPECT_EQ(*g->metadata.get_int("test.n"), 7);
  EXPECT_EQ(g->metadata.find("test.n")->type(), MetaType::kU32);
  ASSERT_EQ(g->tensors.size(), 2u);
  const TensorRecord& a = g->tensors[0];
  EXPECT_EQ(a.name, "a");
  EXPECT_EQ(a.dtype, DType::kF32);
  EXPECT_EQ(a.shape, (std::vector<std::int64_t>{2, 4}));  // file order 4, 2 -> outermost first
  EXPECT_EQ(a.rows(), 2);
  EXPECT_EQ(a.cols(), 4);
  EXPECT_EQ(a.bytes.data(), bytes.data() + g->data_offset);  // zero copy: points into the image
  float v[8];
  std::memcpy(v, a.bytes.data(), sizeof v);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(v[i], static_cast<float>(i));
  const TensorRecord& b = g->tensors[1];
  EXPECT_EQ(b.bytes.data(), bytes.data() + g->data_offset + 32);
  EXPECT_EQ(b.bytes.size(), 12u);
  EXPECT_EQ(b.bytes.data() + b.bytes.size(), bytes.data() + bytes.size());
}

TEST(GgufReader, AcceptsVersion2) {
  auto bytes = test::small_valid_gguf();
  bytes[4] = std::byte{2};
  auto g = parse_gguf(bytes);
  ASSERT_TRUE(g.ok()) << g.error().what();
  EXPECT_EQ(g->version, 2u);
}

Metadata every_value_type() {
  Metadata m;
  auto add = [&](const char* k, MetaValue v) { ASSERT_TRUE(m.add(k, std::move(v)).ok()) << k; };
  add("general.architecture", meta_str("test"));
  add("v.u8", MetaValue{std::uint8_t{255}});
  add("v.i8", MetaValue{std::int8_t{-128}});
  add("v.u16", MetaValue{std::uint16_t{65535}});
  add("v.i16", MetaValue{std::int16_t{-32768}});
  add("v.u32", MetaValue{std::uint32_t{4294967295u}});
  add("v.i32", MetaValue{std::int32_t{-2147483647 - 1}});
  add("v.f32", MetaValue{3.14159274f});
  add("v.f32_negzero", MetaValue{-0.0f});
  add("v.f32_nan_payload", MetaValue{std::bit_cast<float>(0x7fc01234u)});
  add("v.f32_denormal", MetaValue{std::bit_cast<float>(0x00000001u)});
  add("v.bool_true", MetaValue{true});
  add("v.bool_false", MetaValue{false});
  add("v.string", meta_str("hello, \xe4\xb8\x96\xe7\x95\x8c"));
  add("v.string_empty", meta_str(""));
  add("v.string_nul", meta_str(std::string("a\0b", 3)));
  add("v.u64", MetaValue{std::uint64_t{18446744073709551615ull}});
  add("v.i64", MetaValue{std::int64_t{-9223372036854775807LL - 1}});
  add("v.f64", MetaValue{2.718281828459045});
  add("v.f64_inf", MetaValue{-INFINITY});
  // Arrays of every element type.
  auto arr = [](MetaType t, std::vector<MetaValue> items) { return MetaValue{MetaArray{t, std::move(items)}}; };
  add("a.u8", arr(MetaType::kU8, {MetaValue{std::uint8_t{0}}, MetaValue{std::uint8_t{200}}}));
  add("a.i8", arr(MetaType::kI8, {MetaValue{std::int8_t{-1}}}));
  add("a.u16", arr(MetaType::kU16, {MetaValue{std::uint16_t{1}}, MetaValue{std::uint16_t{2}}}));
  add("a.i16", arr(MetaType::kI16, {MetaValue{std::int16_t{-3}}}));
  add("a.u32", arr(MetaType::kU32, {MetaValue{std::uint32_t{7}}}));
  add("a.i32", meta_i32_array({1, -2, 3}));
  add("a.f32", meta_f32_array({0.5f, -1.25f, NAN}));
  add("a.bool", arr(MetaType::kBool, {MetaValue{true}, MetaValue{false}, MetaValue{true}}));
  add("a.string", meta_str_array({"<s>", "", "\xe2\x96\x81the", std::string(300, 'z')}));
  add("a.u64", arr(MetaType::kU64, {MetaValue{std::uint64_t{1} << 40}}));
  add("a.i64", arr(MetaType::kI64, {MetaValue{std::int64_t{-1}}}));
  add("a.f64", arr(MetaType::kF64, {MetaValue{1e300}, MetaValue{-0.0}}));
  add("a.empty", arr(MetaType::kU32, {}));
  // Nested arrays: of arrays of different element types, of arrays of strings, and four
  // levels deep (the deepest the reader accepts).
  add("a.nested", arr(MetaType::kArray, {meta_i32_array({1, 2}), meta_str_array({"x", "y"}),
                                          arr(MetaType::kF64, {}), meta_f32_array({9.0f})}));
  add("a.nested_strings", arr(MetaType::kArray, {meta_str_array({"a"}), meta_str_array({"b", "c"})}));
  add("a.depth4",
      arr(MetaType::kArray,
          {arr(MetaType::kArray,
               {arr(MetaType::kArray, {arr(MetaType::kU8, {MetaValue{std::uint8_t{42}}})}),
                arr(MetaType::kArray, {})})}));
  return m;
}

TEST(GgufRoundTrip, EveryMetadataValueTypeBitForBit) {
  const Metadata m = every_value_type();
  GgufWriter w(m);
  const auto t0 = pattern(24, 1);
  ASSERT_TRUE(w.add_tensor("tensor.one", DType::kF32, {2, 3}, t0).ok());
  auto bytes = w.to_bytes();
  ASSERT_TRUE(bytes.ok()) << bytes.error().what();
  auto g = parse_gguf(*bytes);
  ASSERT_TRUE(g.ok()) << g.error().what();
  ASSERT_EQ(g->metadata.size(), m.size());
  for (std::size_t i = 0; i < m.size(); ++i) {
    EXPECT_EQ(g->metadata.entries()[i].first, m.entries()[i].first);
    EXPECT_TRUE(g->metadata.entries()[i].second == m.entries()[i].second)
        << m.entries()[i].first << ": " << g->metadata.entries()[i].second.to_display();
  }
  EXPECT_TRUE(g->metadata == m);
  ASSERT_EQ(g->tensors.size(), 1u);
  EXPECT_TRUE(same_bytes(g->tensors[0].bytes, t0));

  // What was read writes back to the same bytes.
  GgufWriter again(g->metadata);
  for (const auto& t : g->tensors)
    ASSERT_TRUE(again.add_tensor(t.name, t.dtype, t.shape, t.bytes).ok());
  auto bytes2 = again.to_bytes();
  ASSERT_TRUE(bytes2.ok());
  EXPECT_TRUE(same_bytes(*bytes, *bytes2));

  // write() produces the same bytes as to_bytes(), through a temporary renamed into place.
  const auto dir = test::scratch_dir();
  ASSERT_TRUE(again.write(dir / "m.gguf").ok());
  EXPECT_TRUE(same_bytes(test::read_bytes(dir / "m.gguf"), *bytes));
  EXPECT_FALSE(std::filesystem::exists(dir / "m.gguf.partial"));
  auto f = open_gguf(dir / "m.gguf");
  ASSERT_TRUE(f.ok()) << f.error().what();
  EXPECT_TRUE(f->contents.metadata == m);
  EXPECT_TRUE(same_bytes(f->contents.tensors[0].bytes, t0));
  EXPECT_EQ(f->contents.tensors[0].bytes.data(), f->file.bytes().data() + f->contents.data_offset);
}

// The weights' mapping starts on a 2 MiB boundary (file offset and address agree modulo the huge
// page, so the kernel can map 2 MiB page-cache folios whole) and holds exactly the file.
TEST(MappedFile, WholeFileOnAHugePageBoundary) {
  const auto dir = test::scratch_dir();
  for (std::size_t size : {std::size_t{1}, std::size_t{5000}, kHugePageBytes + 12345}) {
    std::vector<std::byte> data(size);
    for (std::size_t i = 0; i < size; ++i) data[i] = static_cast<std::byte>((i * 131) >> 3);
    const auto path = dir / fmt::format("mapped_{}.bin", size);
    test::write_bytes(path, data);
    auto f = MappedFile::open(path);
    ASSERT_TRUE(f.ok()) << f.error().what();
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(f->bytes().data()) % kHugePageBytes, 0u) << size;
    ASSERT_EQ(f->size(), size);
    EXPECT_TRUE(same_bytes(f->bytes(), data)) << size;
  }
  auto missing = MappedFile::open(dir / "no_such.bin");
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(contains(missing.error().what(), "no_such.bin"));
}

// residency() reports this mapping alone: nothing before a page is read, the whole file (in
// whole pages) once every page has been; the 2 MiB part never exceeds it.
TEST(MappedFile, ResidencyCountsThePagesRead) {
  const auto dir = test::scratch_dir();
  const std::size_t size = 3 * kHugePageBytes + 5000;
  std::vector<std::byte> data(size, std::byte{7});
  test::write_bytes(dir / "resident.bin", data);
  auto f = MappedFile::open(dir / "resident.bin");
  ASSERT_TRUE(f.ok()) << f.error().what();
  const auto before = f->residency();
  ASSERT_TRUE(before.has_value());
  EXPECT_EQ(before->resident_bytes, 0u);
  EXPECT_EQ(before->huge_page_bytes, 0u);
  unsigned sum = 0;
  for (std::size_t i = 0; i < size; i += 4096) sum += static_cast<unsigned>(f->bytes()[i]);
  EXPECT_EQ(sum, 7u * ((size + 4095) / 4096));
  const auto after = f->residency();
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->resident_bytes, (size + 4095) / 4096 * 4096);
  EXPECT_LE(after->huge_page_bytes, after->resident_bytes);
  EXPECT_EQ(MappedFile().residency()->resident_bytes, 0u);
}

// A model-sized output is complete on disk and no longer in the page cache once write()
// returns (so the next load reads it back in huge folios). tmpfs keeps files only in the page
// cache, so there the residency cannot drop and is not checked.
TEST(GgufWriter, LargeOutputIsWrittenWholeAndLeftOutOfThePageCache) {
  const auto dir = test::scratch_dir();
  const std::int64_t n = (std::int64_t{65} << 20) / 4;  // 65 MiB of F32, over the 64 MiB threshold
  GgufWriter w(Metadata{});
  ASSERT_TRUE(w.add_tensor("big", DType::kF32, {n}, [n](std::span<std::byte> out) -> Result<void> {
                 for (std::int64_t i = 0; i < n; ++i) {
                   const float v = static_cast<float>(i % 1000);
                   std::memcpy(out.data() + 4 * i, &v, 4);
                 }
                 return {};
               }).ok());
  ASSERT_TRUE(w.write(dir / "big.gguf").ok());
  auto f = open_gguf(dir / "big.gguf");
  ASSERT_TRUE(f.ok()) << f.error().what();
  // Residency before the data is touched: only the header has been read (with read-ahead, a
  // few MiB at most of the 65).
  struct statfs fs {};
  ASSERT_EQ(::statfs(dir.c_str(), &fs), 0);
  if (fs.f_type != TMPFS_MAGIC) {
    const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    std::vector<unsigned char> resident((f->file.size() + page - 1) / page);
    ASSERT_EQ(::mincore(const_cast<std::byte*>(f->file.bytes().data()), f->file.size(), resident.data()), 0);
    std::size_t in_cache = 0;
    for (unsigned char r : resident) in_cache += r & 1u;
    EXPECT_LT(in_cache, resident.size() / 10) << in_cache << " of " << resident.size() << " pages";
  }
  const auto& t = f->contents.tensors[0];
  ASSERT_EQ(t.bytes.size(), static_cast<std::size_t>(4 * n));
  for (std::int64_t i : {std::int64_t{0}, std::int64_t{999}, n / 2 + 7, n - 1}) {
    float v;
    std::memcpy(&v, t.bytes.data() + 4 * i, 4);
    EXPECT_EQ(v, static_cast<float>(i % 1000)) << i;
  }
}

// Block geometry of every ggml type, from the GGUF spec and ggml's block structs, written out
// independently of quant/dtype.cpp.
const std::map<std::uint32_t, std::pair<int, int>>& expected_blocks() {
  static const std::map<std::uint32_t, std::pair<int, int>> k = {
      {0, {1, 4}},      {1, {1, 2}},      {2, {32, 18}},    {3, {32, 20}},   {6, {32, 22}},
      {7, {32, 24}},    {8, {32, 34}},    {9, {32, 36}},    {10, {256, 84}}, {11, {256, 110}},
      {12, {256, 144}}, {13, {256, 176}}, {14, {256, 210}}, {15, {256, 292}}, {16, {256, 66}},
      {17, {256, 74}},  {18, {256, 98}},  {19, {256, 50}},  {20, {32, 18}},  {21, {256, 110}},
      {22, {256, 82}},  {23, {256, 136}}, {24, {1, 1}},     {25, {1, 2}},    {26, {1, 4}},
      {27, {1, 8}},     {28, {1, 8}},     {29, {256, 56}},  {30, {1, 2}},    {34, {256, 54}},
      {35, {256, 66}},  {39, {32, 17}}};
  return k;
}

TEST(GgufRoundTrip, EveryGgmlTypeBlockGeometry) {
  Metadata m;
  m.set("general.architecture", meta_str("test"));
  GgufWriter w(m);
  std::map<std::string, std::vector<std::byte>> data;
  unsigned seed = 0;
  for (const auto& [code, geom] : expected_blocks()) {
    const DTypeTraits* tr = find_dtype_traits(code);
    ASSERT_NE(tr, nullptr) << "ggml type " << code;
    EXPECT_EQ(tr->block_elems, geom.first) << tr->name;
    EXPECT_EQ(tr->block_bytes, static_cast<std::size_t>(geom.second)) << tr->name;
    // 2 rows of 3 blocks.
    const std::string name = fmt::format("t.{}", tr->name);
    data[name] = pattern(static_cast<std::size_t>(2 * 3 * geom.second), ++seed);
    auto r = w.add_tensor(name, tr->dtype, {2, 3 * geom.first}, data[name]);
    ASSERT_TRUE(r.ok()) << r.error().what();
  }
  // Every GGUF-capable DType of the table is covered above, and nothing else claims a code.
  for (std::size_t i = 0; i < dtype_count(); ++i) {
    const auto code = static_cast<std::uint32_t>(dtype_at(i).dtype);
    if (code < 100) {
      EXPECT_EQ(expected_blocks().count(code), 1u) << dtype_at(i).name;
    }
  }
  for (std::uint32_t removed : {4u, 5u, 31u, 32u, 33u, 36u, 37u, 38u, 40u, 99u})
    EXPECT_EQ(find_dtype_traits(removed), nullptr) << removed;

  auto bytes = w.to_bytes();
  ASSERT_TRUE(bytes.ok());
  auto g = parse_gguf(*bytes);
  ASSERT_TRUE(g.ok()) << g.error().what();
  ASSERT_EQ(g->tensors.size(), expected_blocks().size());
  for (const auto& t : g->tensors) {
    const auto& geom = expected_blocks().at(static_cast<std::uint32_t>(t.dtype));
    EXPECT_EQ(t.shape, (std::vector<std::int64_t>{2, 3 * geom.first})) << t.name;
    EXPECT_EQ(t.bytes.size(), static_cast<std::size_t>(6 * geom.second)) << t.name;
    EXPECT_TRUE(same_bytes(t.bytes, data.at(t.name))) << t.name;
    EXPECT_EQ(row_bytes(t.dtype, t.cols()), std::optional<std::size_t>(3 * geom.second));
  }
}

class GgufAlignment : public ::testing::TestWithParam<std::uint32_t> {};

TEST_P(GgufAlignment, DataAndTensorsAligned) {
  const std::uint32_t align = GetParam();
  Metadata m;
  m.set("general.architecture", meta_str("test"));
  m.set("general.alignment", meta_u32(align));
  GgufWriter w(m);
  // Odd sizes so each tensor needs padding after it.
  ASSERT_TRUE(w.add_tensor("a", DType::kI8, {3}, pattern(3, 1)).ok());
  ASSERT_TRUE(w.add_tensor("b", DType::kF16, {5}, pattern(10, 2)).ok());
  ASSERT_TRUE(w.add_tensor("c", DType::kQ8_0, {1, 32}, pattern(34, 3)).ok());
  auto bytes = w.to_bytes();
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(bytes->size() % align, 0u);
  auto g = parse_gguf(*bytes);
  ASSERT_TRUE(g.ok()) << g.error().what();
  EXPECT_EQ(g->alignment, align);
  EXPECT_EQ(g->data_offset % align, 0u);
  std::size_t prev_end = 0;
  for (const auto& t : g->tensors) {
    const auto off = static_cast<std::size_t>(t.bytes.data() - bytes->data());
    EXPECT_EQ(off % align, 0u) << t.name;
    EXPECT_GE(off, prev_end);
    EXPECT_LT(off - prev_end, prev_end == 0 ? off + 1 : align) << "more padding than needed";
    prev_end = off + t.bytes.size();
  }
  EXPECT_TRUE(same_bytes(g->tensors[2].bytes, pattern(34, 3)));
}

INSTANTIATE_TEST_SUITE_P(Alignments, GgufAlignment, ::testing::Values(32u, 64u, 8u, 256u));

TEST(GgufReader, EveryStrictPrefixIsAnError) {
  const auto full = test::small_valid_gguf();
  ASSERT_TRUE(parse_gguf(full).ok());
  for (std::size_t n = 0; n < full.size(); ++n) {
    std::vector<std::byte> prefix(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    auto g = parse_gguf(prefix);
    ASSERT_FALSE(g.ok()) << "prefix of " << n << " bytes parsed";
    EXPECT_FALSE(g.error().what().empty());
  }
}

TEST(GgufReader, EveryPrefixOfAWriterFileBeforeItsLastDataByteIsAnError) {
  GgufWriter w(every_value_type());
  ASSERT_TRUE(w.add_tensor("x", DType::kQ4_K, {1, 256}, pattern(144, 5)).ok());
  auto bytes = w.to_bytes();
  ASSERT_TRUE(bytes.ok());
  auto g = parse_gguf(*bytes);
  ASSERT_TRUE(g.ok());
  const std::size_t data_end =
      static_cast<std::size_t>(g->tensors[0].bytes.data() - bytes->data()) + 144;
  for (std::size_t n = 0; n < data_end; ++n) {
    auto r = parse_gguf(std::span<const std::byte>(bytes->data(), n));
    ASSERT_FALSE(r.ok()) << "prefix of " << n << " bytes parsed";
  }
}

// Arrays whose items fit in the file but would take ~40x the file in memory are capped: 2^24
// items over all metadata. Two u8 arrays of 2^23 items each are fine; one more item is not.
TEST(GgufReader, MetadataArrayItemBudget) {
  constexpr std::uint64_t kHalf = std::uint64_t{1} << 23;
  auto file = [&](std::uint64_t second_count) {
    ByteBuilder b;
    b.raw("GGUF", 4).u32(3).u64(0).u64(2);
    b.str("a").u32(9).u32(0).u64(kHalf).zeros(kHalf);
    b.str("b").u32(9).u32(0).u64(second_count).zeros(second_count);
    return b.bytes();
  };
  auto ok = parse_gguf(file(kHalf));
  ASSERT_TRUE(ok.ok()) << ok.error().what();
  EXPECT_EQ((*ok->metadata.get_array("b"))->items.size(), kHalf);
  auto over = parse_gguf(file(kHalf + 1));
  ASSERT_FALSE(over.ok());
  EXPECT_TRUE(contains(over.error().what(), "metadata key 'b'"));
  EXPECT_TRUE(contains(over.error().what(), "arrays hold more than 16777216 items in total"));
}

TEST(GgufWriter, RejectsBadTensors) {
  GgufWriter w(Metadata{});
  ASSERT_TRUE(w.add_tensor("a", DType::kF32, {4}, pattern(16, 0)).ok());
  auto dup = w.add_tensor("a", DType::kF32, {4}, pattern(16, 0));
  ASSERT_FALSE(dup.ok());
  EXPECT_TRUE(contains(dup.error().what(), "duplicate tensor name 'a'"));
  auto size = w.add_tensor("b", DType::kF32, {4}, pattern(15, 0));
  ASSERT_FALSE(size.ok());
  EXPECT_TRUE(contains(size.error().what(), "15 bytes given, the shape needs 16"));
  auto st_only = w.add_tensor("c", DType::kF8_E4M3, {4}, pattern(4, 0));
  ASSERT_FALSE(st_only.ok());
  EXPECT_TRUE(contains(st_only.error().what(), "F8_E4M3 has no GGUF type code"));
  EXPECT_FALSE(w.add_tensor("d", DType::kF32, {1, 1, 1, 1, 1}, pattern(4, 0)).ok());
  EXPECT_FALSE(w.add_tensor("e", DType::kF32, std::vector<std::int64_t>{}, pattern(4, 0)).ok());
  auto block = w.add_tensor("f", DType::kQ4_0, {2, 16}, pattern(18, 0));
  ASSERT_FALSE(block.ok());
  EXPECT_TRUE(contains(block.error().what(), "not a multiple of the Q4_0 block size 32"));
  EXPECT_FALSE(w.add_tensor("g", DType::kF32, {0, 4}, pattern(0, 0)).ok());
  EXPECT_EQ(w.tensor_count(), 1u);
}

TEST(GgufWriter, FailedFillLeavesNoFile) {
  const auto dir = test::scratch_dir();
  GgufWriter w(Metadata{});
  ASSERT_TRUE(w.add_tensor("a", DType::kF32, {4}, [](std::span<std::byte>) -> Result<void> {
                 return Error("source tensor unreadable");
               }).ok());
  auto r = w.write(dir / "out.gguf");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(contains(r.error().what(), "source tensor unreadable"));
  EXPECT_TRUE(contains(r.error().what(), "tensor 'a'"));
  EXPECT_FALSE(std::filesystem::exists(dir / "out.gguf"));
  EXPECT_FALSE(std::filesystem::exists(dir / "out.gguf.partial"));
  auto bad_dir = w.write(dir / "no" / "such" / "dir.gguf");
  ASSERT_FALSE(bad_dir.ok());
  EXPECT_TRUE(contains(bad_dir.error().what(), "cannot create"));
}

TEST(GgufSplit, SplitPathsFromName) {
  auto parts = gguf_split_paths("/m/DeepSeek-R1-Q4_K_M-00002-of-00003.gguf");
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0], "/m/DeepSeek-R1-Q4_K_M-00001-of-00003.gguf");
  EXPECT_EQ(parts[2], "/m/DeepSeek-R1-Q4_K_M-00003-of-00003.gguf");
  EXPECT_TRUE(gguf_split_paths("/m/model.gguf").empty());
  EXPECT_TRUE(gguf_split_paths("/m/model-0001-of-0003.gguf").empty());
  EXPECT_TRUE(gguf_split_paths("/m/model-00001-of-00003.bin").empty());
}

// Writes part i (0-based) of an n-part split holding `tensors` (name -> F32 length).
void write_part(const std::filesystem::path& path, int i, int n, int total_tensors,
                const std::vector<std::pair<std::string, int>>& tensors, int claimed_count = -1) {
  Metadata m;
  if (i == 0) {
    m.set("general.architecture", meta_str("test"));
    m.set("test.marker", meta_u32(11));
  }
  m.set("split.no", MetaValue{static_cast<std::uint16_t>(i)});
  m.set("split.count", MetaValue{static_cast<std::uint16_t>(claimed_count < 0 ? n : claimed_count)});
  m.set("split.tensors.count", meta_i32(total_tensors));
  GgufWriter w(m);
  for (const auto& [name, len] : tensors)
    ASSERT_TRUE(w.add_tensor(name, DType::kF32, {len}, pattern(static_cast<std::size_t>(4 * len), static_cast<unsigned>(len))).ok());
  ASSERT_TRUE(w.write(path).ok());
}

TEST(GgufSplit, PartsOpenAsOneModel) {
  const auto dir = test::scratch_dir();
  write_part(dir / "m-00001-of-00003.gguf", 0, 3, 4, {{"a", 4}, {"b", 8}});
  write_part(dir / "m-00002-of-00003.gguf", 1, 3, 4, {{"c", 12}});
  write_part(dir / "m-00003-of-00003.gguf", 2, 3, 4, {{"d", 16}});
  auto mf = open_model_files(dir / "m-00001-of-00003.gguf");
  ASSERT_TRUE(mf.ok()) << mf.error().what();
  EXPECT_EQ(mf->format, ModelFormat::kGguf);
  EXPECT_EQ(mf->files.size(), 3u);
  EXPECT_EQ(mf->gguf_version, 3u);
  EXPECT_EQ(*mf->gguf_metadata.get_int("test.marker"), 11);  // the first part's metadata
  ASSERT_EQ(mf->tensors.size(), 4u);
  const std::map<std::string, std::pair<std::uint32_t, int>> want = {
      {"a", {0, 4}}, {"b", {0, 8}}, {"c", {1, 12}}, {"d", {2, 16}}};
  for (const auto& [name, fw] : want) {
    const TensorRecord* t = mf->tensors.find(name);
    ASSERT_NE(t, nullptr) << name;
    EXPECT_EQ(t->file_index, fw.first) << name;
    const auto& file = mf->files[t->file_index].bytes();
    EXPECT_GE(t->bytes.data(), file.data());
    EXPECT_LE(t->bytes.data() + t->bytes.size(), file.data() + file.size());
    EXPECT_TRUE(same_bytes(t->bytes, pattern(static_cast<std::size_t>(4 * fw.second), static_cast<unsigned>(fw.second))));
  }
  std::uint64_t sum = 0;
  for (int i = 1; i <= 3; ++i)
    sum += std::filesystem::file_size(dir / fmt::format("m-{:05d}-of-00003.gguf", i));
  EXPECT_EQ(mf->total_bytes(), sum);
  // Naming a later part opens the whole set too.
  auto from_second = open_model_files(dir / "m-00002-of-00003.gguf");
  ASSERT_TRUE(from_second.ok());
  EXPECT_EQ(from_second->tensors.size(), 4u);
}

TEST(GgufSplit, MissingPartIsAnErrorNamingIt) {
  const auto dir = test::scratch_dir();
  write_part(dir / "m-00001-of-00002.gguf", 0, 2, 2, {{"a", 4}});
  auto mf = open_model_files(dir / "m-00001-of-00002.gguf");
  ASSERT_FALSE(mf.ok());
  EXPECT_TRUE(contains(mf.error().what(), "split part 2 of 2 is missing"));
  EXPECT_TRUE(contains(mf.error().what(), "m-00002-of-00002.gguf"));
}

TEST(GgufSplit, CountMismatchIsAnError) {
  const auto dir = test::scratch_dir();
  write_part(dir / "m-00001-of-00002.gguf", 0, 2, 2, {{"a", 4}});
  write_part(dir / "m-00002-of-00002.gguf", 1, 2, 2, {{"b", 4}}, /*claimed_count=*/3);
  auto mf = open_model_files(dir / "m-00001-of-00002.gguf");
  ASSERT_FALSE(mf.ok());
  EXPECT_TRUE(contains(mf.error().what(), "m-00002-of-00002.gguf"));
  EXPECT_TRUE(contains(mf.error().what(), "split.no/split.count say part 2 of 3"));
}

TEST(GgufSplit, PartNumberMismatchIsAnError) {
  const auto dir = test::scratch_dir();
  write_part(dir / "m-00001-of-00002.gguf", 0, 2, 2, {{"a", 4}});
  write_part(dir / "m-00002-of-00002.gguf", 0, 2, 2, {{"b", 4}});  // says it is part 1
  auto mf = open_model_files(dir / "m-00001-of-00002.gguf");
  ASSERT_FALSE(mf.ok());
  EXPECT_TRUE(contains(mf.error().what(), "say part 1 of 2, the file name says 2 of 2"));
}

TEST(GgufSplit, TensorCountMismatchAndDuplicatesAcrossParts) {
  const auto dir = test::scratch_dir();
  write_part(dir / "m-00001-of-00002.gguf", 0, 2, 5, {{"a", 4}});
  write_part(dir / "m-00002-of-00002.gguf", 1, 2, 5, {{"b", 4}});
  auto mf = open_model_files(dir / "m-00001-of-00002.gguf");
  ASSERT_FALSE(mf.ok());
  EXPECT_TRUE(contains(mf.error().what(), "split.tensors.count is 5 but the parts hold 2 tensors"));

  write_part(dir / "d-00001-of-00002.gguf", 0, 2, 2, {{"a", 4}});
  write_part(dir / "d-00002-of-00002.gguf", 1, 2, 2, {{"a", 4}});
  auto dup = open_model_files(dir / "d-00001-of-00002.gguf");
  ASSERT_FALSE(dup.ok());
  EXPECT_TRUE(contains(dup.error().what(), "duplicate tensor name 'a'"));
  EXPECT_TRUE(contains(dup.error().what(), "d-00002-of-00002.gguf"));
}

TEST(ModelFiles, MissingPathAndNonFile) {
  const auto dir = test::scratch_dir();
  auto none = open_model_files(dir / "nothing.gguf");
  ASSERT_FALSE(none.ok());
  EXPECT_TRUE(contains(none.error().what(), "nothing.gguf: no such file or folder"));
  auto empty_dir = open_model_files(dir);
  ASSERT_FALSE(empty_dir.ok());
  EXPECT_TRUE(contains(empty_dir.error().what(), "has no config.json"));
}

}  // namespace
}  // namespace whale
