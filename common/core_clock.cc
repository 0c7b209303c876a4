#include "common/core_clock.h"

namespace tokenstore {
namespace {

class SteadyClock final : public CoreClock {
 public:
  Clock::time_point now() const override { return Clock::now(); }
};

}  // namespace

const CoreClock& CoreClock::Real() {
  static const SteadyClock clock;
  return clock;
}

}  // namespace tokenstore
