#include "auth/secret_box.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace mamori::auth {

namespace {

std::string ToBase64(const unsigned char* data, size_t n, int variant) {
  std::string out(sodium_base64_encoded_len(n, variant), '\0');
  sodium_bin2base64(out.data(), out.size(), data, n, variant);
  out.resize(std::strlen(out.c_str()));
  return out;
}

}  // namespace

SecretBox SecretBox::FromBytes(std::string_view key32) {
  SecretBox b;
  b.key_.assign(key32.substr(0, crypto_secretbox_KEYBYTES));
  b.key_.resize(crypto_secretbox_KEYBYTES, '\0');
  return b;
}

Result<SecretBox> SecretBox::LoadOrCreate(const std::string& path) {
  if (sodium_init() < 0) return Error::Internal("libsodium init failed");
  std::string key(crypto_secretbox_KEYBYTES, '\0');
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    const ssize_t n = ::read(fd, key.data(), key.size());
    ::close(fd);
    if (n != static_cast<ssize_t>(key.size())) {
      return Error::Unavailable("鍵ファイルが壊れています: " + path, "bad key file " + path);
    }
    return FromBytes(key);
  }
  if (errno != ENOENT) {
    return Error::Unavailable("鍵ファイルを読めません: " + path, "cannot read key file " + path);
  }
  randombytes_buf(key.data(), key.size());
  fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Error::Unavailable("鍵ファイルを作成できません: " + path,
                              "cannot create key file " + path);
  }
  const ssize_t n = ::write(fd, key.data(), key.size());
  const int synced = ::fsync(fd);
  ::close(fd);
  if (n != static_cast<ssize_t>(key.size()) || synced != 0) {
    ::unlink(path.c_str());
    return Error::Unavailable("鍵ファイルを書き込めません: " + path,
                              "cannot write key file " + path);
  }
  return FromBytes(key);
}

std::string SecretBox::Seal(std::string_view plain) const {
  std::string buf(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plain.size(), '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(buf.data());
  randombytes_buf(nonce, crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(nonce + crypto_secretbox_NONCEBYTES,
                        reinterpret_cast<const unsigned char*>(plain.data()), plain.size(), nonce,
                        reinterpret_cast<const unsigned char*>(key_.data()));
  return ToBase64(nonce, buf.size(), sodium_base64_VARIANT_ORIGINAL);
}

Result<std::string> SecretBox::Open(std::string_view sealed) const {
  std::string bin(sealed.size(), '\0');
  size_t len = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(bin.data()), bin.size(), sealed.data(),
                        sealed.size(), nullptr, &len, nullptr,
                        sodium_base64_VARIANT_ORIGINAL) != 0 ||
      len < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) {
    return Error::Invalid("暗号化された値が壊れています。", "malformed sealed value");
  }
  const auto* nonce = reinterpret_cast<const unsigned char*>(bin.data());
  std::string plain(len - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES, '\0');
  if (crypto_secretbox_open_easy(reinterpret_cast<unsigned char*>(plain.data()),
                                 nonce + crypto_secretbox_NONCEBYTES,
                                 len - crypto_secretbox_NONCEBYTES, nonce,
                                 reinterpret_cast<const unsigned char*>(key_.data())) != 0) {
    return Error::Invalid("暗号化された値を復号できません(鍵が違います)。",
                          "cannot open sealed value (wrong key?)");
  }
  return plain;
}

std::string SecretBox::Mac(std::string_view data) const {
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(key_.data()),
                              key_.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(data.data()),
                                data.size());
  crypto_auth_hmacsha256_final(&st, mac);
  return ToBase64(mac, sizeof mac, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

}  // namespace mamori::auth
