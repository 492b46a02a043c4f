// dinoclip index / search-index as a user runs them, on small H.264 videos
// made here (videotestsrc ! x264enc ! mp4mux) and the tiny random CLIP:
// what is indexed (frames, timestamps, embeddings), appending, a failed run
// leaving the earlier index, ranking against the library's cosine, thumbnails,
// and the errors users meet.
#include <ATen/ATen.h>
#include <gst/gst.h>
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <tuple>

#include "core/error.h"
#include "io/checkpoint.h"
#include "io/file_util.h"
#include "io/image_file.h"
#include "io/npy.h"
#include "io/safetensors_writer.h"
#include "models/clip.h"
#include "tasks/video_index.h"
#include "app/frame_reader.h"
#include "app/pipeline_runner.h"
#include "cli_runner.h"
#include "pg_server.h"
#include "test_support.h"
#include "text/bpe_tokenizer.h"
#include "vision/preprocess.h"

using namespace dinoclip;
using dinoclip::testing::fixture_path;
namespace fs = std::filesystem;

namespace {

constexpr int64_t kSecond = 1000000000;

using dinoclip::testing::CliRun;
using dinoclip::testing::dinoclip_cli;

// The output's lines that are JSON objects.
std::vector<nlohmann::json> json_lines(const std::string& output) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] == '{') lines.push_back(nlohmann::json::parse(line));
  }
  return lines;
}

// Runs `description` (ending in a filesink) to EOS; "" on success, else the error.
std::string run_pipeline(const std::string& description) {
  try {
    gstapp::run_to_eos(description, 60 * GST_SECOND);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Decoded frames of `video` (all of them), as the index command decodes them.
std::vector<gstapp::VideoFrame> decode_all(const std::string& video) {
  std::vector<gstapp::VideoFrame> frames;
  gstapp::VideoFrameReader reader(video);
  for (gstapp::VideoFrame frame; reader.next(frame);) frames.push_back(std::move(frame));
  return frames;
}

std::vector<std::string> embeddings_files(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().filename().string().rfind("embeddings-", 0) == 0) names.push_back(entry.path().string());
  }
  return names;
}

at::Tensor unit(const at::Tensor& x) { return x / x.norm(2, -1, /*keepdim=*/true); }

double mean_abs_diff(const Image& a, const Image& b) {
  double sum = 0;
  for (size_t i = 0; i < a.pixels.size(); ++i) sum += std::abs(int(a.pixels[i]) - int(b.pixels[i]));
  return sum / double(a.pixels.size());
}

// Two videos made once for all tests, 10 fps, 96x64, every frame different:
// a (3 s, scrolling SMPTE bars) and b (2 s, a moving ball).
class Index : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    gst_init(nullptr, nullptr);
    // Each suite deriving from Index runs this again: the last one's string is replaced, not leaked.
    delete videos_;
    videos_ = new std::string(dinoclip::testing::temp_dir() + "/videos");
    fs::create_directories(*videos_);
    for (const auto& [name, pattern, frames] :
         {std::tuple{"a.mp4", "smpte horizontal-speed=3", 30}, std::tuple{"b.mp4", "ball", 20}}) {
      const std::string error = run_pipeline(
          "videotestsrc pattern=" + std::string(pattern) + " num-buffers=" + std::to_string(frames) +
          " ! video/x-raw,width=96,height=64,framerate=10/1 ! videoconvert ! x264enc ! mp4mux ! filesink location=" +
          *videos_ + "/" + name);
      if (!error.empty()) {
        *make_error_ = std::string("cannot make test videos (") + error + "): need videotestsrc, x264enc, mp4mux";
      }
    }
  }

  void SetUp() override {
    if (!make_error_->empty()) GTEST_SKIP() << *make_error_;
    weights_ = fixture_path("clip_tiny/clip_tiny_state.pth");
    vocab_ = fixture_path("tokenizer/bpe_simple_vocab_16e6.txt.gz");
    if (weights_.empty() || vocab_.empty()) {
      if (dinoclip::testing::running_in_ci()) FAIL() << "clip_tiny / tokenizer fixtures missing under CI=true";
      GTEST_SKIP() << "fixtures missing: clip_tiny/clip_tiny_state.pth, tokenizer/ (set DINOCLIP_FIXTURES)";
    }
    idx_ = dinoclip::testing::temp_dir() + "/idx-" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
  }

  std::string video(const char* name) const { return *videos_ + "/" + name; }

  CliRun index(const std::string& arguments) const {
    return dinoclip_cli("index --weights " + weights_ + " --out " + idx_ + " " + arguments);
  }
  CliRun search(const std::string& arguments) const {
    return dinoclip_cli("search-index " + idx_ + " --vocab " + vocab_ + " " + arguments);
  }

  static std::string* videos_;
  static std::string* make_error_;
  std::string weights_, vocab_, idx_;
};

std::string* Index::videos_ = nullptr;
std::string* Index::make_error_ = new std::string;

TEST_F(Index, StoresOneFramePerIntervalWithTimestampsAndEncodeImageEmbeddings) {
  const CliRun run = index(video("a.mp4") + " --every 1s --batch 2");
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_NE(run.output.find("indexed 3 frames of 1 video(s)"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("3 of 30 frames indexed"), std::string::npos) << run.output;  // progress, stderr

  const VideoIndex loaded = VideoIndex::load(idx_);
  ASSERT_EQ(loaded.size(), 3);  // 3 s every 1 s
  ASSERT_EQ(loaded.videos().size(), 1u);
  EXPECT_EQ(loaded.videos()[0].path, fs::absolute(video("a.mp4")).lexically_normal().string());
  EXPECT_EQ(loaded.videos()[0].sampling, "every 1s, center crop");
  EXPECT_EQ(loaded.model().weights, fs::absolute(weights_).lexically_normal().string());
  EXPECT_EQ(loaded.model().embed_dim, 32);
  // The same frames, decoded and encoded here one by one.
  const std::vector<gstapp::VideoFrame> frames = decode_all(video("a.mp4"));
  ASSERT_EQ(frames.size(), 30u);
  const ClipModel model = ClipModel::load(weights_);
  // Times are stream times (from 0 as players show them); pts_ns are the
  // buffers' own timestamps, which x264's B-frame delay starts above 0.
  for (int64_t row = 0; row < 3; ++row) {
    const IndexedFrame& f = loaded.frames()[size_t(row)];
    EXPECT_EQ(f.frame, 10 * row);
    EXPECT_EQ(f.time_ns, row * kSecond);
    EXPECT_EQ(frames[size_t(f.frame)].stream_time_ns, f.time_ns);
    EXPECT_EQ(frames[size_t(f.frame)].pts_ns, f.pts_ns);
    const at::Tensor expected = model.encode_image(clip_input(frames[size_t(f.frame)].rgb.view(), 64))[0];
    EXPECT_TENSOR_NEAR(loaded.embeddings()[row], unit(expected), 1e-5);
  }
}

TEST_F(Index, EveryTakesSecondsMillisecondsOrFrames) {
  const std::map<std::string, std::vector<int64_t>> expected_frames = {
      {"500ms", {0, 5, 10, 15, 20, 25}}, {"2.5s", {0, 25}}, {"7f", {0, 7, 14, 21, 28}}};
  for (const auto& [every, frames] : expected_frames) {
    const std::string dir = idx_ + "-" + every;
    const CliRun run = dinoclip_cli("index --model " + weights_ + " --out " + dir + " --every " + every +
                                    " --crop full " + video("a.mp4"));
    ASSERT_EQ(run.status, 0) << every << ": " << run.output;
    const VideoIndex loaded = VideoIndex::load(dir);
    std::vector<int64_t> got;
    for (const auto& f : loaded.frames()) got.push_back(f.frame);
    EXPECT_EQ(got, frames) << every;
    EXPECT_EQ(loaded.frames().back().time_ns, frames.back() * kSecond / 10) << every;
    EXPECT_EQ(loaded.videos()[0].sampling, "every " + every + ", full frame");
  }
}

TEST_F(Index, AppendsNewVideosKeepsEarlierRowsAndSkipsKnownOnes) {
  ASSERT_EQ(index(video("a.mp4")).status, 0);
  const at::Tensor before = VideoIndex::load(idx_).embeddings().clone();
  CliRun run = index(video("b.mp4") + " " + video("a.mp4"));
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_NE(run.output.find("appended 2 frames of 1 video(s)"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("already in the index, skipped"), std::string::npos) << run.output;
  const VideoIndex loaded = VideoIndex::load(idx_);
  ASSERT_EQ(loaded.size(), 5);  // 3 + 2
  ASSERT_EQ(loaded.videos().size(), 2u);
  EXPECT_EQ(fs::path(loaded.videos()[1].path).filename(), "b.mp4");
  EXPECT_EQ(loaded.frames()[4].video, 1);
  EXPECT_EQ(loaded.frames()[4].time_ns, kSecond);
  EXPECT_TRUE(at::equal(loaded.embeddings().narrow(0, 0, 3), before));
  // The same model in its other file format may append too: the fingerprint matches.
  DINOCLIP_REQUIRE_FIXTURE(jit, "clip_tiny/clip_tiny_jit.pt");
  fs::copy_file(video("b.mp4"), idx_ + "-c.mp4");
  run = dinoclip_cli("index --weights " + jit + " --out " + idx_ + " " + idx_ + "-c.mp4");
  EXPECT_EQ(run.status, 0) << run.output;
  EXPECT_EQ(VideoIndex::load(idx_).size(), 7);
}

TEST_F(Index, IndexesTheVideoFilesOfAFolder) {
  const std::string folder = idx_ + "-videos";
  fs::create_directories(folder);
  fs::copy_file(video("a.mp4"), folder + "/one.mp4");
  fs::copy_file(video("b.mp4"), folder + "/two.MKV.mp4");
  write_file_atomically(folder + "/notes.txt", "not a video");
  const CliRun run = index(folder);
  ASSERT_EQ(run.status, 0) << run.output;
  const VideoIndex loaded = VideoIndex::load(idx_);
  ASSERT_EQ(loaded.videos().size(), 2u);
  EXPECT_EQ(fs::path(loaded.videos()[0].path).filename(), "one.mp4");
  EXPECT_EQ(loaded.size(), 5);
}

TEST_F(Index, AFailedRunLeavesTheEarlierIndexReadable) {
  ASSERT_EQ(index(video("a.mp4")).status, 0);
  const at::Tensor before = VideoIndex::load(idx_).embeddings().clone();
  // The only new "video" fails to decode: nothing is added, the status says so.
  const std::string not_video = idx_ + "-text.mp4";
  write_file_atomically(not_video, "plain text, not a video\n");
  CliRun run = index(not_video);
  EXPECT_EQ(run.status, 1) << run.output;
  EXPECT_NE(run.output.find("text.mp4: NOT indexed"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("text.mp4: cannot decode"), std::string::npos) << run.output;
  // Leftovers of a run killed while saving: an uncommitted embeddings file and manifest.
  write_npy(idx_ + "/embeddings-7.npy", at::randn({4, 32}));
  write_file_atomically(idx_ + "/index.json.tmp-99999", "{\"format\": \"dinocl");
  const VideoIndex earlier = VideoIndex::load(idx_);
  EXPECT_EQ(earlier.size(), 3);
  EXPECT_TRUE(at::equal(earlier.embeddings(), before));
  run = search("--query \"bars\" -k 1");
  EXPECT_EQ(run.status, 0) << run.output;
  // The next run commits over them and clears them.
  run = index(video("b.mp4"));
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_EQ(VideoIndex::load(idx_).size(), 5);
  EXPECT_FALSE(fs::exists(idx_ + "/embeddings-7.npy"));
  EXPECT_FALSE(fs::exists(idx_ + "/index.json.tmp-99999"));
}

// One file that does not decode (text, audio only) among good videos: it is
// named and skipped, the others are indexed and saved, and the status is 3.
TEST_F(Index, SkipsFilesThatDoNotDecodeAndKeepsTheVideosAroundThem) {
  const std::string not_video = idx_ + "-text.mp4";
  write_file_atomically(not_video, "plain text, not a video\n");
  const std::string audio = idx_ + "-audio.wav";
  const std::string made = run_pipeline("audiotestsrc num-buffers=20 ! wavenc ! filesink location=" + audio);
  ASSERT_EQ(made, "") << "cannot make an audio-only file";
  const CliRun run = index(video("a.mp4") + " " + not_video + " " + audio + " " + video("b.mp4"));
  EXPECT_EQ(run.status, 3) << run.output;
  EXPECT_NE(run.output.find("text.mp4: NOT indexed"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("audio.wav: NOT indexed"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("2 of 4 file(s) could not be indexed"), std::string::npos) << run.output;
  const VideoIndex saved = VideoIndex::load(idx_);
  ASSERT_EQ(saved.videos().size(), 2u);
  EXPECT_EQ(saved.size(), 5);  // a: 3 s, b: 2 s, one frame a second
  EXPECT_NE(saved.videos()[0].path.find("a.mp4"), std::string::npos);
  EXPECT_NE(saved.videos()[1].path.find("b.mp4"), std::string::npos);
}

// A thumbnail that cannot be written stops the listing before its line: every
// path printed is a file that exists.
TEST_F(Index, SearchPrintsOnlyThumbnailsItWrote) {
  const std::string gone = idx_ + "-gone.mp4";
  fs::copy_file(video("b.mp4"), gone);
  ASSERT_EQ(index(video("a.mp4") + " " + gone + " --every 500ms").status, 0);
  fs::remove(gone);
  const std::string thumbs = idx_ + "-thumbs";
  const CliRun run = search("--query \"a ball\" -k 8 --thumbnails " + thumbs);
  EXPECT_EQ(run.status, 1) << run.output;
  EXPECT_NE(run.output.find("gone.mp4"), std::string::npos) << run.output;
  const std::vector<nlohmann::json> lines = json_lines(run.output);
  EXPECT_LT(lines.size(), 8u) << run.output;
  for (const auto& line : lines) {
    EXPECT_TRUE(fs::exists(line.at("thumbnail").get<std::string>())) << line.dump();
  }
}

// Killed at whatever point (SIGKILL: no cleanup runs), a run leaves either
// the earlier index or the complete new one, never a broken one.
TEST_F(Index, AKilledRunLeavesALoadableIndex) {
  ASSERT_EQ(index(video("a.mp4")).status, 0);
  const char* exe = std::getenv("DINOCLIP_CLI");
  int64_t size = 3;
  for (const char* delay : {"0.3", "0.8", "1.5", "3"}) {
    const std::string copy = idx_ + "-b" + delay + ".mp4";
    fs::copy_file(video("b.mp4"), copy);
    const std::string command = std::string("(") + (exe ? exe : "dinoclip") + " index --weights " + weights_ +
                                " --every 100ms --batch 1 --out " + idx_ + " " + copy +
                                " >/dev/null 2>&1 & pid=$!; sleep " + delay +
                                "; kill -9 $pid; wait $pid) >/dev/null 2>&1";
    ASSERT_NE(std::system(command.c_str()), -1);
    const int64_t now = VideoIndex::load(idx_).size();
    EXPECT_TRUE(now == size || now == size + 20) << "killed after " << delay << " s: " << now << " frames";
    size = now;
  }
  // And the next run commits over whatever the killed ones left.
  ASSERT_EQ(index(video("b.mp4")).status, 0);
  EXPECT_EQ(VideoIndex::load(idx_).size(), size + 2);
  EXPECT_EQ(embeddings_files(idx_).size(), 1u);
}

TEST_F(Index, SearchRanksFramesAsTheLibrarysCosine) {
  ASSERT_EQ(index(video("a.mp4") + " " + video("b.mp4") + " --every 500ms").status, 0);
  const std::string query = "a white ball on a black background";
  const CliRun run = search("--query \"" + query + "\" -k 4");
  ASSERT_EQ(run.status, 0) << run.output;
  const std::vector<nlohmann::json> lines = json_lines(run.output);
  ASSERT_EQ(lines.size(), 4u) << run.output;

  const VideoIndex loaded = VideoIndex::load(idx_);
  const ClipModel model = ClipModel::load(weights_);
  const BpeTokenizer tokenizer(vocab_);
  const at::Tensor text = unit(model.encode_text(tokenizer.tokenize({query}))[0]);
  const auto [scores, rows] = at::mv(loaded.embeddings(), text).topk(4);
  for (int64_t i = 0; i < 4; ++i) {
    const IndexedFrame& f = loaded.frames()[size_t(rows[i].item<int64_t>())];
    const nlohmann::json& line = lines[size_t(i)];
    EXPECT_EQ(line.at("rank").get<int>(), i + 1);
    EXPECT_EQ(line.at("video").get<std::string>(), loaded.videos()[size_t(f.video)].path);
    EXPECT_EQ(line.at("pts_ns").get<int64_t>(), f.pts_ns);
    EXPECT_EQ(line.at("frame").get<int64_t>(), f.frame);
    EXPECT_DOUBLE_EQ(line.at("time").get<double>(), double(f.time_ns) / 1e9);
    EXPECT_NEAR(line.at("score").get<double>(), scores[i].item<double>(), 1e-5);
  }
  // -k beyond the index gives every frame once, best first.
  const std::vector<nlohmann::json> all = json_lines(search("--query \"" + query + "\" -k 100").output);
  ASSERT_EQ(all.size(), size_t(loaded.size()));
  for (size_t i = 1; i < all.size(); ++i) EXPECT_GE(all[i - 1].at("score"), all[i].at("score"));
}

TEST_F(Index, ThumbnailsAreTheFramesFoundAndAreNotOverwrittenUnasked) {
  ASSERT_EQ(index(video("a.mp4") + " " + video("b.mp4") + " --every 700ms").status, 0);
  const std::string thumbs = idx_ + "-thumbs";
  CliRun run = search("--query \"a ball\" -k 3 --thumbnails " + thumbs);
  ASSERT_EQ(run.status, 0) << run.output;
  const std::vector<nlohmann::json> lines = json_lines(run.output);
  ASSERT_EQ(lines.size(), 3u);
  std::map<std::string, std::vector<gstapp::VideoFrame>> decoded;
  for (const auto& line : lines) {
    const std::string path = line.at("thumbnail").get<std::string>(), video_path = line.at("video");
    char expected_name[128];
    std::snprintf(expected_name, sizeof(expected_name), "%02d_%s_%.3fs.jpg", line.at("rank").get<int>(),
                  fs::path(video_path).stem().c_str(), line.at("time").get<double>());
    EXPECT_EQ(path, thumbs + "/" + expected_name);
    ASSERT_TRUE(fs::exists(path)) << path;
    if (!decoded.count(video_path)) decoded[video_path] = decode_all(video_path);
    const auto& frames = decoded[video_path];
    const size_t number = line.at("frame").get<size_t>();
    const gstapp::VideoFrame& frame = frames[number];
    EXPECT_EQ(frame.pts_ns, line.at("pts_ns").get<int64_t>());
    // (Neighbouring frames differ, so only this frame matches below.)
    EXPECT_GT(mean_abs_diff(frame.rgb, frames[number > 0 ? number - 1 : 1].rgb), 1.0);
    // The same frame through the same JPEG encoder gives the same pixels.
    const std::string reference = idx_ + "-reference.jpg";
    write_jpeg(reference, frame.rgb, 90);
    const Image thumbnail = read_image(path);
    ASSERT_EQ(thumbnail.width, 96);
    ASSERT_EQ(thumbnail.height, 64);
    EXPECT_EQ(mean_abs_diff(thumbnail, read_image(reference)), 0.0) << path;
  }
  const auto first_time = fs::last_write_time(lines[0].at("thumbnail").get<std::string>());
  run = search("--query \"a ball\" -k 3 --thumbnails " + thumbs);
  EXPECT_EQ(run.status, 1) << run.output;
  EXPECT_NE(run.output.find("exists; pass --force"), std::string::npos) << run.output;
  EXPECT_TRUE(json_lines(run.output).empty()) << run.output;
  EXPECT_EQ(fs::last_write_time(lines[0].at("thumbnail").get<std::string>()), first_time);
  run = search("--query \"a ball\" -k 3 --force --thumbnails " + thumbs);
  EXPECT_EQ(run.status, 0) << run.output;
}

// Thumbnails seek to the stored stream time; decoding from the start is only the fallback.
TEST_F(Index, SeekingToAStreamTimeGivesThatFrameFirst) {
  const std::vector<gstapp::VideoFrame> frames = decode_all(video("b.mp4"));
  ASSERT_EQ(frames.size(), 20u);
  for (size_t wanted : {15u, 3u, 19u}) {
    gstapp::VideoFrameReader reader(video("b.mp4"));
    reader.seek(frames[wanted].stream_time_ns);
    gstapp::VideoFrame frame;
    ASSERT_TRUE(reader.next(frame));
    EXPECT_EQ(frame.pts_ns, frames[wanted].pts_ns);
    EXPECT_EQ(frame.stream_time_ns, frames[wanted].stream_time_ns);
    EXPECT_EQ(frame.rgb.pixels, frames[wanted].rgb.pixels);
  }
}

TEST_F(Index, RejectsMissingOrUndecodableVideosBeforeWritingAnything) {
  CliRun run = index(video("missing.mp4"));
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.output.find("missing.mp4: no such file"), std::string::npos) << run.output;
  const std::string not_video = idx_ + "-text.mp4";
  write_file_atomically(not_video, "plain text, not a video\n");
  run = index(not_video);
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.output.find("text.mp4: cannot decode"), std::string::npos) << run.output;
  EXPECT_FALSE(VideoIndex::exists(idx_));
  run = index(video("a.mp4") + " --every 1min");
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.output.find("'1min' not understood"), std::string::npos) << run.output;
  run = index(video("a.mp4") + " --crop middle");
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.output.find("--crop must be center"), std::string::npos) << run.output;
  run = dinoclip_cli("index --out " + idx_ + " " + video("a.mp4"));
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.output.find("--weights (or --model) is required"), std::string::npos) << run.output;
  // A folder of other files is not taken over.
  const std::string other = idx_ + "-other";
  fs::create_directories(other);
  write_file_atomically(other + "/mine.txt", "user data");
  run = dinoclip_cli("index --weights " + weights_ + " --out " + other + " " + video("a.mp4"));
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.output.find("not empty and holds no index"), std::string::npos) << run.output;
}

TEST_F(Index, RejectsWeightsThatAreNotTheIndexModel) {
  ASSERT_EQ(index(video("a.mp4")).status, 0);
  DINOCLIP_REQUIRE_FIXTURE(dino, "dino_tiny/dino_tiny.pth");
  CliRun run = dinoclip_cli("index --weights " + dino + " --out " + idx_ + " " + video("b.mp4"));
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.output.find("error:"), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find("Exception raised from"), std::string::npos) << run.output;  // no C++ backtrace
  // Same architecture, other values: refused for append and for search.
  Checkpoint checkpoint = load_checkpoint(weights_);
  checkpoint.tensors.at("visual.proj").mul_(-1);
  const std::string other = idx_ + "-other.safetensors";
  save_safetensors(other, checkpoint.tensors);
  run = dinoclip_cli("index --weights " + other + " --out " + idx_ + " " + video("b.mp4"));
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.output.find("are not the ones that made the index"), std::string::npos) << run.output;
  run = search("--weights " + other + " --query \"bars\"");
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.output.find("are not the ones that made the index"), std::string::npos) << run.output;
  EXPECT_EQ(VideoIndex::load(idx_).size(), 3);
}

TEST_F(Index, SearchRejectsEmptyQueriesAndDamagedOrMissingIndexes) {
  ASSERT_EQ(index(video("a.mp4")).status, 0);
  CliRun run = search("--query \"  \"");
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.output.find("--query is empty"), std::string::npos) << run.output;
  run = search("--query bars -k 0");
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.output.find("-k must be at least 1"), std::string::npos) << run.output;
  run = dinoclip_cli("search-index " + idx_ + "-none --query bars");
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.output.find("no such index folder"), std::string::npos) << run.output;
  write_file_atomically(idx_ + "/index.json", "{ \"format\": \"dinoclip-video-index\", \"vers");
  run = search("--query bars");
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.output.find("index.json: not valid JSON"), std::string::npos) << run.output;
}

// An index folder whose manifest lists no frames (made by hand or by another
// program using the library; `dinoclip index` never saves one).
TEST_F(Index, SearchRejectsAnEmptyIndexSayingHowToFillIt) {
  ASSERT_EQ(index(video("a.mp4")).status, 0);
  VideoIndex(VideoIndex::load(idx_).model()).save(idx_);
  ASSERT_EQ(VideoIndex::load(idx_).size(), 0);
  const CliRun run = search("--query bars");
  EXPECT_EQ(run.status, 1);
  EXPECT_NE(run.output.find("the index holds no frames; add videos with dinoclip index"), std::string::npos)
      << run.output;
}

TEST(BenchSearch, PrintsTheMedianSearchTime) {
  const CliRun run = dinoclip_cli("bench search --rows 2000 --dim 64 --iters 3");
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_NE(run.output.find("search 2000 x 64, top-5: median"), std::string::npos) << run.output;
}

}  // namespace

// The same commands with a PostgreSQL index (--out postgresql://...), on a
// private server with pgvector started here (scripts/pgserver.sh): the same
// JSON lines as the folder index, re-indexing, and the errors of addresses
// that cannot work.
class IndexPostgres : public Index {
 protected:
  static void SetUpTestSuite() {
    Index::SetUpTestSuite();
    const std::string install = dinoclip::testing::PgServer::find_install();
    if (install.empty()) {
      *pg_skip_ = "no PostgreSQL with pgvector: run scripts/pgserver.sh (or set DINOCLIP_PGSERVER)";
      return;
    }
    try {
      server_ = new dinoclip::testing::PgServer(install);
    } catch (const std::exception& e) {
      *pg_skip_ = std::string("the test server did not start: ") + e.what();
    }
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    Index::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    if (!pg_skip_->empty()) {
      if (dinoclip::testing::running_in_ci()) FAIL() << *pg_skip_ << " (CI=true)";
      GTEST_SKIP() << *pg_skip_;
    }
    db_ = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    for (char& c : db_) c = char(std::tolower(static_cast<unsigned char>(c)));
    server_->create_database(db_);
  }
  std::string uri() const { return server_->uri(db_); }

  static dinoclip::testing::PgServer* server_;
  static std::string* pg_skip_;
  std::string db_;
};

dinoclip::testing::PgServer* IndexPostgres::server_ = nullptr;
std::string* IndexPostgres::pg_skip_ = new std::string;

TEST_F(IndexPostgres, SearchPrintsTheFolderIndexsLinesExactAndWithHnsw) {
  const std::string videos = video("a.mp4") + " " + video("b.mp4") + " --every 500ms";
  CliRun run = dinoclip_cli("index --weights " + weights_ + " --out " + uri() + " " + videos);
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_NE(run.output.find("indexed 10 frames of 2 video(s) to " + uri() + ", table dinoclip_frames"),
            std::string::npos)
      << run.output;
  ASSERT_EQ(index(videos).status, 0);  // the folder index of the same videos
  for (const std::string query : {"a white ball on a black background"}) {
    const std::vector<nlohmann::json> expected = json_lines(search("--query \"" + query + "\" -k 6").output);
    ASSERT_EQ(expected.size(), 6u);
    for (const std::string mode : {"--exact", ""}) {
      run = dinoclip_cli("search-index " + uri() + " --vocab " + vocab_ + " --query \"" + query + "\" -k 6 " + mode);
      ASSERT_EQ(run.status, 0) << run.output;
      const std::vector<nlohmann::json> lines = json_lines(run.output);
      ASSERT_EQ(lines.size(), 6u) << run.output;
      for (size_t i = 0; i < 6; ++i) {
        for (const char* key : {"rank", "video", "time", "pts_ns", "frame"}) {
          EXPECT_EQ(lines[i].at(key), expected[i].at(key)) << query << " " << mode << " rank " << i + 1 << " " << key;
        }
        EXPECT_NEAR(lines[i].at("score").get<double>(), expected[i].at("score").get<double>(), 1e-5);
      }
    }
  }
}

// docs/search.md's live pipeline: clipzeroshot ! dinometapublish method=postgres
// stores every frame's embedding; search-index finds them, best first, with
// the folder index's answer for the same video's frames.
TEST_F(IndexPostgres, ALivePipelinesFramesAreFoundBySearchIndex) {
  const std::string address = "host=127.0.0.1 port=" + std::to_string(server_->port()) + " user=dinoclip dbname=" + db_;
  const std::string error = run_pipeline(
      "filesrc location=" + video("b.mp4") + " ! decodebin ! videoconvert ! clipzeroshot model=" + weights_ +
      " vocab=" + vocab_ + " labels=\"a ball,bars\" ! dinometapublish method=postgres address=\"" + address +
      "\" table=live source-id=camera-1 ! fakesink");
  ASSERT_EQ(error, "");
  EXPECT_EQ(server_->psql(db_, "SELECT count(*), count(DISTINCT frame), min(video), max(video) FROM live"),
            "20|20|camera-1|camera-1\n");
  // The folder index of the same video's every frame (10 fps): the same frames, the same scores.
  ASSERT_EQ(index("--every 100ms " + video("b.mp4")).status, 0);
  const std::string query = "a white ball on a black background";
  const std::vector<nlohmann::json> expected = json_lines(search("--query \"" + query + "\" -k 5").output);
  ASSERT_EQ(expected.size(), 5u);
  for (const std::string mode : {"--exact", ""}) {
    const CliRun run = dinoclip_cli("search-index postgresql://dinoclip@127.0.0.1:" + std::to_string(server_->port()) +
                                    "/" + db_ + " --table live --vocab " + vocab_ + " --query \"" + query + "\" -k 5 " +
                                    mode);
    ASSERT_EQ(run.status, 0) << run.output;
    const std::vector<nlohmann::json> lines = json_lines(run.output);
    ASSERT_EQ(lines.size(), 5u) << run.output;
    for (size_t i = 0; i < 5; ++i) {
      EXPECT_EQ(lines[i].at("video"), "camera-1") << run.output;
      EXPECT_EQ(lines[i].at("pts_ns"), expected[i].at("pts_ns")) << mode << " rank " << i + 1;
      EXPECT_NEAR(lines[i].at("score").get<double>(), expected[i].at("score").get<double>(), 1e-4) << mode;
    }
  }
}

TEST_F(IndexPostgres, SkipsKnownVideosAndReplacesThemWhenAsked) {
  const std::string out = " --weights " + weights_ + " --out " + uri() + " --table clips ";
  ASSERT_EQ(dinoclip_cli("index" + out + video("a.mp4")).status, 0);
  CliRun run = dinoclip_cli("index" + out + video("a.mp4") + " " + video("b.mp4"));
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_NE(run.output.find("already in the index, skipped"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("appended 2 frames of 1 video(s)"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("(5 frames of 2 video(s)"), std::string::npos) << run.output;
  run = dinoclip_cli("index" + out + "--replace --every 500ms " + video("a.mp4"));
  ASSERT_EQ(run.status, 0) << run.output;
  EXPECT_NE(run.output.find("(8 frames of 2 video(s)"), std::string::npos) << run.output;  // a: 6 rows now, b: 2
  EXPECT_EQ(server_->psql(db_, "SELECT count(*) FROM clips WHERE video LIKE '%a.mp4'"), "6\n");
  // --table on search too; the default table holds nothing.
  run = dinoclip_cli("search-index " + uri() + " --table clips --vocab " + vocab_ + " --query bars -k 2");
  EXPECT_EQ(json_lines(run.output).size(), 2u) << run.output;
  run = dinoclip_cli("search-index " + uri() + " --vocab " + vocab_ + " --query bars");
  EXPECT_EQ(run.status, 1) << run.output;
  EXPECT_NE(run.output.find("no dinoclip video index there"), std::string::npos) << run.output;
}

TEST_F(IndexPostgres, RejectsAddressesThatCannotWorkBeforeLoadingTheModel) {
  const int port = dinoclip::testing::free_local_port();
  const std::string down = "postgresql://dinoclip@127.0.0.1:" + std::to_string(port) + "/videos";
  CliRun run = dinoclip_cli("index --weights " + weights_ + " --out " + down + " " + video("a.mp4"));
  EXPECT_EQ(run.status, 1) << run.output;
  EXPECT_NE(run.output.find(down + ": cannot connect to PostgreSQL"), std::string::npos) << run.output;
  run = dinoclip_cli("search-index " + down + " --query bars");
  EXPECT_EQ(run.status, 1) << run.output;
  EXPECT_NE(run.output.find(down + ": cannot connect to PostgreSQL"), std::string::npos) << run.output;

  const std::string with_password =
      "postgresql://dinoclip:hunter2@127.0.0.1:" + std::to_string(server_->port()) + "/" + db_;
  run = dinoclip_cli("index --weights " + weights_ + " --out " + with_password + " " + video("a.mp4"));
  EXPECT_EQ(run.status, 1) << run.output;
  EXPECT_NE(run.output.find("the address carries a password"), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find("hunter2"), std::string::npos) << run.output;

  run = dinoclip_cli("index --weights " + weights_ + " --out mysql://127.0.0.1/videos " + video("a.mp4"));
  EXPECT_EQ(run.status, 1) << run.output;
  EXPECT_NE(run.output.find("not a PostgreSQL address (mysql://)"), std::string::npos) << run.output;
  EXPECT_FALSE(fs::exists("mysql:")) << "an address was taken for a folder";
  run = index(video("a.mp4") + " --table frames");
  EXPECT_EQ(run.status, 1) << run.output;
  EXPECT_NE(run.output.find("--table is for a PostgreSQL index"), std::string::npos) << run.output;
  run = dinoclip_cli("index --weights " + weights_ + " --out " + uri() + " --table 'x;drop' " + video("a.mp4"));
  EXPECT_EQ(run.status, 1) << run.output;
  EXPECT_NE(run.output.find("use letters, digits and underscores"), std::string::npos) << run.output;
}
