// Who may call what on a replica, when it runs with mutual TLS (proto/security.h):
//
//   TokenService   (write, read, create, drop)   any certificate the cluster CA issued
//   ReplicaService (GetRegister, Store)          only a node of the replication scheme that
//                                                keeps the token the call is about
//   AdminService   (crash, revive, dump)         only an admin certificate
//
// Without TLS every call is allowed (plaintext is for local demos; token-replica warns).
// The decisions are pure functions of the caller's identity and the configuration, so they
// are unit tested without a server; the services pass PeerIdentityOf(auth context).
//
// Thread-safety: immutable after construction.
#pragma once

#include <optional>
#include <string_view>

#include "common/status.h"
#include "config/cluster_config.h"
#include "proto/security.h"

namespace tokenstore {

class Authorizer {
 public:
  // `enforce`: the server runs with TLS.
  Authorizer(const ClusterConfig& config, bool enforce) : config_(config), enforce_(enforce) {}

  bool enforced() const { return enforce_; }

  Status AllowClient(const std::optional<PeerIdentity>& caller) const;
  Status AllowPeer(const std::optional<PeerIdentity>& caller, std::string_view token) const;
  Status AllowAdmin(const std::optional<PeerIdentity>& caller) const;

 private:
  const ClusterConfig& config_;
  const bool enforce_;
};

}  // namespace tokenstore
