// model-instance-id: sharing, private instances, mismatch errors naming the setting.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "runtime/instance_registry.h"

namespace dinoclip::runtime {
namespace {

struct Thing {
  int serial;
};

InstanceSettings settings_of(const std::string& model, const std::string& precision) {
  return {{"model type", "DINO"}, {"model", model}, {"device", "cpu"}, {"precision", precision}};
}

std::function<std::shared_ptr<Thing>()> counting_factory(int* created) {
  return [created] { return std::make_shared<Thing>(Thing{++*created}); };
}

TEST(InstanceRegistry, SameIdAndSettingsShareOneInstance) {
  InstanceRegistry registry;
  int created = 0;
  auto a = registry.acquire<Thing>("cam", settings_of("m.pth", "fp32"), counting_factory(&created));
  auto b = registry.acquire<Thing>("cam", settings_of("m.pth", "fp32"), counting_factory(&created));
  EXPECT_EQ(a.get(), b.get());
  EXPECT_EQ(created, 1);
  EXPECT_EQ(registry.live_ids(), std::vector<std::string>{"cam"});
}

TEST(InstanceRegistry, EmptyIdAndOtherIdsAreSeparate) {
  InstanceRegistry registry;
  int created = 0;
  auto a = registry.acquire<Thing>("", settings_of("m.pth", "fp32"), counting_factory(&created));
  auto b = registry.acquire<Thing>("", settings_of("m.pth", "fp32"), counting_factory(&created));
  auto c = registry.acquire<Thing>("other", settings_of("m.pth", "fp32"), counting_factory(&created));
  EXPECT_NE(a.get(), b.get());
  EXPECT_NE(a.get(), c.get());
  EXPECT_EQ(created, 3);
}

TEST(InstanceRegistry, RejectsAMismatchNamingTheSettingAndBothValues) {
  InstanceRegistry registry;
  int created = 0;
  auto held = registry.acquire<Thing>("cam", settings_of("m.pth", "fp32"), counting_factory(&created));
  try {
    registry.acquire<Thing>("cam", settings_of("m.pth", "bf16"), counting_factory(&created));
    FAIL() << "a precision mismatch was accepted";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("model-instance-id \"cam\""), std::string::npos) << message;
    EXPECT_NE(message.find("precision differs: \"bf16\" here, \"fp32\""), std::string::npos) << message;
  }
  EXPECT_THROW(registry.acquire<Thing>("cam", settings_of("other.pth", "fp32"), counting_factory(&created)), Error);
  EXPECT_EQ(created, 1);
}

TEST(InstanceRegistry, AReleasedIdCanBeLoadedAgainWithNewSettings) {
  InstanceRegistry registry;
  int created = 0;
  registry.acquire<Thing>("cam", settings_of("m.pth", "fp32"), counting_factory(&created)).reset();
  EXPECT_TRUE(registry.live_ids().empty());
  auto again = registry.acquire<Thing>("cam", settings_of("m.pth", "bf16"), counting_factory(&created));
  EXPECT_EQ(again->serial, 2);
}

TEST(InstanceRegistry, FindReturnsOnlyLiveInstances) {
  InstanceRegistry registry;
  int created = 0;
  EXPECT_EQ(registry.find<Thing>("cam"), nullptr);
  auto held = registry.acquire<Thing>("cam", settings_of("m.pth", "fp32"), counting_factory(&created));
  EXPECT_EQ(registry.find<Thing>("cam").get(), held.get());
  held.reset();
  EXPECT_EQ(registry.find<Thing>("cam"), nullptr);
}

// Issue 24 item 8: a load holds no lock another id needs. "slow" blocks in
// its factory until released (a handshake, not a sleep); meanwhile "fast"
// loads and is found, and a second caller of "slow" waits for the first's
// instance instead of loading its own. The bound on the waits only turns a
// regression (the old registry held its mutex through the load) into a
// failure instead of a hang.
TEST(InstanceRegistry, OneIdLoadingNeverBlocksAnother) {
  InstanceRegistry registry;
  std::promise<void> slow_entered, release_slow;
  std::shared_future<void> released = release_slow.get_future().share();
  int slow_created = 0;
  auto slow_factory = [&]() -> std::shared_ptr<Thing> {
    ++slow_created;
    slow_entered.set_value();
    released.wait();
    return std::make_shared<Thing>(Thing{7});
  };
  auto slow = std::async(std::launch::async, [&] {
    return registry.acquire<Thing>("slow", settings_of("s.pth", "fp32"), slow_factory);
  });
  slow_entered.get_future().wait();
  auto fast = std::async(std::launch::async, [&] {
    int created = 0;
    return registry.acquire<Thing>("fast", settings_of("f.pth", "fp32"), counting_factory(&created));
  });
  const bool fast_done = fast.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
  auto same_id = std::async(std::launch::async, [&] {
    return registry.acquire<Thing>("slow", settings_of("s.pth", "fp32"), slow_factory);
  });
  EXPECT_NE(same_id.wait_for(std::chrono::milliseconds(50)), std::future_status::ready)
      << "a caller of the id being loaded did not wait for the load";
  release_slow.set_value();
  ASSERT_TRUE(fast_done) << "loading \"fast\" waited for the load of \"slow\"";
  EXPECT_EQ(fast.get()->serial, 1);
  std::shared_ptr<Thing> first = slow.get();
  std::shared_ptr<Thing> second = same_id.get();
  EXPECT_EQ(first.get(), second.get());
  EXPECT_EQ(slow_created, 1);
}

// A failed load wakes the id's waiters: one of them loads it again.
TEST(InstanceRegistry, AFailedLoadLetsTheNextCallerLoad) {
  InstanceRegistry registry;
  EXPECT_THROW(registry.acquire<Thing>("cam", settings_of("m.pth", "fp32"),
                                       []() -> std::shared_ptr<Thing> { throw std::runtime_error("bad file"); }),
               std::runtime_error);
  int created = 0;
  auto again = registry.acquire<Thing>("cam", settings_of("m.pth", "fp32"), counting_factory(&created));
  EXPECT_EQ(created, 1);
  EXPECT_EQ(registry.live_ids(), std::vector<std::string>{"cam"});
}

TEST(InstanceRegistry, DescribeMismatchNamesTheFirstDifference) {
  EXPECT_EQ(describe_mismatch(settings_of("a", "fp32"), settings_of("a", "fp32")), "");
  EXPECT_EQ(describe_mismatch(settings_of("a", "fp32"), settings_of("b", "bf16")),
            "model differs: \"a\" here, \"b\" in the instance already loaded");
}

}  // namespace
}  // namespace dinoclip::runtime
