// VideoIndex: the on-disk frame-embedding index (round trip, append, search,
// interrupted saves, damaged files, other models) and IndexWriteLock.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <limits>

#include "core/error.h"
#include "io/file_util.h"
#include "io/npy.h"
#include "models/clip.h"
#include "tasks/video_index.h"
#include "test_support.h"

using namespace dinoclip;
using dinoclip::testing::message_of;
namespace fs = std::filesystem;

namespace {

constexpr int64_t kDim = 8;

IndexModel test_model() {
  IndexModel model;
  model.name = "CLIP test (64 px, embed 8)";
  model.weights = "/models/test.pt";
  model.embed_dim = kDim;
  model.fingerprint = {0.5f, 0.5f, 0.5f, 0.5f, 0.f, 0.f, 0.f, 0.f};
  return model;
}

// Stream times every `every_ns`; buffer timestamps 0.2 s later (as x264 + mp4mux write them).
constexpr int64_t kPtsOffset = 200000000;

std::vector<VideoIndex::FrameStamp> stamps(int n, int64_t every_ns = 1000000000, int64_t frame_step = 25) {
  std::vector<VideoIndex::FrameStamp> out;
  for (int i = 0; i < n; ++i) out.push_back({i * every_ns, i * every_ns + kPtsOffset, i * frame_step});
  return out;
}

at::Tensor unit_rows(const at::Tensor& x) { return x / x.norm(2, 1, /*keepdim=*/true); }

std::vector<std::string> embeddings_files(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("embeddings-", 0) == 0) names.push_back(name);
  }
  return names;
}

// A saved index of one video ("a.mp4", 3 frames) and its raw embeddings.
struct SavedIndex {
  std::string dir;
  at::Tensor raw;
};

SavedIndex save_one_video() {
  at::manual_seed(7);
  SavedIndex saved{dinoclip::testing::temp_dir() + "/idx", at::randn({3, kDim}) * 4};
  VideoIndex index(test_model());
  index.append_video({"a.mp4", "every 1s, center crop"}, stamps(3), saved.raw);
  index.save(saved.dir);
  return saved;
}

}  // namespace

TEST(VideoIndex, RoundTripKeepsModelVideosFramesAndUnitRows) {
  const SavedIndex saved = save_one_video();
  const VideoIndex loaded = VideoIndex::load(saved.dir);
  EXPECT_EQ(loaded.model().name, test_model().name);
  EXPECT_EQ(loaded.model().weights, test_model().weights);
  EXPECT_EQ(loaded.model().embed_dim, kDim);
  EXPECT_EQ(loaded.model().fingerprint, test_model().fingerprint);
  ASSERT_EQ(loaded.videos().size(), 1u);
  EXPECT_EQ(loaded.videos()[0].path, "a.mp4");
  EXPECT_EQ(loaded.videos()[0].sampling, "every 1s, center crop");
  ASSERT_EQ(loaded.size(), 3);
  EXPECT_EQ(loaded.frames()[2].video, 0);
  EXPECT_EQ(loaded.frames()[2].time_ns, 2000000000);
  EXPECT_EQ(loaded.frames()[2].pts_ns, 2000000000 + kPtsOffset);
  EXPECT_EQ(loaded.frames()[2].frame, 50);
  EXPECT_TENSOR_NEAR(loaded.embeddings(), unit_rows(saved.raw), 1e-6);
  // The files a user sees: the manifest and one float32 [3, 8] array of unit rows.
  EXPECT_TRUE(VideoIndex::exists(saved.dir));
  ASSERT_EQ(embeddings_files(saved.dir), std::vector<std::string>{"embeddings-1.npy"});
  const at::Tensor on_disk = read_npy(saved.dir + "/embeddings-1.npy");
  EXPECT_EQ(on_disk.scalar_type(), at::kFloat);
  EXPECT_TENSOR_NEAR(on_disk, unit_rows(saved.raw), 1e-6);
}

TEST(VideoIndex, SearchRanksFramesByCosineWithOneProduct) {
  VideoIndex index(test_model());
  at::Tensor rows = at::zeros({4, kDim});
  rows[0][0] = 1;                  // along the query
  rows[1][0] = 1, rows[1][1] = 1;  // 45 degrees off
  rows[2][1] = 1;                  // orthogonal
  rows[3][0] = -1;                 // opposite
  index.append_video({"v.mp4", ""}, stamps(4), rows * 3);
  at::Tensor query = at::zeros({kDim});
  query[0] = 2;
  const auto hits = index.search(query, 3);
  ASSERT_EQ(hits.size(), 3u);
  EXPECT_EQ(hits[0].row, 0);
  EXPECT_EQ(hits[1].row, 1);
  EXPECT_EQ(hits[2].row, 2);
  EXPECT_NEAR(hits[0].score, 1.0, 1e-6);
  EXPECT_NEAR(hits[1].score, std::sqrt(0.5), 1e-6);
  EXPECT_NEAR(hits[2].score, 0.0, 1e-6);
  // Equal to a brute-force cosine over every row of a random index.
  VideoIndex random(test_model());
  const at::Tensor raw = at::randn({50, kDim});
  random.append_video({"r.mp4", ""}, stamps(50), raw);
  const at::Tensor q = at::randn({kDim});
  const at::Tensor cosines = at::mv(unit_rows(raw), q / q.norm());
  const auto [top, order] = cosines.topk(5);
  const auto found = random.search(q, 5);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(found[i].row, order[i].item<int64_t>());
    EXPECT_NEAR(found[i].score, top[i].item<float>(), 1e-5);
  }
}

TEST(VideoIndex, AppendToALoadedIndexKeepsEarlierRowsAndOneEmbeddingsFile) {
  const SavedIndex saved = save_one_video();
  VideoIndex index = VideoIndex::load(saved.dir);
  const at::Tensor more = at::randn({2, kDim});
  index.append_video({"b.mp4", "every 10f, full frame"}, stamps(2, 400000000, 10), more);
  index.save(saved.dir);
  const VideoIndex loaded = VideoIndex::load(saved.dir);
  ASSERT_EQ(loaded.size(), 5);
  ASSERT_EQ(loaded.videos().size(), 2u);
  EXPECT_EQ(loaded.videos()[1].path, "b.mp4");
  EXPECT_EQ(loaded.frames()[4].video, 1);
  EXPECT_EQ(loaded.frames()[4].time_ns, 400000000);
  EXPECT_EQ(loaded.frames()[4].pts_ns, 400000000 + kPtsOffset);
  EXPECT_EQ(loaded.frames()[4].frame, 10);
  EXPECT_TENSOR_NEAR(loaded.embeddings(), unit_rows(at::cat({saved.raw, more})), 1e-6);
  EXPECT_EQ(embeddings_files(saved.dir), std::vector<std::string>{"embeddings-2.npy"});
  EXPECT_TRUE(loaded.has_video("a.mp4"));
  EXPECT_FALSE(loaded.has_video("c.mp4"));
}

TEST(VideoIndex, EarlierIndexLoadsBesideLeftoversOfAnInterruptedRun) {
  const SavedIndex saved = save_one_video();
  // What a run killed mid-save leaves: its new embeddings file and a half-written manifest.
  write_npy(saved.dir + "/embeddings-2.npy", at::randn({9, kDim}));
  write_file_atomically(saved.dir + "/index.json.tmp-4242", "{\"format\": \"dinoclip-vid");
  VideoIndex index = VideoIndex::load(saved.dir);
  ASSERT_EQ(index.size(), 3);
  EXPECT_TENSOR_NEAR(index.embeddings(), unit_rows(saved.raw), 1e-6);
  // The next save does not reuse the leftover's name and clears the leftovers.
  index.append_video({"b.mp4", ""}, stamps(1), at::randn({1, kDim}));
  index.save(saved.dir);
  EXPECT_EQ(embeddings_files(saved.dir), std::vector<std::string>{"embeddings-3.npy"});
  EXPECT_FALSE(fs::exists(saved.dir + "/index.json.tmp-4242"));
  EXPECT_EQ(VideoIndex::load(saved.dir).size(), 4);
}

TEST(VideoIndex, SaveFailingBeforeTheManifestLeavesTheEarlierIndex) {
  const SavedIndex saved = save_one_video();
  VideoIndex index = VideoIndex::load(saved.dir);
  index.append_video({"b.mp4", ""}, stamps(2), at::randn({2, kDim}));
  // The manifest's temporary name is taken by a folder, so writing it fails
  // after the new embeddings file is written.
  const std::string blocker = saved.dir + "/index.json.tmp-" + std::to_string(::getpid());
  fs::create_directory(blocker);
  EXPECT_NE(message_of([&] { index.save(saved.dir); }).find("index.json"), std::string::npos);
  EXPECT_TRUE(fs::exists(saved.dir + "/embeddings-2.npy"));  // written, never committed
  const VideoIndex earlier = VideoIndex::load(saved.dir);
  EXPECT_EQ(earlier.size(), 3);
  EXPECT_EQ(earlier.videos().size(), 1u);
  EXPECT_TENSOR_NEAR(earlier.embeddings(), unit_rows(saved.raw), 1e-6);
  // Once the cause is gone, the same run's index saves.
  fs::remove(blocker);
  index.save(saved.dir);
  EXPECT_EQ(VideoIndex::load(saved.dir).size(), 5);
}

TEST(VideoIndex, RejectsEmbeddingsOfAnotherSizeAndLeavesTheIndexUnchanged) {
  VideoIndex index(test_model());
  index.append_video({"a.mp4", ""}, stamps(2), at::randn({2, kDim}));
  std::string message = message_of([&] { index.append_video({"b.mp4", ""}, stamps(2), at::randn({2, kDim + 1})); });
  EXPECT_NE(message.find("[2, 8]"), std::string::npos) << message;
  EXPECT_NE(message.find("b.mp4"), std::string::npos) << message;
  message = message_of([&] { index.append_video({"b.mp4", ""}, stamps(3), at::randn({2, kDim})); });
  EXPECT_NE(message.find("3 frames need embeddings [3, 8]"), std::string::npos) << message;
  message = message_of([&] { index.append_video({"b.mp4", ""}, stamps(1), at::zeros({1, kDim})); });
  EXPECT_NE(message.find("zero"), std::string::npos) << message;
  EXPECT_EQ(index.size(), 2);
  EXPECT_EQ(index.videos().size(), 1u);
  EXPECT_EQ(index.embeddings().size(0), 2);
}

TEST(VideoIndex, RejectsAVideoAlreadyIndexedAndAnEmptyOne) {
  VideoIndex index(test_model());
  index.append_video({"a.mp4", ""}, stamps(1), at::randn({1, kDim}));
  EXPECT_NE(message_of([&] {
              index.append_video({"a.mp4", ""}, stamps(1), at::randn({1, kDim}));
            }).find("already in the index"),
            std::string::npos);
  EXPECT_NE(message_of([&] {
              index.append_video({"e.mp4", ""}, {}, at::zeros({0, kDim}));
            }).find("no frames"),
            std::string::npos);
}

// The bad-input matrix's "empty index" row: an index without frames (hand
// made, or saved by a program using the library) loads as what it is, and a
// search on it is refused with a message instead of a zero-row product.
TEST(VideoIndex, AnEmptyIndexLoadsWithNoFramesAndRefusesASearch) {
  const std::string dir = dinoclip::testing::temp_dir() + "/idx-empty";
  VideoIndex(test_model()).save(dir);
  const VideoIndex loaded = VideoIndex::load(dir);
  EXPECT_EQ(loaded.size(), 0);
  EXPECT_TRUE(loaded.videos().empty());
  EXPECT_EQ(loaded.embeddings().sizes(), (std::vector<int64_t>{0, kDim}));
  const std::string message = message_of([&] { loaded.search(at::ones({kDim}), 3); });
  EXPECT_NE(message.find("empty"), std::string::npos) << message;
}

TEST(VideoIndex, RejectsAnotherModelNamingTheDifference) {
  const IndexModel model = test_model();
  IndexModel wider = model;
  wider.embed_dim = 16;
  EXPECT_NE(message_of([&] { model.check_same_as(wider, "b.mp4"); }).find("size 16"), std::string::npos);
  IndexModel renamed = model;
  renamed.name = "CLIP ViT-B/16 (224 px, embed 8)";
  EXPECT_NE(message_of([&] { model.check_same_as(renamed, "b.mp4"); }).find("ViT-B/16"), std::string::npos);
  IndexModel other_weights = model;
  other_weights.weights = "/models/finetuned.pt";
  other_weights.fingerprint[0] += 0.01f;
  const std::string message = message_of([&] { model.check_same_as(other_weights, "b.mp4"); });
  EXPECT_NE(message.find("/models/finetuned.pt are not the ones"), std::string::npos) << message;
  IndexModel same_values_elsewhere = model;
  same_values_elsewhere.weights = "/elsewhere/test.pt";
  same_values_elsewhere.fingerprint[0] += 1e-5f;
  EXPECT_NO_THROW(model.check_same_as(same_values_elsewhere, "b.mp4"));
}

TEST(VideoIndex, RejectsAFolderWithoutAnIndex) {
  const std::string dir = dinoclip::testing::temp_dir();
  EXPECT_FALSE(VideoIndex::exists(dir));
  EXPECT_NE(message_of([&] { VideoIndex::load(dir); }).find("not a dinoclip video index (no index.json)"),
            std::string::npos);
  EXPECT_NE(message_of([&] { VideoIndex::load(dir + "/nothing"); }).find("no such index folder"), std::string::npos);
}

TEST(VideoIndex, RejectsACorruptOrTruncatedManifest) {
  const SavedIndex saved = save_one_video();
  const std::string manifest = saved.dir + "/index.json";
  const std::string good = read_file(manifest);
  write_file_atomically(manifest, good.substr(0, good.size() / 2));
  std::string message = message_of([&] { VideoIndex::load(saved.dir); });
  EXPECT_NE(message.find("index.json: not valid JSON"), std::string::npos) << message;
  write_file_atomically(manifest, R"({"format": "dinoclip-video-index", "version": 1})");
  message = message_of([&] { VideoIndex::load(saved.dir); });
  EXPECT_NE(message.find("malformed index manifest"), std::string::npos) << message;
  write_file_atomically(manifest, R"({"format": "something else"})");
  message = message_of([&] { VideoIndex::load(saved.dir); });
  EXPECT_NE(message.find("not a dinoclip video index manifest"), std::string::npos) << message;
}

// Hand-edited timestamps: 2^70 ns (no int64), a negative time, a time as text.
TEST(VideoIndex, RejectsAbsurdTimestampsAtLoad) {
  const SavedIndex saved = save_one_video();
  const std::string manifest = saved.dir + "/index.json";
  const nlohmann::json good = nlohmann::json::parse(read_file(manifest));
  for (const nlohmann::json& bad : {nlohmann::json(1180591620717411303424.0), nlohmann::json(-5),
                                    nlohmann::json("12"), nlohmann::json(uint64_t(1) << 63)}) {
    nlohmann::json edited = good;
    edited["frames"][0][1] = bad;
    write_file_atomically(manifest, edited.dump());
    const std::string message = message_of([&] { VideoIndex::load(saved.dir); });
    EXPECT_NE(message.find("is not a time in nanoseconds"), std::string::npos) << bad.dump() << ": " << message;
  }
  nlohmann::json edited = good;
  edited["frames"][0][2] = int64_t(1) << 62;  // the PTS too
  write_file_atomically(manifest, edited.dump());
  EXPECT_NE(message_of([&] { VideoIndex::load(saved.dir); }).find("timestamp"), std::string::npos);
}

TEST(VideoIndex, RejectsEmbeddingsThatDoNotMatchTheManifest) {
  const SavedIndex saved = save_one_video();
  const std::string npy = saved.dir + "/embeddings-1.npy";
  write_npy(npy, unit_rows(at::randn({2, kDim})));
  std::string message = message_of([&] { VideoIndex::load(saved.dir); });
  EXPECT_NE(message.find("holds 2 x 8 embeddings but index.json lists 3 frames"), std::string::npos) << message;
  write_npy(npy, at::randn({3, kDim}));  // not unit rows
  message = message_of([&] { VideoIndex::load(saved.dir); });
  EXPECT_NE(message.find("not finite unit vectors"), std::string::npos) << message;
  at::Tensor with_nan = unit_rows(at::randn({3, kDim}));
  with_nan[1][2] = std::numeric_limits<float>::quiet_NaN();
  write_npy(npy, with_nan);
  message = message_of([&] { VideoIndex::load(saved.dir); });
  EXPECT_NE(message.find("not finite unit vectors"), std::string::npos) << message;
  write_npy(npy, unit_rows(at::randn({3, kDim})).to(at::kDouble));
  message = message_of([&] { VideoIndex::load(saved.dir); });
  EXPECT_NE(message.find("float32"), std::string::npos) << message;
  fs::remove(npy);
  message = message_of([&] { VideoIndex::load(saved.dir); });
  EXPECT_NE(message.find("embeddings-1.npy: missing"), std::string::npos) << message;
}

// Where `dinoclip index --out` may write: nothing a user keeps is mixed with an index.
TEST(VideoIndex, CanIndexIntoANewEmptyOrStoppedFolderOnly) {
  const std::string root = dinoclip::testing::temp_dir();
  EXPECT_TRUE(VideoIndex::can_index_into(root + "/new"));
  fs::create_directories(root + "/empty");
  EXPECT_TRUE(VideoIndex::can_index_into(root + "/empty"));
  // What a first run stopped before its first save leaves: the lock, embeddings, temporary files.
  const std::string stopped = root + "/stopped";
  { IndexWriteLock lock(stopped); }
  write_npy(stopped + "/embeddings-1.npy", at::zeros({1, kDim}));
  std::ofstream(stopped + "/index.json.tmp-77") << "{";
  EXPECT_TRUE(VideoIndex::can_index_into(stopped));
  std::ofstream(stopped + "/notes.txt") << "mine";
  EXPECT_FALSE(VideoIndex::can_index_into(stopped));
  fs::remove(stopped + "/notes.txt");
  std::ofstream(stopped + "/embeddings-x.npy") << "not ours";
  EXPECT_FALSE(VideoIndex::can_index_into(stopped));
  std::ofstream(root + "/file") << "x";
  EXPECT_FALSE(VideoIndex::can_index_into(root + "/file"));
  // An index, whatever else is beside it.
  const SavedIndex saved = save_one_video();
  std::ofstream(saved.dir + "/README") << "kept";
  EXPECT_TRUE(VideoIndex::can_index_into(saved.dir));
}

TEST(IndexWriteLock, RejectsASecondWriterUntilTheFirstIsDone) {
  const std::string dir = dinoclip::testing::temp_dir() + "/locked";
  {
    IndexWriteLock first(dir);
    const std::string message = message_of([&] { IndexWriteLock second(dir); });
    EXPECT_NE(message.find("another `dinoclip index` run"), std::string::npos) << message;
  }
  EXPECT_NO_THROW(IndexWriteLock again(dir));
}

TEST(IndexModel, FingerprintIsTheSameModelInEitherFileFormat) {
  DINOCLIP_REQUIRE_FIXTURE(state, "clip_tiny/clip_tiny_state.pth");
  DINOCLIP_REQUIRE_FIXTURE(jit, "clip_tiny/clip_tiny_jit.pt");
  const IndexModel a = describe_index_model(ClipModel::load(state), state);
  const IndexModel b = describe_index_model(ClipModel::load(jit), jit);
  EXPECT_EQ(a.embed_dim, 32);
  ASSERT_EQ(a.fingerprint.size(), 32u);
  double norm = 0;
  for (float v : a.fingerprint) norm += double(v) * v;
  EXPECT_NEAR(norm, 1.0, 1e-5);
  EXPECT_EQ(a.weights, state);
  EXPECT_NO_THROW(a.check_same_as(b, "jit archive"));
}
