#include "proto/security.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <tuple>

#include "proto/channel.h"

namespace tokenstore {
namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using StorePtr = std::unique_ptr<X509_STORE, Deleter<X509_STORE, X509_STORE_free>>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX, X509_STORE_CTX_free>>;

std::string OpenSslError() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "no details";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

StatusOr<std::string> ReadFile(const char* flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::InvalidArgument(std::string(flag) + " " + path +
                                   ": cannot read: " + std::strerror(errno));
  }
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

BioPtr MemBio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

std::string CommonNameOf(X509* cert) {
  char cn[512] = {0};
  const int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn,
                                          sizeof cn);
  return n < 0 ? std::string() : std::string(cn, static_cast<size_t>(n));
}

}  // namespace

std::string PeerIdentity::ToString() const {
  switch (role) {
    case PeerRole::kNode: return "node:" + name;
    case PeerRole::kAdmin: return "admin:" + name;
    case PeerRole::kClient: return "client:" + name;
  }
  return name;
}

std::optional<PeerIdentity> ParsePeerIdentity(std::string_view cn) {
  struct Prefix {
    std::string_view text;
    PeerRole role;
  };
  for (const Prefix& p : {Prefix{"node:", PeerRole::kNode}, Prefix{"admin:", PeerRole::kAdmin},
                          Prefix{"client:", PeerRole::kClient}}) {
    if (cn.size() > p.text.size() && cn.substr(0, p.text.size()) == p.text) {
      return PeerIdentity{p.role, std::string(cn.substr(p.text.size()))};
    }
  }
  return std::nullopt;
}

std::optional<PeerIdentity> PeerIdentityOf(const grpc::AuthContext& auth) {
  if (!auth.IsPeerAuthenticated()) return std::nullopt;
  std::vector<grpc::string_ref> cn = auth.FindPropertyValues(GRPC_X509_CN_PROPERTY_NAME);
  if (cn.size() != 1) return std::nullopt;
  return ParsePeerIdentity(std::string_view(cn[0].data(), cn[0].size()));
}

std::string NodeDnsName(std::string_view access_point) {
  std::string out;
  for (char c : access_point) {
    if (c == '[' || c == ']') continue;
    out += (c == '.' || c == ':') ? '-' : c;
  }
  return out + ".node.tokenstore";
}

StatusOr<Security> Security::FromFiles(const TlsFiles& files) {
  if (!files.any()) return Security();
  std::string missing;
  for (const auto& [flag, value] : {std::pair{"--tls-ca", &files.ca},
                                    std::pair{"--tls-cert", &files.cert},
                                    std::pair{"--tls-key", &files.key}}) {
    if (value->empty()) missing += (missing.empty() ? "" : ", ") + std::string(flag);
  }
  if (!missing.empty()) {
    return Status::InvalidArgument(
        "--tls-ca, --tls-cert and --tls-key go together (missing: " + missing +
        "); scripts/gen-certs.sh makes a CA and certificates");
  }
  auto material = std::make_shared<Material>();
  for (const auto& [flag, path, pem] : {std::tuple{"--tls-ca", &files.ca, &material->ca_pem},
                                        std::tuple{"--tls-cert", &files.cert, &material->cert_pem},
                                        std::tuple{"--tls-key", &files.key, &material->key_pem}}) {
    StatusOr<std::string> text = ReadFile(flag, *path);
    if (!text.ok()) return text.status();
    *pem = std::move(text).value();
  }

  ERR_clear_error();
  X509Ptr cert(PEM_read_bio_X509(MemBio(material->cert_pem).get(), nullptr, nullptr, nullptr));
  if (!cert) {
    return Status::InvalidArgument("--tls-cert " + files.cert +
                                   ": not a PEM certificate (" + OpenSslError() + ")");
  }
  KeyPtr key(PEM_read_bio_PrivateKey(MemBio(material->key_pem).get(), nullptr, nullptr,
                                     nullptr));
  if (!key) {
    return Status::InvalidArgument("--tls-key " + files.key +
                                   ": not a PEM private key (or it is encrypted) (" +
                                   OpenSslError() + ")");
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return Status::InvalidArgument("--tls-key " + files.key +
                                   " is not the key of the certificate in --tls-cert " +
                                   files.cert);
  }

  // The CA file may hold several certificates (a bundle); the certificate must chain to one.
  StorePtr store(X509_STORE_new());
  BioPtr ca_bio = MemBio(material->ca_pem);
  int cas = 0;
  while (X509Ptr ca{PEM_read_bio_X509(ca_bio.get(), nullptr, nullptr, nullptr)}) {
    X509_STORE_add_cert(store.get(), ca.get());
    ++cas;
  }
  ERR_clear_error();
  if (cas == 0) {
    return Status::InvalidArgument("--tls-ca " + files.ca + ": no PEM certificate in it");
  }
  StoreCtxPtr verify(X509_STORE_CTX_new());
  X509_STORE_CTX_init(verify.get(), store.get(), cert.get(), nullptr);
  if (X509_verify_cert(verify.get()) != 1) {
    const int err = X509_STORE_CTX_get_error(verify.get());
    ERR_clear_error();
    return Status::InvalidArgument("--tls-cert " + files.cert +
                                   " was not issued by the CA in --tls-ca " + files.ca + " (" +
                                   X509_verify_cert_error_string(err) + ")");
  }

  const std::string cn = CommonNameOf(cert.get());
  std::optional<PeerIdentity> identity = ParsePeerIdentity(cn);
  if (!identity) {
    return Status::InvalidArgument(
        "--tls-cert " + files.cert + ": common name \"" + cn +
        "\" is none of node:<ip>:<port>, admin:<name>, client:<name>");
  }
  material->identity = *identity;

  Security security;
  security.tls_ = std::move(material);
  return security;
}

std::optional<PeerIdentity> Security::identity() const {
  if (!tls_) return std::nullopt;
  return tls_->identity;
}

std::shared_ptr<grpc::ServerCredentials> Security::ServerCredentials() const {
  if (!tls_) return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions options(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = tls_->ca_pem;
  options.pem_key_cert_pairs.push_back({tls_->key_pem, tls_->cert_pem});
  return grpc::SslServerCredentials(options);
}

std::shared_ptr<grpc::Channel> Security::NewNodeChannel(const std::string& node) const {
  grpc::ChannelArguments args = StandardChannelArguments();
  if (!tls_) return grpc::CreateCustomChannel(node, grpc::InsecureChannelCredentials(), args);
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = tls_->ca_pem;
  options.pem_private_key = tls_->key_pem;
  options.pem_cert_chain = tls_->cert_pem;
  args.SetSslTargetNameOverride(NodeDnsName(node));
  return grpc::CreateCustomChannel(node, grpc::SslCredentials(options), args);
}

}  // namespace tokenstore
