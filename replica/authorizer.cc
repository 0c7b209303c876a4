#include "replica/authorizer.h"

#include "common/token_value.h"

namespace tokenstore {
namespace {

Status Unauthenticated() {
  return Status::Unauthenticated(
      "the caller presented no certificate with a tokenstore identity (node:, admin: or "
      "client: common name)");
}

}  // namespace

Status Authorizer::AllowClient(const std::optional<PeerIdentity>& caller) const {
  if (!enforce_) return Status::Ok();
  return caller ? Status::Ok() : Unauthenticated();
}

Status Authorizer::AllowPeer(const std::optional<PeerIdentity>& caller,
                             std::string_view token) const {
  if (!enforce_) return Status::Ok();
  if (!caller) return Unauthenticated();
  if (caller->role != PeerRole::kNode) {
    return Status::PermissionDenied(caller->ToString() +
                                    " may not call the replica-to-replica service; only nodes of "
                                    "the replication scheme may");
  }
  const std::optional<TokenReplication> t = config_.Find(token);
  if (!t || t->RoleOf(caller->name) == Role::kNone) {
    return Status::PermissionDenied(caller->ToString() + " is not a replica of token \"" +
                                    std::string(token.substr(0, kMaxTokenIdBytes)) + "\" in " +
                                    config_.source);
  }
  return Status::Ok();
}

Status Authorizer::AllowAdmin(const std::optional<PeerIdentity>& caller) const {
  if (!enforce_) return Status::Ok();
  if (!caller) return Unauthenticated();
  if (caller->role != PeerRole::kAdmin) {
    return Status::PermissionDenied(caller->ToString() +
                                    " may not call the admin service; it needs a certificate "
                                    "whose common name is admin:<name>");
  }
  return Status::Ok();
}

}  // namespace tokenstore
