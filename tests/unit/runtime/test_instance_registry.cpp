// model-instance-id: sharing, private instances, mismatch errors naming the setting.
#include <gtest/gtest.h>

#include <memory>
#include <string>

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

TEST(InstanceRegistry, DescribeMismatchNamesTheFirstDifference) {
  EXPECT_EQ(describe_mismatch(settings_of("a", "fp32"), settings_of("a", "fp32")), "");
  EXPECT_EQ(describe_mismatch(settings_of("a", "fp32"), settings_of("b", "bf16")),
            "model differs: \"a\" here, \"b\" in the instance already loaded");
}

}  // namespace
}  // namespace dinoclip::runtime
