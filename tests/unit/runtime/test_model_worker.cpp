// The one-thread-per-model worker: no two calls overlap, batching of
// compatible items, per-client order, cancellation. Fake models (tensor
// arithmetic), so these tests need no fixture.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <set>
#include <thread>
#include <vector>

#include "runtime/model_worker.h"

namespace dinoclip::runtime {
namespace {

using namespace std::chrono_literals;

// A model that doubles its input and records what it saw.
struct FakeModel {
  std::mutex mutex;
  std::vector<int> batch_sizes;
  std::vector<float> first_values;  // per run, the first item's value (execution order)
  std::atomic<int> inside{0};
  std::atomic<int> most_inside{0};
  std::set<std::thread::id> threads;

  BatchFunction doubler() {
    return [this](const at::Tensor& batch) -> BatchOutputs {
      const int now = ++inside;
      most_inside = std::max(most_inside.load(), now);
      std::this_thread::sleep_for(1ms);
      {
        std::lock_guard<std::mutex> lock(mutex);
        batch_sizes.push_back(int(batch.size(0)));
        for (int64_t i = 0; i < batch.size(0); ++i) first_values.push_back(batch[i].item<float>());
        threads.insert(std::this_thread::get_id());
      }
      --inside;
      return {batch * 2, at::Tensor()};
    };
  }
};

at::Tensor item(float value) { return at::full({1, 1}, value); }

// Holds the worker busy until release() so that requests pile up behind it.
struct Gate {
  std::promise<void> opened;
  std::shared_future<void> open = opened.get_future().share();
  std::future<void> blocker;
  explicit Gate(ModelWorker& worker, ClientId client) {
    auto open_copy = open;
    blocker = worker.call(client, [open_copy] { open_copy.wait(); });
  }
  void release() {
    opened.set_value();
    blocker.get();
  }
};

TEST(ModelWorker, CallsFromManyThreadsNeverOverlapAndRunOnOneThread) {
  FakeModel model;
  ModelWorker worker(BatchPolicy{4, 2ms});
  std::vector<std::thread> clients;
  std::atomic<int> wrong{0};
  for (int c = 0; c < 6; ++c) {
    clients.emplace_back([&, c] {
      const ClientId id = worker.new_client();
      for (int i = 0; i < 20; ++i) {
        const float value = float(c * 100 + i);
        BatchOutputs out = worker.submit(id, i % 2 ? "a" : "b", item(value), {}, model.doubler()).get();
        if (out[0].item<float>() != 2 * value || out[1].defined()) ++wrong;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(wrong, 0);
  EXPECT_EQ(model.most_inside, 1) << "two model calls ran at the same time";
  EXPECT_EQ(model.threads.size(), 1u);
  EXPECT_EQ(worker.stats().items, 120u);
}

TEST(ModelWorker, BatchesCompatibleItemsUpToTheBatchSizeEachGettingItsOwnSlice) {
  FakeModel model;
  ModelWorker worker(BatchPolicy{4, 0ms});
  const ClientId client = worker.new_client();
  Gate gate(worker, client);
  std::vector<std::future<BatchOutputs>> results;
  for (int i = 0; i < 6; ++i) results.push_back(worker.submit(client, "same", item(float(i)), {}, model.doubler()));
  gate.release();
  for (int i = 0; i < 6; ++i) {
    BatchOutputs out = results[i].get();
    ASSERT_EQ(out[0].size(0), 1);
    EXPECT_EQ(out[0].item<float>(), 2.0f * i);
    // Its own memory, not a view of the batch's: an item kept unread (a
    // frame's payload) must not hold the whole batch's outputs (issue 24).
    EXPECT_EQ(out[0].storage().nbytes(), out[0].numel() * out[0].element_size()) << "item " << i;
  }
  EXPECT_EQ(model.batch_sizes, (std::vector<int>{4, 2}));
  EXPECT_EQ(model.first_values, (std::vector<float>{0, 1, 2, 3, 4, 5}));
}

TEST(ModelWorker, IncompatibleItemsNeverShareABatch) {
  FakeModel model;
  ModelWorker worker(BatchPolicy{8, 0ms});
  const ClientId a = worker.new_client();
  const ClientId b = worker.new_client();
  Gate gate(worker, a);
  auto a1 = worker.submit(a, "224x224", item(1), {}, model.doubler());
  auto b1 = worker.submit(b, "160x240", item(2), {}, model.doubler());
  auto b2 = worker.submit(b, "224x224", item(3), {}, model.doubler());  // b's earlier item blocks it
  auto a2 = worker.submit(a, "224x224", item(4), {}, model.doubler());
  gate.release();
  EXPECT_EQ(a1.get()[0].item<float>(), 2);
  EXPECT_EQ(b1.get()[0].item<float>(), 4);
  EXPECT_EQ(b2.get()[0].item<float>(), 6);
  EXPECT_EQ(a2.get()[0].item<float>(), 8);
  // a1+a2 together; b1 alone; b2 alone (it may not overtake b1).
  EXPECT_EQ(model.batch_sizes, (std::vector<int>{2, 1, 1}));
  EXPECT_EQ(model.first_values, (std::vector<float>{1, 4, 2, 3}));
}

// The fill and the timeout are checked on two workers: a batch that must fill
// gets a timeout no scheduler delay reaches (it runs as soon as it is full), a
// lone item a short one it must wait out.
TEST(ModelWorker, TimeoutLetsABatchFillThenRunsWhatItHas) {
  FakeModel model;
  {
    ModelWorker worker(BatchPolicy{2, 60s});
    const ClientId a = worker.new_client();
    const ClientId b = worker.new_client();
    auto first = worker.submit(a, "k", item(1), {}, model.doubler());
    std::this_thread::sleep_for(30ms);  // not synchronisation: gives a wrong worker time to run `first` alone
    EXPECT_EQ(first.wait_for(0s), std::future_status::timeout) << "ran before its batch filled or timed out";
    const auto start = std::chrono::steady_clock::now();
    auto second = worker.submit(b, "k", item(2), {}, model.doubler());
    first.get();
    second.get();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 30s) << "a full batch waited for the timeout";
    EXPECT_EQ(model.batch_sizes, (std::vector<int>{2}));
  }

  ModelWorker worker(BatchPolicy{2, 300ms});
  const auto start = std::chrono::steady_clock::now();
  worker.submit(worker.new_client(), "k", item(3), {}, model.doubler()).get();  // alone: runs once the timeout passes
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, 300ms);  // the item's clock starts inside submit(), after `start`
  EXPECT_EQ(model.batch_sizes, (std::vector<int>{2, 1}));
}

TEST(ModelWorker, HurryRunsAClientsItemsWithoutWaitingForTheBatchToFill) {
  FakeModel model;
  ModelWorker worker(BatchPolicy{4, 60s});
  const ClientId ending = worker.new_client();
  auto result = worker.submit(ending, "k", item(1), {}, model.doubler());
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(result.wait_for(0s), std::future_status::timeout) << "ran before its batch filled or timed out";
  const auto start = std::chrono::steady_clock::now();
  worker.hurry(ending);
  EXPECT_EQ(result.get()[0].item<float>(), 2);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 30s) << "hurry() waited for the batch timeout";
}

TEST(ModelWorker, CancelDropsOnlyThatClientsWaitingRequests) {
  FakeModel model;
  ModelWorker worker(BatchPolicy{1, 0ms});
  const ClientId a = worker.new_client();
  const ClientId b = worker.new_client();
  Gate gate(worker, b);
  auto a1 = worker.submit(a, "k", item(1), {}, model.doubler());
  auto b1 = worker.submit(b, "k", item(2), {}, model.doubler());
  auto a2 = worker.call(a, [] { return 5; });
  EXPECT_EQ(worker.cancel_pending(a), 2u);
  // a does not wait for b's work: its futures are ready at once.
  EXPECT_EQ(a1.wait_for(0s), std::future_status::ready);
  EXPECT_THROW(a1.get(), RequestCancelled);
  EXPECT_THROW(a2.get(), RequestCancelled);
  gate.release();
  EXPECT_EQ(b1.get()[0].item<float>(), 4);
  EXPECT_EQ(worker.stats().cancelled, 2u);
}

TEST(ModelWorker, PrepareRunsOnTheWorkerAndAFailingOneFailsAlone) {
  FakeModel model;
  ModelWorker worker(BatchPolicy{4, 0ms});
  const ClientId client = worker.new_client();
  Gate gate(worker, client);
  std::thread::id prepared_on;
  auto good = worker.submit(client, "k", at::Tensor(), [&] {
    prepared_on = std::this_thread::get_id();
    return item(7);
  }, model.doubler());
  auto bad = worker.submit(client, "k", at::Tensor(), []() -> at::Tensor { throw Error("unreadable frame"); },
                           model.doubler());
  gate.release();
  EXPECT_EQ(good.get()[0].item<float>(), 14);
  EXPECT_THROW(bad.get(), Error);
  EXPECT_NE(prepared_on, std::this_thread::get_id());
  EXPECT_EQ(model.threads.count(prepared_on), 1u);
}

TEST(ModelWorker, ModelErrorsReachEveryItemOfTheBatch) {
  ModelWorker worker(BatchPolicy{2, 0ms});
  const ClientId client = worker.new_client();
  Gate gate(worker, client);
  BatchFunction failing = [](const at::Tensor&) -> BatchOutputs { throw Error("out of memory"); };
  auto one = worker.submit(client, "k", item(1), {}, failing);
  auto two = worker.submit(client, "k", item(2), {}, failing);
  gate.release();
  EXPECT_THROW(one.get(), Error);
  EXPECT_THROW(two.get(), Error);
  // The worker goes on after a failure.
  EXPECT_EQ(worker.call(client, [] { return 3; }).get(), 3);
}

// The blocker says when it runs (so `waiting` cannot have started), and is
// released only once the destructor has cancelled `waiting`: no sleep decides
// which of the two the worker reaches first.
TEST(ModelWorker, DestructionCancelsWhatHasNotStarted) {
  FakeModel model;
  std::future<BatchOutputs> waiting;
  std::promise<void> started, opened;
  std::thread releaser;
  {
    ModelWorker worker(BatchPolicy{1, 0ms});
    const ClientId client = worker.new_client();
    std::shared_future<void> open = opened.get_future().share();
    auto blocker = worker.call(client, [&started, open] {
      started.set_value();
      open.wait();
    });
    waiting = worker.submit(client, "k", item(1), {}, model.doubler());
    started.get_future().wait();
    // Bounded: a destructor that does not cancel lets `waiting` run after 30 s (and the test fail).
    releaser = std::thread([&] {
      waiting.wait_for(30s);
      opened.set_value();
    });
  }
  releaser.join();
  EXPECT_THROW(waiting.get(), RequestCancelled);
  EXPECT_TRUE(model.batch_sizes.empty());
}

TEST(ModelWorker, RejectsABadPolicyAndMalformedItems) {
  EXPECT_THROW(ModelWorker(BatchPolicy{0, 0ms}), Error);
  ModelWorker worker(BatchPolicy{1, 0ms});
  FakeModel model;
  EXPECT_THROW(worker.submit(1, "k", at::zeros({2, 1}), {}, model.doubler()), Error);
  EXPECT_THROW(worker.submit(1, "k", at::Tensor(), {}, model.doubler()), Error);
}

}  // namespace
}  // namespace dinoclip::runtime
