// index, search-index: text-to-video search. `index` decodes videos with
// GStreamer, embeds sampled frames with CLIP and stores them in a VideoIndex
// folder; `search-index` ranks the indexed frames by a sentence (one matrix
// product) and can write thumbnails of the frames it found.
#include <ATen/ATen.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "app/frame_reader.h"
#include "app/video_embedding.h"
#include "clip_session.h"
#include "commands.h"
#include "core/error.h"
#include "core/user_message.h"
#include "core/threads.h"
#include "io/image_file.h"
#include "models/clip.h"
#include "tasks/frame_sampling.h"
#include "io/postgres.h"
#include "tasks/video_index_store.h"
#include "text/bpe_tokenizer.h"
#include "text/vocab_path.h"

namespace dinoclip::cli {
namespace {
namespace fs = std::filesystem;
using gstapp::VideoFrame;
using gstapp::VideoFrameReader;

// What a folder argument to `index` contributes: the files directly in it with these extensions.
const std::set<std::string> kVideoExtensions = {".mp4", ".m4v", ".mov", ".mkv",  ".webm", ".avi",
                                                ".ts",  ".mts", ".mpg", ".mpeg", ".ogv",  ".flv"};

bool is_uri(const std::string& path) { return path.find("://") != std::string::npos; }

// Paths as stored in the index: absolute, so search works from any folder.
std::string stored_path(const std::string& path) {
  return is_uri(path) ? path : fs::absolute(path).lexically_normal().string();
}

std::string lower_extension(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return ext;
}

// Every argument that names a file or URI, plus the video files inside any folder argument (sorted).
std::vector<std::string> video_paths(const std::vector<std::string>& arguments) {
  std::vector<std::string> videos;
  for (const auto& argument : arguments) {
    if (is_uri(argument)) {
      videos.push_back(argument);
    } else if (fs::is_directory(argument)) {
      std::vector<std::string> found;
      for (const auto& entry : fs::directory_iterator(argument)) {
        if (entry.is_regular_file() && kVideoExtensions.count(lower_extension(entry.path()))) {
          found.push_back(entry.path().string());
        }
      }
      if (found.empty()) throw Error(argument + ": folder holds no video files (.mp4, .mkv, .webm, .mov, ...)");
      std::sort(found.begin(), found.end());
      videos.insert(videos.end(), found.begin(), found.end());
    } else if (!fs::exists(argument)) {
      throw Error(argument + ": no such file");
    } else {
      videos.push_back(argument);
    }
  }
  return videos;
}

// --weights, or its alias --model (the spelling).
std::string weights_option(const Args& args) {
  if (args.has("weights") && args.has("model")) throw Error("give the CLIP weights once: --weights or --model");
  return args.has("model") ? args.get("model") : args.get("weights");
}

// `index` exit status when some files were skipped and the rest indexed
// (docs/bad-input.md): not 0, so scripts notice; not 1, which means nothing changed.
constexpr int kExitSomeSkipped = 3;

ClipCrop parse_crop(const std::string& text) {
  if (text == "center") return ClipCrop::kCenter;
  if (text == "full") return ClipCrop::kFullFrame;
  throw Error("--crop must be center (CLIP's own preprocessing) or full (whole frame squashed), got '" + text + "'");
}

// Progress on stderr: one rewritten line on a terminal, one line per video otherwise.
class Progress {
 public:
  void update(const std::string& text) const {
    if (tty_) std::cerr << "\r" << text << "\033[K" << std::flush;
  }
  void done(const std::string& text) const { std::cerr << (tty_ ? "\r" : "") << text << (tty_ ? "\033[K\n" : "\n"); }

 private:
  bool tty_ = ::isatty(STDERR_FILENO);
};

std::string seconds_text(int64_t time_ns) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.3f", double(time_ns) / 1e9);
  return text;
}

int index_videos(const Args& args) {
  const std::vector<std::string> videos = video_paths(args.positionals());
  if (videos.empty()) throw Error("index: give the videos (files or folders) to index");
  const SamplingInterval every = SamplingInterval::parse(args.get("every", "1s"));
  const ClipCrop crop = parse_crop(args.get("crop", "center"));
  const int batch = args.get_int("batch", 16);
  if (batch < 1) throw Error("index: --batch must be at least 1");
  const std::string out = args.require("out"), weights = weights_option(args), table = args.get("table");
  if (weights.empty()) throw Error("index: --weights (or --model) is required: the CLIP weights, e.g. ViT-B-32.pt");
  const bool replace = args.has("replace");
  PgVideoIndex::HnswOptions hnsw;
  hnsw.m = args.get_int("hnsw-m", hnsw.m);
  hnsw.ef_construction = args.get_int("hnsw-ef-construction", hnsw.ef_construction);
  hnsw.build_memory = args.get("build-memory", hnsw.build_memory);
  const std::string bulk = args.get("bulk", "auto");
  if (bulk != "auto" && bulk != "yes" && bulk != "no") throw Error("index: --bulk must be auto, yes or no, not " + bulk);
  // A bad address, a folder of other files, ... are refused before the model loads.
  if (is_postgres_index(out)) {
    check_postgres_address(out, "--out");
    if (!table.empty()) check_index_table_name(table);
    PgConnection reachable(out);  // a server that is down or refuses us: said now, not after the model loads
  } else {
    if (!table.empty()) throw Error("index: --table is for a PostgreSQL index (--out postgresql://...)");
    if (fs::exists(out) && !fs::is_directory(out)) throw Error(out + ": exists and is not an index folder");
    if (!VideoIndex::can_index_into(out)) {
      throw Error(out + ": folder is not empty and holds no index; give a new or empty folder (or an existing index)");
    }
  }

  configure_threads();
  const ClipModel model = ClipModel::load(weights);
  const IndexModel described = describe_index_model(model, stored_path(weights));
  const std::unique_ptr<VideoIndexStore> index = open_index_for_writing(out, table, described, hnsw);
  const int64_t frames_before = index->frame_count();
  const bool appending = frames_before > 0;
  // Into an empty table (auto) the HNSW index is built once after the load, not row by row.
  const bool bulk_load = bulk == "yes" || (bulk == "auto" && !appending);
  if (bulk_load) index->start_bulk_load();

  const std::string sampling =
      "every " + every.describe() + (crop == ClipCrop::kCenter ? ", center crop" : ", full frame");
  const Progress progress;
  int64_t added_frames = 0;
  int added_videos = 0;
  std::vector<std::string> failed;
  for (size_t i = 0; i < videos.size(); ++i) {
    const std::string path = stored_path(videos[i]);
    const std::string label = "[" + std::to_string(i + 1) + "/" + std::to_string(videos.size()) + "] " + videos[i];
    if (!replace && index->has_video(path)) {
      progress.done(label + ": already in the index, skipped (--replace indexes it again)");
      continue;
    }
    // One file that does not decode (damaged, audio only, not a video) is
    // skipped: the videos before and after it are still indexed and saved.
    try {
      const gstapp::EncodedVideo encoded =
          gstapp::encode_video(model, videos[i], every, crop, batch, [&](size_t embedded, int64_t last_time_ns) {
            progress.update(label + ": " + std::to_string(embedded) + " frames embedded, at " +
                            seconds_text(last_time_ns) + " s");
          });
      index->put_video({path, sampling}, encoded.stamps, encoded.embeddings);
      ++added_videos;
      added_frames += int64_t(encoded.stamps.size());
      progress.done(label + ": " + std::to_string(encoded.stamps.size()) + " of " + std::to_string(encoded.decoded) +
                    " frames indexed");
    } catch (const std::exception& e) {
      failed.push_back(videos[i]);
      progress.done(label + ": NOT indexed: " + user_message(e));
    }
  }
  if (added_videos > 0) index->commit();
  if (is_postgres_index(out)) {
    if (bulk_load && added_frames > 0) progress.done("building the HNSW index over " + std::to_string(index->frame_count()) + " frames");
    index->finish_bulk_load();  // also rebuilds an index an interrupted bulk load left missing
  }
  std::cout << (appending ? "appended " : "indexed ") << added_frames << " frames of " << added_videos
            << " video(s) to " << index->describe() << " (" << index->frame_count() << " frames of "
            << index->video_count() << " video(s), " << model.describe() << ")\n";
  if (failed.empty()) return 0;
  std::cout << std::flush;
  std::cerr << "dinoclip index: " << failed.size() << " of " << videos.size()
            << " file(s) could not be indexed (see above); " << (added_videos > 0 ? "the others were saved. " : "")
            << "Fix or remove them and run the same command again: indexed videos are skipped\n";
  if (added_videos == 0) return 1;  // nothing was added: a plain failure, the index is as it was
  return kExitSomeSkipped;
}

// "03_beach_12.500s.jpg": rank, the video's name, the time.
std::string thumbnail_name(int rank, int ranks, const std::string& video, int64_t time_ns) {
  std::string stem = fs::path(video).stem().string();
  for (char& c : stem) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') c = '_';
  }
  std::string number = std::to_string(rank);
  const size_t width = std::max<size_t>(2, std::to_string(ranks).size());
  number.insert(0, width - std::min(width, number.size()), '0');
  return number + "_" + stem + "_" + seconds_text(time_ns) + "s.jpg";
}

// The decoded picture of an indexed frame: a seek to its time, or decoding
// from the start to its frame number where seeking lands elsewhere.
Image indexed_frame_picture(const std::string& video, const IndexedFrame& wanted) {
  VideoFrame frame;
  try {
    VideoFrameReader reader(video);
    reader.seek(wanted.time_ns);
    bool more = true;
    while ((more = reader.next(frame)) && frame.pts_ns >= 0 && frame.pts_ns < wanted.pts_ns) {
    }
    if (more && frame.pts_ns == wanted.pts_ns) return std::move(frame.rgb);
  } catch (const Error&) {
    // Not seekable (a live or piped source): decode from the start below.
  }
  VideoFrameReader reader(video);
  for (int64_t number = 0; reader.next(frame); ++number) {
    if (number == wanted.frame) return std::move(frame.rgb);
  }
  throw Error(video + ": frame " + std::to_string(wanted.frame) + " (" + seconds_text(wanted.time_ns) +
              " s) is not in the video any more; was it changed after indexing?");
}

int search_index(const Args& args) {
  if (args.positionals().size() != 1) {
    throw Error("search-index: give one index: a folder made by dinoclip index, or postgresql://...");
  }
  const std::string location = args.positionals()[0];
  std::string query = args.require("query");
  if (query.find_first_not_of(" \t\r\n") == std::string::npos) {
    throw Error("search-index: --query is empty; say what to look for, e.g. --query \"a dog on a beach\"");
  }
  const int k = args.get_int("k", 5);
  if (k < 1) throw Error("search-index: -k must be at least 1");
  IndexSearchOptions options;
  options.exact = args.has("exact");
  options.ef_search = args.get_int("ef-search", PgVideoIndex::kDefaultEfSearch);
  const std::string table = args.get("table");
  if (is_postgres_index(location)) check_postgres_address(location, "search-index");
  const std::unique_ptr<VideoIndexStore> index = open_index_for_search(location, table);
  if (index->frame_count() == 0) {
    throw Error(index->describe() + ": the index holds no frames; add videos with dinoclip index");
  }

  std::string weights = weights_option(args);
  if (weights.empty()) {
    weights = index->model().weights;
    if (!fs::exists(weights)) {
      throw Error(index->describe() + " was made with " + weights +
                  ", which is not there any more: pass --weights with that model");
    }
  }
  configure_threads();
  const ClipModel model = ClipModel::load(weights);
  index->model().check_same_as(describe_index_model(model, weights), "--weights " + weights);
  const BpeTokenizer tokenizer(find_vocab_file(args.get("vocab")));
  const at::Tensor text = model.encode_text(tokenizer.tokenize({query}, model.config().context_length, true));
  const std::vector<IndexHit> hits = index->search(text[0], k, options);

  const std::string thumbnails = args.get("thumbnails");
  std::vector<std::string> names;
  for (size_t i = 0; i < hits.size() && !thumbnails.empty(); ++i) {
    names.push_back(thumbnails + "/" + thumbnail_name(int(i + 1), int(hits.size()), hits[i].video, hits[i].time_ns));
    if (fs::exists(names.back()) && !args.has("force")) {
      throw Error(names.back() + ": exists; pass --force to overwrite thumbnails, or give a new --thumbnails folder");
    }
  }
  if (!names.empty()) {
    std::error_code ec;
    fs::create_directories(thumbnails, ec);
    if (ec) throw Error(thumbnails + ": cannot create the thumbnails folder (" + ec.message() + ")");
  }
  for (size_t i = 0; i < hits.size(); ++i) {
    const IndexHit& hit = hits[i];
    // A thumbnail is written before its line names it: a failure stops here,
    // and every path printed so far is a file that exists.
    if (!names.empty()) {
      write_jpeg(names[i], indexed_frame_picture(hit.video, {0, hit.time_ns, hit.pts_ns, hit.frame}), /*quality=*/90);
    }
    nlohmann::ordered_json line;
    line["rank"] = i + 1;
    line["video"] = hit.video;
    line["time"] = double(hit.time_ns) / 1e9;
    line["pts_ns"] = hit.pts_ns;
    line["frame"] = hit.frame;
    line["score"] = hit.score;
    if (!hit.source_id.empty()) line["source"] = hit.source_id;
    if (!names.empty()) line["thumbnail"] = names[i];
    std::cout << line.dump() << "\n" << std::flush;
  }
  return 0;
}

}  // namespace

std::vector<Command> index_commands() {
  const OptionSpec model_alias{"model", "W", "same as --weights"};
  return {
      {{"index",
        "embed video frames with CLIP into a searchable index folder or PostgreSQL table (appends to an existing "
        "one); files that do not decode are skipped and named, the rest is saved, and the exit status is then 3",
        "VIDEO|FOLDER... --weights ViT-B-32.pt [--every 1s|500ms|10f] --out IDX|postgresql://USER@HOST:PORT/DB "
        "[--table T] [--replace] [--crop center|full] [--batch N] [--bulk auto|yes|no] [--hnsw-m M] "
        "[--hnsw-ef-construction E] [--build-memory 1GB]",
        {kClipWeights,
         model_alias,
         {"every", "T", "sampling: seconds (1s, 2.5s), milliseconds (500ms) or every Nth frame (10f); default 1s"},
         {"out", "IDX",
          "index folder (created, or appended to when it holds an index of the same model), or "
          "postgresql://USER@HOST:PORT/DB (password from $PGPASSWORD or ~/.pgpass)"},
         {"table", "T", "PostgreSQL table, one per model (default dinoclip_frames)"},
         {"replace", "", "index videos already in the index again, replacing their rows"},
         {"crop", "center|full", "center: CLIP's preprocessing (default); full: whole frame squashed to a square"},
         {"batch", "N", "frames per encode_image call (default 16)"},
         {"bulk", "auto|yes|no",
          "PostgreSQL: drop the HNSW index for the run and build it once at the end (~50x faster loading; searches "
          "meanwhile scan every row); auto (default): when the table holds no frames yet"},
         {"hnsw-m", "M", "PostgreSQL, new table: HNSW links per node, 2-100 (default 16)"},
         {"hnsw-ef-construction", "E", "PostgreSQL, new table: HNSW build candidates, 2M-1000 (default 64)"},
         {"build-memory", "SIZE",
          "PostgreSQL: maintenance_work_mem for building the HNSW index (default 1GB; 1M 512-d frames need ~2.5GB "
          "to build in memory)"}},
        /*takes_positionals=*/true},
       index_videos},
      {{"search-index",
        "rank indexed video frames by a sentence: JSON lines (rank, video, time, score)",
        "IDX|postgresql://... --query \"a dog on a beach\" [-k 5] [--table T] [--exact] [--weights W] [--vocab V] "
        "[--thumbnails DIR [--force]]",
        {{"query", "TEXT", "what to look for"},
         {"k", "N", "results (default 5)"},
         {"table", "T", "PostgreSQL table (default dinoclip_frames)"},
         {"exact", "", "PostgreSQL: score every frame instead of the HNSW index (a folder is always exact)"},
         {"ef-search", "N",
          "PostgreSQL: HNSW candidates per query, 1-1000 (default 400; more = better recall, slower)"},
         {"weights", "W", "CLIP weights (default: the ones the index was made with)"},
         model_alias,
         {"vocab", "V", "bpe_simple_vocab_16e6.txt.gz (default: $DINOCLIP_VOCAB, models dirs)"},
         {"thumbnails", "DIR", "write each hit's frame as DIR/<rank>_<video>_<time>s.jpg"},
         {"force", "", "overwrite thumbnails that exist"}},
        /*takes_positionals=*/true},
       search_index},
  };
}

}  // namespace dinoclip::cli
