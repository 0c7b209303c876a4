#include "bench/zipf.h"

#include <cmath>

namespace tokenstore::bench {
namespace {

double Zeta(uint64_t n, double theta) {
  double sum = 0;
  for (uint64_t i = 1; i <= n; ++i) sum += 1.0 / std::pow(static_cast<double>(i), theta);
  return sum;
}

}  // namespace

ZipfianChooser::ZipfianChooser(uint64_t n, double theta)
    : n_(n), theta_(theta), alpha_(1.0 / (1.0 - theta)), zetan_(Zeta(n, theta)) {
  const double zeta2 = Zeta(2, theta);
  eta_ = (1.0 - std::pow(2.0 / static_cast<double>(n), 1.0 - theta)) / (1.0 - zeta2 / zetan_);
}

uint64_t ZipfianChooser::NextRank(std::mt19937_64& rng) const {
  const double u = std::uniform_real_distribution<double>(0, 1)(rng);
  const double uz = u * zetan_;
  if (uz < 1.0 || n_ == 1) return 0;
  if (uz < 1.0 + std::pow(0.5, theta_)) return 1;
  const auto rank = static_cast<uint64_t>(static_cast<double>(n_) *
                                          std::pow(eta_ * u - eta_ + 1.0, alpha_));
  return rank < n_ ? rank : n_ - 1;
}

uint64_t ZipfianChooser::Scramble(uint64_t rank) const {
  // FNV-1a over the rank's 8 bytes, as YCSB's ScrambledZipfianGenerator does.
  uint64_t h = 14695981039346656037ull;
  for (int i = 0; i < 8; ++i) {
    h ^= (rank >> (8 * i)) & 0xff;
    h *= 1099511628211ull;
  }
  return h % n_;
}

}  // namespace tokenstore::bench
