// LruCache: bounded, least recently used dropped first, make() only on a miss.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <utility>

#include "core/lru_cache.h"

namespace dinoclip {
namespace {

TEST(LruCache, MakesOnceAndReturnsTheCachedValue) {
  LruCache<int, std::string> cache(2);
  int made = 0;
  auto make = [&] { return std::to_string(++made); };
  EXPECT_EQ(cache.get_or_make(1, make), "1");
  EXPECT_EQ(cache.get_or_make(1, make), "1");
  EXPECT_EQ(made, 1);
}

TEST(LruCache, StaysWithinItsCapacityDroppingTheLeastRecentlyUsed) {
  LruCache<std::pair<int, int>, int> cache(3);
  int made = 0;
  auto make = [&] { return ++made; };
  for (int size = 1; size <= 100; ++size) cache.get_or_make({size, size}, make);  // every native size of a stream
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_EQ(cache.evictions(), 97u);
  EXPECT_TRUE(cache.contains({98, 98}) && cache.contains({99, 99}) && cache.contains({100, 100}));
  cache.get_or_make({98, 98}, make);  // used again: now the most recent
  cache.get_or_make({7, 7}, make);    // drops 99, the least recently used
  EXPECT_TRUE(cache.contains({98, 98}));
  EXPECT_FALSE(cache.contains({99, 99}));
  EXPECT_TRUE(cache.contains({100, 100}));
  EXPECT_EQ(made, 101);
}

TEST(LruCache, AFailedMakeChangesNothing) {
  LruCache<int, int> cache(1);
  cache.get_or_make(1, [] { return 10; });
  EXPECT_THROW(cache.get_or_make(2, []() -> int { throw std::runtime_error("no"); }), std::runtime_error);
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_TRUE(cache.contains(1));
}

}  // namespace
}  // namespace dinoclip
