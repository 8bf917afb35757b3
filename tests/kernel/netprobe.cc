// netprobe: sends and observes real IPv4 first packets for the kernel test of netcheck
// (tests/kernel/netcheck_kernel.test.mjs). Linux only; needs CAP_NET_RAW (the test runs as root
// inside network namespaces).
//
//   netprobe send     reads probes from stdin, one per line:
//                       NETNS ID SRC DST PROTO SPORT DPORT ICMP_TYPE
//                     and sends each from network namespace NETNS (a name under /run/netns,
//                     or "-" for the current one) as one raw IPv4 packet (IP_HDRINCL) with that
//                     source address (spoofed: the host needs no address), IP identification ID
//                     (1..65535; the tag that finds the packet again after NAT) and TTL 64:
//                     tcp: a bare SYN (the first packet of a new connection); udp: a datagram;
//                     icmp: type ICMP_TYPE, code 0, echo identifier ID; other protocols: 8 zero
//                     bytes of payload. Checksums are correct (conntrack drops bad ones as
//                     INVALID). Prints "sent N" at the end.
//   netprobe sniff NETNS:IFACE...
//                     prints "ready" once an AF_PACKET socket listens on each IFACE (in its
//                     namespace), then one line
//                       NETNS ID SRC DST PROTO SPORT DPORT ICMP_TYPE
//                     for every IPv4 packet that arrives on one of them (not those sent from
//                     it), as seen on the wire: after any NAT on the way. Stops, after reading
//                     what is queued, when stdin reaches end of file.
//   netprobe flush [NETNS]
//                     empties the connection tracking table of the namespace (what
//                     `conntrack -F` does, over ctnetlink), so that the next probes meet no
//                     connection an earlier probe opened.
//
// One process serves every namespace (setns), so a round of probes costs two processes.
//
// A packet that reaches the sniffer's interface was delivered by the firewall: the sniffer sees
// it before the host's own IP stack (which drops it: the destination is not local), so the
// return path plays no part.
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

constexpr uint8_t kIcmp = 1;
constexpr uint8_t kTcp = 6;
constexpr uint8_t kUdp = 17;

int Fail(const std::string& what) {
  std::fprintf(stderr, "netprobe: %s: %s\n", what.c_str(), std::strerror(errno));
  return 1;
}

// Moves this process into network namespace `name` (/run/netns/NAME); "-" stays.
bool Enter(const std::string& name) {
  if (name == "-") return true;
  const int fd = open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = setns(fd, CLONE_NEWNET) == 0;
  close(fd);
  return ok;
}

uint32_t Sum(const uint8_t* p, size_t n, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += (uint32_t{p[i]} << 8) | p[i + 1];
  if (n % 2 != 0) sum += uint32_t{p[n - 1]} << 8;
  return sum;
}

uint16_t Fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum & 0xffff);
}

void Put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

void Put32(uint8_t* p, uint32_t v) {
  Put16(p, static_cast<uint16_t>(v >> 16));
  Put16(p + 2, static_cast<uint16_t>(v));
}

uint16_t Get16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

struct Probe {
  unsigned id = 0;
  uint32_t src = 0;  // host order
  uint32_t dst = 0;
  unsigned proto = 0;
  unsigned sport = 0;
  unsigned dport = 0;
  unsigned icmp_type = 0;
};

bool ParseProbe(const std::string& line, std::string& netns, Probe& p) {
  std::istringstream in(line);
  std::string src;
  std::string dst;
  if (!(in >> netns >> p.id >> src >> dst >> p.proto >> p.sport >> p.dport >> p.icmp_type)) {
    return false;
  }
  in_addr a{};
  in_addr b{};
  if (inet_pton(AF_INET, src.c_str(), &a) != 1 || inet_pton(AF_INET, dst.c_str(), &b) != 1) {
    return false;
  }
  p.src = ntohl(a.s_addr);
  p.dst = ntohl(b.s_addr);
  return p.id >= 1 && p.id <= 65535 && p.proto <= 255 && p.sport <= 65535 && p.dport <= 65535 &&
         p.icmp_type <= 255;
}

// The IPv4 packet for `p`.
std::vector<uint8_t> Build(const Probe& p) {
  std::vector<uint8_t> l4;
  if (p.proto == kTcp) {
    l4.assign(20, 0);
    Put16(&l4[0], static_cast<uint16_t>(p.sport));
    Put16(&l4[2], static_cast<uint16_t>(p.dport));
    Put32(&l4[4], 0x4d414d00u + p.id);  // sequence number
    l4[12] = 5 << 4;                    // data offset: 5 words, no options
    l4[13] = 0x02;                      // SYN
    Put16(&l4[14], 64240);              // window
  } else if (p.proto == kUdp) {
    l4.assign(16, 0);
    Put16(&l4[0], static_cast<uint16_t>(p.sport));
    Put16(&l4[2], static_cast<uint16_t>(p.dport));
    Put16(&l4[4], static_cast<uint16_t>(l4.size()));
    std::memcpy(&l4[8], "mamori\0\0", 8);
  } else if (p.proto == kIcmp) {
    l4.assign(16, 0);
    l4[0] = static_cast<uint8_t>(p.icmp_type);
    Put16(&l4[4], static_cast<uint16_t>(p.id));  // echo identifier (a distinct conntrack tuple)
    Put16(&l4[6], 1);                            // sequence
    std::memcpy(&l4[8], "mamori\0\0", 8);
  } else {
    l4.assign(8, 0);
  }
  if (p.proto == kTcp || p.proto == kUdp) {
    // Pseudo header: source, destination, zero, protocol, length.
    std::array<uint8_t, 12> pseudo{};
    Put32(&pseudo[0], p.src);
    Put32(&pseudo[4], p.dst);
    pseudo[9] = static_cast<uint8_t>(p.proto);
    Put16(&pseudo[10], static_cast<uint16_t>(l4.size()));
    uint16_t sum = Fold(Sum(l4.data(), l4.size(), Sum(pseudo.data(), pseudo.size())));
    if (p.proto == kUdp && sum == 0) sum = 0xffff;
    Put16(&l4[p.proto == kTcp ? 16 : 6], sum);
  } else if (p.proto == kIcmp) {
    Put16(&l4[2], Fold(Sum(l4.data(), l4.size())));
  }
  std::vector<uint8_t> packet(20 + l4.size(), 0);
  packet[0] = 0x45;
  Put16(&packet[2], static_cast<uint16_t>(packet.size()));
  Put16(&packet[4], static_cast<uint16_t>(p.id));
  packet[8] = 64;  // TTL
  packet[9] = static_cast<uint8_t>(p.proto);
  Put32(&packet[12], p.src);
  Put32(&packet[16], p.dst);
  Put16(&packet[10], Fold(Sum(packet.data(), 20)));
  std::memcpy(&packet[20], l4.data(), l4.size());
  return packet;
}

int Send() {
  std::map<std::string, int> sockets;  // one raw socket per namespace
  std::string line;
  size_t sent = 0;
  size_t number = 0;
  while (std::getline(std::cin, line)) {
    ++number;
    if (line.empty()) continue;
    std::string netns;
    Probe p;
    if (!ParseProbe(line, netns, p)) {
      std::fprintf(stderr, "netprobe: stdin:%zu: cannot read the probe \"%s\"\n", number,
                   line.c_str());
      return 2;
    }
    int& fd = sockets[netns];
    if (fd == 0) {
      if (!Enter(netns)) return Fail("network namespace " + netns);
      fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);  // IPPROTO_RAW implies IP_HDRINCL
      if (fd < 0) return Fail("socket(AF_INET, SOCK_RAW) in " + netns);
    }
    const std::vector<uint8_t> packet = Build(p);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(p.dst);
    if (sendto(fd, packet.data(), packet.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) <
        0) {
      return Fail("sendto (probe " + std::to_string(p.id) + ")");
    }
    ++sent;
    // Stay far below the receive backlog (netdev_max_backlog, 1000 by default).
    if (sent % 64 == 0) usleep(1000);
  }
  for (const auto& [netns, fd] : sockets) close(fd);
  std::printf("sent %zu\n", sent);
  return 0;
}

void Print(const std::string& netns, const uint8_t* ip, size_t n) {
  if (n < 20 || (ip[0] >> 4) != 4) return;
  const size_t ihl = size_t{ip[0] & 0x0fu} * 4;
  if (ihl < 20 || n < ihl) return;
  const unsigned proto = ip[9];
  const uint8_t* l4 = ip + ihl;
  const size_t l4n = n - ihl;
  unsigned sport = 0;
  unsigned dport = 0;
  unsigned icmp_type = 0;
  if ((proto == kTcp || proto == kUdp) && l4n >= 4) {
    sport = Get16(l4);
    dport = Get16(l4 + 2);
  } else if (proto == kIcmp && l4n >= 1) {
    icmp_type = l4[0];
  }
  char src[INET_ADDRSTRLEN];
  char dst[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, ip + 12, src, sizeof src);
  inet_ntop(AF_INET, ip + 16, dst, sizeof dst);
  std::printf("%s %u %s %s %u %u %u %u\n", netns.c_str(), unsigned{Get16(ip + 4)}, src, dst, proto,
              sport, dport, icmp_type);
}

int Sniff(const std::vector<std::string>& listeners) {
  std::vector<pollfd> fds;
  std::vector<std::string> names;
  for (const std::string& listener : listeners) {
    const size_t colon = listener.find(':');
    const std::string netns = listener.substr(0, colon);
    const std::string iface = colon == std::string::npos ? "" : listener.substr(colon + 1);
    if (!Enter(netns)) return Fail("network namespace " + netns);
    const int fd = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP));
    if (fd < 0) return Fail("socket(AF_PACKET)");
    const int size = 8 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
    sockaddr_ll addr{};
    addr.sll_family = AF_PACKET;
    addr.sll_protocol = htons(ETH_P_IP);
    addr.sll_ifindex = static_cast<int>(if_nametoindex(iface.c_str()));
    if (addr.sll_ifindex == 0) return Fail("interface " + listener);
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0) return Fail("bind");
    fds.push_back({fd, POLLIN, 0});
    names.push_back(netns);
  }
  fds.push_back({0, POLLIN, 0});  // stdin, last
  std::printf("ready\n");
  std::fflush(stdout);
  std::array<uint8_t, 65536> buffer{};
  bool input_open = true;
  while (true) {
    const nfds_t count = input_open ? fds.size() : fds.size() - 1;
    const int n = poll(fds.data(), count, input_open ? -1 : 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Fail("poll");
    }
    if (n == 0) break;  // stdin closed and nothing left queued
    for (size_t i = 0; i + 1 < fds.size(); ++i) {
      if (!(fds[i].revents & POLLIN)) continue;
      sockaddr_ll from{};
      socklen_t len = sizeof from;
      const ssize_t got = recvfrom(fds[i].fd, buffer.data(), buffer.size(), MSG_DONTWAIT,
                                   reinterpret_cast<sockaddr*>(&from), &len);
      if (got < 0) {
        if (errno == EAGAIN || errno == EINTR) continue;
        return Fail("recvfrom");
      }
      if (from.sll_pkttype != PACKET_OUTGOING) {
        Print(names[i], buffer.data(), static_cast<size_t>(got));
      }
    }
    if (input_open && (fds.back().revents & (POLLIN | POLLHUP))) {
      char c;
      if (read(0, &c, 1) <= 0) input_open = false;
    }
  }
  std::fflush(stdout);
  for (size_t i = 0; i + 1 < fds.size(); ++i) close(fds[i].fd);
  return 0;
}

int Flush() {
  const int fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER);
  if (fd < 0) return Fail("socket(AF_NETLINK)");
  struct {
    nlmsghdr header;
    nfgenmsg body;
  } request{};
  request.header.nlmsg_len = sizeof request;
  request.header.nlmsg_type = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE;
  request.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  request.header.nlmsg_seq = 1;
  request.body.nfgen_family = AF_INET;
  request.body.version = NFNETLINK_V0;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (sendto(fd, &request, sizeof request, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) <
      0) {
    return Fail("netlink sendto");
  }
  std::array<char, 4096> answer{};
  const ssize_t got = recv(fd, answer.data(), answer.size(), 0);
  if (got < static_cast<ssize_t>(sizeof(nlmsghdr) + sizeof(nlmsgerr))) return Fail("netlink recv");
  const auto* header = reinterpret_cast<const nlmsghdr*>(answer.data());
  const auto* error = reinterpret_cast<const nlmsgerr*>(NLMSG_DATA(header));
  close(fd);
  if (header->nlmsg_type != NLMSG_ERROR || error->error != 0) {
    errno = header->nlmsg_type == NLMSG_ERROR ? -error->error : EPROTO;
    return Fail("conntrack flush");
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "send" && argc == 2) return Send();
  if (mode == "sniff" && argc >= 3) return Sniff(std::vector<std::string>(argv + 2, argv + argc));
  if (mode == "flush" && argc <= 3) {
    if (argc == 3 && !Enter(argv[2])) return Fail(std::string("network namespace ") + argv[2]);
    return Flush();
  }
  std::fprintf(stderr,
               "usage: netprobe send < probes | netprobe sniff NETNS:IFACE... | "
               "netprobe flush [NETNS]\n");
  return 2;
}
