// The TLS options every program shares: --tls-ca, --tls-cert, --tls-key (proto/security.h).
//
// Thread-safety: pure functions.
#pragma once

#include <CLI/CLI.hpp>

#include "proto/security.h"

namespace tokenstore {

inline void AddTlsOptions(CLI::App& app, TlsFiles& files) {
  const char* group = "Mutual TLS (all three, or none for plaintext)";
  app.add_option("--tls-ca", files.ca, "PEM certificate of the cluster CA")->group(group);
  app.add_option("--tls-cert", files.cert, "PEM certificate of this process")->group(group);
  app.add_option("--tls-key", files.key, "PEM private key of that certificate")->group(group);
}

}  // namespace tokenstore
