// Transport security of a process, and who is at the other end of a call.
//
// Every program talks to replicas either in plaintext (local demos; a warning says so) or
// with mutual TLS: each process has its own certificate and key, issued by the cluster's CA,
// and accepts only peers whose certificate that CA issued. The certificate's common name
// says what the holder is:
//
//   node:<ip>:<port>   a replica, at its access point as the replication scheme names it
//   admin:<name>       an operator; may call the AdminService (crash, revive, dump)
//   client:<name>      a client; may read and write
//
// A node certificate also carries the DNS name NodeDnsName(access point) (and the node's IP).
// A channel to a node asks the server for exactly that name, so a server that answers at a
// node's address with another node's certificate is refused — even on loopback, where every
// node shares the IP. scripts/gen-certs.sh makes such certificates.
//
// Thread-safety: Security is an immutable value, safe to share and copy.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace tokenstore {

// The PEM files of one process. All three or none.
struct TlsFiles {
  std::string ca;    // the cluster CA's certificate: peers must be issued by it
  std::string cert;  // this process's certificate
  std::string key;   // its private key
  bool any() const { return !ca.empty() || !cert.empty() || !key.empty(); }
};

enum class PeerRole { kNode, kAdmin, kClient };

struct PeerIdentity {
  PeerRole role = PeerRole::kClient;
  std::string name;  // for a node: its access point
  std::string ToString() const;  // the common name, "node:127.0.0.1:50051"
  friend bool operator==(const PeerIdentity&, const PeerIdentity&) = default;
};

// Parses a certificate common name; nullopt when it is none of the three forms.
std::optional<PeerIdentity> ParsePeerIdentity(std::string_view common_name);

// The identity of a call's peer from its TLS auth context; nullopt when the call is not over
// TLS or the certificate's common name is not one of the forms above.
std::optional<PeerIdentity> PeerIdentityOf(const grpc::AuthContext& auth);

// The DNS name a node's certificate carries: the access point with '.' and ':' as '-' (and
// IPv6 brackets dropped), under "node.tokenstore": "127-0-0-1-50051.node.tokenstore".
std::string NodeDnsName(std::string_view access_point);

class Security {
 public:
  // Plaintext.
  Security() = default;

  // Mutual TLS from the three files, or plaintext when none is given; blocks only to read
  // them. An error (INVALID_ARGUMENT) names the file and what is wrong with it (one missing,
  // unreadable, not PEM, key does not match the certificate, not issued by the CA, unknown
  // common name).
  static StatusOr<Security> FromFiles(const TlsFiles& files);

  bool tls() const { return tls_ != nullptr; }
  // This process's own identity (from its certificate); nullopt in plaintext.
  std::optional<PeerIdentity> identity() const;

  std::shared_ptr<grpc::ServerCredentials> ServerCredentials() const;
  // A channel to the replica at `node` ("ip:port"), with the project's reconnect backoff;
  // over TLS it accepts only a server certificate for that node.
  std::shared_ptr<grpc::Channel> NewNodeChannel(const std::string& node) const;

 private:
  struct Material {
    std::string ca_pem, cert_pem, key_pem;
    PeerIdentity identity;
  };
  std::shared_ptr<const Material> tls_;
};

}  // namespace tokenstore
