#include "netsep/engine.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "netsep/asa.h"
#include "netsep/evaluator.h"
#include "netsep/fortigate.h"
#include "netsep/ipset.h"
#include "netsep/iptables.h"
#include "netsep/nftables.h"
#include "netsep/shadow.h"

#include "common/text.h"

namespace mamori::netsep {
namespace {

// ICMP types that conntrack lets open a connection (state NEW): echo, timestamp, information and
// address mask requests. Replies and errors never do (INVALID, or RELATED to an existing one).
constexpr std::array<uint64_t, 4> kIcmpNewTypes = {8, 13, 15, 17};
// Base chains on prerouting below this priority (raw, -300) run before conntrack (-200): no
// connection is attached yet, and conntrack matches see the state INVALID.
constexpr int kConntrackPriority = -200;

// Which fields hold their copy as sent (space.h): a field's copy is filled in the first time NAT
// rewrites it; until then the field itself is as sent and the copy is left free.
struct Saved {
  bool src = false;  // Field::kSentSrc holds the source address as sent
  bool dst = false;  // Field::kSentDst and kSentDport hold the destination as sent
};

// One way through a device: the packets on it (as they are now), and how they got there.
struct Branch {
  Set current;
  Saved saved;
  const Rule* dnat = nullptr;  // this device's DNAT (each device has its own connection table)
  std::vector<PathStep> steps;
  bool src_nat = false;  // a SNAT or MASQUERADE rule in a nat POSTROUTING chain took them
};

// Whether `base` runs for the packets of `branch`. The kernel runs the nat chains of one hook in
// priority order only until one of them sets up the connection's NAT binding (nf_nat_inet_fn):
// after a DNAT (or SNAT), the later nat chains on that hook never see the connection.
bool RunsFor(const BaseChain& base, const Branch& branch) {
  if (base.type != ChainType::kNat) return true;
  if (base.hook == Hook::kPrerouting) return branch.dnat == nullptr;
  if (base.hook == Hook::kPostrouting) return !branch.src_nat;
  return true;
}

std::string PathKey(const std::vector<PathStep>& steps) {
  std::string key;
  for (const PathStep& s : steps) key += Cat(s.device, "|", s.rule, "|", s.action, ";");
  return key;
}

// Packets of one source zone that have crossed some devices and are now in `zone`, on their way
// to a destination behind it.
struct Flow {
  size_t from = 0;
  size_t zone = 0;
  Set set;
  Saved saved;
  std::vector<PathStep> steps;
  std::vector<bool> devices_seen;  // a packet never enters a device twice
  std::vector<bool> zones_seen;    // nor a zone
};

// A leak, grouped by (from, to, path).
struct Leak {
  size_t from = 0;
  size_t to = 0;
  std::vector<PathStep> path;
  Set delivered;            // the source as sent, the destination as delivered (after DNAT)
  bool translated = false;  // a DNAT on the path: the sent fields hold the destination as sent
};

// What one accepting or DNAT rule lets through from one zone to another beyond the allow entries.
struct Broad {
  std::string rule;  // "file:line"
  Set packets;       // as Leak::delivered
  bool translated = false;
};
// By device, then rule location (file, line, detail; one entry for the model rules of one
// configuration line), then source and destination zone: the order of the report.
using BroadKey = std::tuple<size_t, std::string, uint32_t, std::string, size_t, size_t>;

// A computation run in a child process (fork) while this one goes on: the child works on a
// copy of this process's memory (the BDD node table included) and sends back its result as
// bytes through a pipe. The child never returns into the caller's code: it ends with _exit.
class ForkedWork {
 public:
  // Starts `work` in a child; nullptr when no child could be started.
  static std::unique_ptr<ForkedWork> Start(const std::function<std::string()>& work) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return nullptr;
    const pid_t parent = getpid();
    const pid_t pid = fork();
    if (pid < 0) {
      close(fds[0]);
      close(fds[1]);
      return nullptr;
    }
    if (pid == 0) {
      close(fds[0]);
      // The child dies with the parent instead of working on for nobody.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(1);
      // Nothing may unwind out of here into the caller's code (it would go on as a second
      // parent): any failure ends the child, and the parent does the work itself.
      bool written = false;
      try {
        written = WriteAll(fds[1], work());
      } catch (...) {
      }
      close(fds[1]);
      _exit(written ? 0 : 1);
    }
    close(fds[1]);
    return std::unique_ptr<ForkedWork>(new ForkedWork(pid, fds[0]));
  }

  ForkedWork(const ForkedWork&) = delete;
  ForkedWork& operator=(const ForkedWork&) = delete;
  ~ForkedWork() {
    if (pid_ > 0) {  // Finish() was not called: the result is not wanted
      kill(pid_, SIGKILL);
      Reap();
    }
    if (fd_ >= 0) close(fd_);
  }

  // Waits for the child and returns what it sent; nullopt when it failed (an exit code other
  // than 0, a signal, a read error).
  std::optional<std::string> Finish() {
    std::string bytes;
    char buffer[1 << 16];
    bool read_ok = true;
    for (;;) {
      const ssize_t n = read(fd_, buffer, sizeof buffer);
      if (n > 0) {
        bytes.append(buffer, static_cast<size_t>(n));
      } else if (n == 0) {
        break;
      } else if (errno != EINTR) {
        read_ok = false;
        break;
      }
    }
    close(fd_);
    fd_ = -1;
    const int status = Reap();
    if (!read_ok || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
    return bytes;
  }

 private:
  ForkedWork(pid_t pid, int fd) : pid_(pid), fd_(fd) {}

  static bool WriteAll(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = write(fd, bytes.data(), bytes.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // The child's wait status (-1 when it cannot be had).
  int Reap() {
    int status = -1;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return status;
  }

  pid_t pid_;
  int fd_;
};

// The shadowed-rule analysis's result as bytes, for ForkedWork: whether the BDD node limit was
// reached, then each rule's three strings, each with its length in front.
std::string EncodeShadowed(const std::vector<Shadowed>& shadowed, bool failed) {
  std::string out(1, failed ? '1' : '0');
  auto put = [&](const std::string& s) {
    const uint64_t size = s.size();
    out.append(reinterpret_cast<const char*>(&size), sizeof size);
    out += s;
  };
  for (const Shadowed& s : shadowed) {
    put(s.device);
    put(s.rule);
    put(s.by);
  }
  return out;
}

struct DecodedShadowed {
  std::vector<Shadowed> shadowed;
  bool failed = false;
};

// EncodeShadowed's bytes read back; nullopt when they are not whole.
std::optional<DecodedShadowed> DecodeShadowed(std::string_view bytes) {
  if (bytes.empty() || (bytes[0] != '0' && bytes[0] != '1')) return std::nullopt;
  DecodedShadowed out;
  out.failed = bytes[0] == '1';
  bytes.remove_prefix(1);
  auto get = [&](std::string& s) {
    uint64_t size = 0;
    if (bytes.size() < sizeof size) return false;
    std::memcpy(&size, bytes.data(), sizeof size);
    bytes.remove_prefix(sizeof size);
    if (bytes.size() < size) return false;
    s.assign(bytes.substr(0, size));
    bytes.remove_prefix(size);
    return true;
  };
  while (!bytes.empty()) {
    Shadowed s;
    if (!get(s.device) || !get(s.rule) || !get(s.by)) return std::nullopt;
    out.shadowed.push_back(std::move(s));
  }
  return out;
}

class Checker {
 public:
  // `memo`: how the evaluator keeps the rules' match sets (Evaluator::Memo).
  // `index_host_rules`: SpaceOptions::index_host_rules.
  Checker(const Topology& topology, const Space& space, Evaluator::Memo memo, bool index_host_rules)
      : topology_(topology),
        space_(space),
        eval_(space, memo,
              index_host_rules ? Evaluator::HostRules::kIndexed : Evaluator::HostRules::kGeneral),
        index_host_rules_(index_host_rules) {
    const Set l4 = eval_.l4();
    const Set no_ports = space_.Value(Field::kSport, 0) & space_.Value(Field::kDport, 0);
    const Set icmp = space_.Value(Field::kProto, kIcmp);
    Set icmp_new = space_.None();
    for (uint64_t type : kIcmpNewTypes) icmp_new |= space_.Value(Field::kIcmpType, type);
    valid_ = (l4 | no_ports) & ((icmp & icmp_new) | (~icmp & space_.Value(Field::kIcmpType, 0))) &
             Forwarded(Field::kSrc) & Forwarded(Field::kDst);
    for (const Zone& zone : topology.zones) {
      zone_src_.push_back(ZoneSet(Field::kSrc, zone) & Forwarded(Field::kSrc));
      zone_dst_.push_back(ZoneSet(Field::kDst, zone) & Forwarded(Field::kDst));
    }
    same_src_ = space_.Equal(Field::kSrc, Field::kSentSrc);
    same_dst_ =
        space_.Equal(Field::kDst, Field::kSentDst) & space_.Equal(Field::kDport, Field::kSentDport);
  }

  Result<Report> Run(const std::vector<Ruleset>& rulesets, ShadowWork shadow_work) {
    const size_t n = topology_.zones.size();
    reachable_.assign(n * n, space_.None());
    allowed_.assign(n * n, space_.None());
    beyond_.assign(n, space_.None());
    for (size_t a = 0; a < n; ++a) {
      Set within = zone_dst_[a];
      for (size_t b = 0; b < n; ++b) {
        if (a == b) continue;
        allowed_[a * n + b] = AllowedSet(a, b);
        within |= zone_dst_[b] & allowed_[a * n + b];
      }
      beyond_[a] = ~within;
    }
    for (const Device& device : topology_.devices) {
      const Ruleset* ruleset = nullptr;
      for (const Ruleset& r : rulesets) {
        if (r.device == device.name) ruleset = &r;
      }
      if (ruleset == nullptr) {
        return Error::Invalid(Cat("機器 ", device.name, " の設定がありません。"),
                              Cat("no configuration for device ", device.name, "."));
      }
      rulesets_.push_back(ruleset);
      for (const Unknown& u : ruleset->unknown) {
        unknown_.push_back({device.name, u.location.ToString(), u.construct});
      }
      ReportUnmappedInterfaces(device, *ruleset);
      std::vector<std::pair<std::string, size_t>> faces;
      for (const auto& [name, zone] : device.interfaces) faces.emplace_back(name, ZoneIndex(zone));
      faces_.push_back(std::move(faces));
    }
    ComputeRoutes();
    // The shadowed-rule analysis does not depend on the reachability check: with kForked it runs
    // beside it in a child process, on a copy of everything built so far.
    std::unique_ptr<ForkedWork> forked;
    if (shadow_work == ShadowWork::kForked) {
      forked = ForkedWork::Start([&] {
        // Each rule is walked once here: its match set is built and let go, not kept for later
        // passes, so that the node table holds only what the walk still needs.
        const Evaluator once(
            space_, Evaluator::Memo::kNone,
            index_host_rules_ ? Evaluator::HostRules::kIndexed : Evaluator::HostRules::kGeneral);
        std::vector<Shadowed> shadowed = FindAllShadowed(once);
        return EncodeShadowed(shadowed, space_.failed());
      });
    }
    for (size_t from = 0; from < n && !space_.failed(); ++from) MAMORI_TRY(Propagate(from));
    bool shadowed_found = false;
    if (forked != nullptr && !space_.failed()) {
      const std::optional<std::string> bytes = forked->Finish();
      std::optional<DecodedShadowed> decoded;
      if (bytes) decoded = DecodeShadowed(*bytes);
      if (decoded && decoded->failed) return TooLarge();
      if (decoded) {
        shadowed_ = std::move(decoded->shadowed);
        shadowed_found = true;
      }
    }
    if (!shadowed_found && !space_.failed()) shadowed_ = FindAllShadowed(eval_);
    if (space_.failed()) return TooLarge();
    return BuildReport();
  }

 private:
  static Error TooLarge() {
    return Error::TooLarge("検査に必要な BDD のノード数が上限を超えました。",
                           "the check needs more BDD nodes than the configured limit.");
  }

  // The shadowed rules of every device, in device order (empty once the BDD limit is reached).
  std::vector<Shadowed> FindAllShadowed(const Evaluator& eval) const {
    std::vector<Shadowed> out;
    for (size_t d = 0; d < topology_.devices.size() && !space_.failed(); ++d) {
      for (Shadowed& s : FindShadowed(eval, *rulesets_[d], topology_.devices[d].name)) {
        out.push_back(std::move(s));
      }
    }
    return out;
  }

  // Addresses a router forwards (RFC 1812 §5.3.7 as Linux applies it, found by the kernel test):
  // not 0.0.0.0, 127/8 or 255.255.255.255, and no multicast source. Multicast destinations stay
  // (multicast routing is not modelled; a multicast router forwards them).
  Set Forwarded(Field field) const {
    std::vector<Prefix> martians = {{0x00000000, 32}, {0x7f000000, 8}, {0xffffffff, 32}};
    if (field == Field::kSrc) martians.push_back({0xe0000000, 4});
    return ~space_.Prefixes(field, martians);
  }

  // Addresses whose longest matching network belongs to `zone`.
  Set ZoneSet(Field field, const Zone& zone) const {
    Set out = space_.None();
    for (const Prefix& network : zone.networks) {
      Set part = space_.Prefixes(field, {network});
      for (const Zone& other : topology_.zones) {
        if (&other == &zone) continue;
        for (const Prefix& inner : other.networks) {
          if (inner.length > network.length && network.Contains(inner.address)) {
            part -= space_.Prefixes(field, {inner});
          }
        }
      }
      out |= part;
    }
    return out;
  }

  size_t ZoneIndex(const std::string& name) const {
    for (size_t i = 0; i < topology_.zones.size(); ++i) {
      if (topology_.zones[i].name == name) return i;
    }
    return 0;  // the topology parser guarantees the zone exists
  }

  void ReportUnmappedInterfaces(const Device& device, const Ruleset& ruleset) {
    std::set<std::pair<std::string, std::string>> seen;
    for (const Table& table : ruleset.tables) {
      for (const Chain& chain : table.chains) {
        for (const Rule& rule : chain.rules) {
          for (const Match& m : rule.matches) {
            for (const std::string& name : m.interfaces) {
              if (name.empty() || name.back() == '+' || device.interfaces.count(name) > 0) {
                continue;
              }
              if (seen.emplace(name, rule.location.ToString()).second) {
                unknown_.push_back({device.name, rule.location.ToString(),
                                    Cat("interface ", name, " is not in the topology")});
              }
            }
          }
        }
      }
    }
  }

  // The routing assumption (engine.h): device d sends a packet out of an interface facing zone
  // y when its destination lies in y, or in a zone reachable from y through other devices.
  void ComputeRoutes() {
    const size_t n = topology_.zones.size();
    const size_t devices = topology_.devices.size();
    route_.assign(devices, std::vector<Set>(n, space_.None()));
    for (size_t d = 0; d < devices; ++d) {
      for (const auto& [name, y] : faces_[d]) {
        std::vector<bool> reached(n, false);
        std::vector<size_t> todo = {y};
        reached[y] = true;
        while (!todo.empty()) {
          const size_t z = todo.back();
          todo.pop_back();
          for (size_t e = 0; e < devices; ++e) {
            if (e == d || !Faces(e, z)) continue;
            for (const auto& [other_name, w] : faces_[e]) {
              if (!reached[w]) {
                reached[w] = true;
                todo.push_back(w);
              }
            }
          }
        }
        Set route = space_.None();
        for (size_t b = 0; b < n; ++b) {
          if (reached[b]) route |= zone_dst_[b];
        }
        route_[d][y] = route;
      }
    }
  }

  bool Faces(size_t device, size_t zone) const {
    for (const auto& [name, z] : faces_[device]) {
      if (z == zone) return true;
    }
    return false;
  }

  // The fixpoint over the zone graph for one source zone: the packets are carried from zone to
  // zone through the devices, each path (the devices and rules crossed) on its own, until
  // nothing is left to carry; a path enters each device and each zone at most once.
  Status Propagate(size_t from) {
    const size_t devices = topology_.devices.size();
    Flow start;
    start.from = from;
    start.zone = from;
    start.set = valid_ & zone_src_[from];
    start.devices_seen.assign(devices, false);
    start.zones_seen.assign(topology_.zones.size(), false);
    start.zones_seen[from] = true;
    std::vector<Flow> work;
    work.push_back(std::move(start));
    while (!work.empty() && !space_.failed()) {
      const Flow flow = std::move(work.back());
      work.pop_back();
      for (size_t d = 0; d < devices; ++d) {
        if (!flow.devices_seen[d] && Faces(d, flow.zone)) MAMORI_TRY(Cross(d, flow, work));
      }
    }
    return {};
  }

  Set SaveSrc(const Set& s, const Saved& saved) const { return saved.src ? s : s & same_src_; }
  Set SaveDst(const Set& s, const Saved& saved) const { return saved.dst ? s : s & same_dst_; }

  // The source as sent, the destination as it is now.
  Set Delivered(const Set& s, const Saved& saved) const {
    if (!saved.src) return s;
    return space_.Exists(space_.Assign(s, Field::kSrc, Field::kSentSrc), Field::kSentSrc);
  }

  // Merges `b` into `into` (the same path): the copies as sent are filled in on both sides when
  // only one has them.
  void Merge(Branch& into, Branch b) const {
    if (into.steps.empty() && into.current.IsEmpty()) {
      into = std::move(b);
      return;
    }
    const Saved both{into.saved.src || b.saved.src, into.saved.dst || b.saved.dst};
    into.current = SaveDst(SaveSrc(into.current, into.saved), into.saved) |
                   SaveDst(SaveSrc(b.current, b.saved), b.saved);
    into.saved = both;
  }

  // Carries `flow` through device d: from each interface facing the flow's zone to each
  // interface facing a zone the flow has not been in.
  Status Cross(size_t d, const Flow& flow, std::vector<Flow>& work) {
    std::map<std::pair<size_t, std::string>, Branch> out;  // by next zone and path
    for (const auto& [in_name, in_zone] : faces_[d]) {
      if (in_zone != flow.zone) continue;
      for (const auto& [out_name, out_zone] : faces_[d]) {
        if (out_zone == flow.zone || flow.zones_seen[out_zone]) continue;
        MAMORI_ASSIGN_OR_RETURN(std::vector<Branch> branches,
                                Traverse(d, in_name, out_name, out_zone, flow));
        for (Branch& b : branches) {
          if (b.current.IsEmpty()) continue;
          const std::string path = PathKey(b.steps);
          Merge(out[{out_zone, path}], std::move(b));
        }
        if (space_.failed()) return {};
      }
    }
    const size_t n = topology_.zones.size();
    for (auto& [key, branch] : out) {
      const size_t to = key.first;
      const Set arrived = branch.current & zone_dst_[to];
      if (!arrived.IsEmpty()) {
        const Set delivered = Delivered(arrived, branch.saved);
        reachable_[flow.from * n + to] |= delivered;
        const std::string leak_key =
            Cat(std::to_string(flow.from), ">", std::to_string(to), ">", key.second);
        auto [it, fresh] = paths_.try_emplace(leak_key);
        Leak& leak = it->second;
        if (fresh) {
          leak.from = flow.from;
          leak.to = to;
          leak.path = branch.steps;
        }
        leak.delivered |= delivered;
        leak.translated = leak.translated || branch.saved.dst;
      }
      Set transit = branch.current - zone_dst_[to];
      if (transit.IsEmpty()) continue;
      Flow next;
      next.from = flow.from;
      next.zone = to;
      next.set = std::move(transit);
      next.saved = branch.saved;
      next.steps = std::move(branch.steps);
      next.devices_seen = flow.devices_seen;
      next.devices_seen[d] = true;
      next.zones_seen = flow.zones_seen;
      next.zones_seen[to] = true;
      work.push_back(std::move(next));
    }
    return {};
  }

  // Applies a DNAT or REDIRECT outcome: the rewritten packets, or none for REDIRECT.
  Set Translate(const Set& in, const Action& action) const {
    if (action.kind == ActionKind::kRedirect) return space_.None();
    Set out = in;
    if (action.nat.address) {
      out = space_.Rewrite(out, Field::kDst, action.nat.address->first, action.nat.address->second);
    }
    if (action.nat.port) {
      out = space_.Rewrite(out & eval_.l4(), Field::kDport, action.nat.port->first,
                           action.nat.port->second) |
            (out - eval_.l4());
    }
    return out;
  }

  // Applies a SNAT or MASQUERADE outcome leaving towards zone `to`. MASQUERADE (and a source NAT
  // without an address) takes the address of the outgoing interface, which the topology does
  // not give: any address of the zone it faces.
  Set SourceNat(const Set& in, const Action& action, size_t to) const {
    Set out = space_.Exists(in, Field::kSrc);
    if (action.kind == ActionKind::kSnat && action.nat.address) {
      out &= space_.Term(Field::kSrc, *action.nat.address);
    } else {
      out &= zone_src_[to];
    }
    if (action.nat.port) {
      out = space_.Rewrite(out & eval_.l4(), Field::kSport, action.nat.port->first,
                           action.nat.port->second) |
            (out - eval_.l4());
    }
    return out;
  }

  // One pass through device d from `in_name` to `out_name` (facing zone `to`): its base chains
  // in order, the packets split by the rules that decide them.
  Result<std::vector<Branch>> Traverse(size_t d, const std::string& in_name,
                                       const std::string& out_name, size_t to, const Flow& flow) {
    const Device& device = topology_.devices[d];
    std::vector<Branch> start;
    start.push_back(Branch{flow.set, flow.saved, nullptr, flow.steps, false});
    MAMORI_ASSIGN_OR_RETURN(
        std::vector<Branch> branches,
        RunBaseChains(d, in_name, out_name, to, flow.from, 0, std::move(start)));
    // Every device on a path appears in it, even one without a rule that let the packets pass
    // (an empty FORWARD chain with policy ACCEPT, or none at all).
    for (Branch& b : branches) {
      if (b.steps.size() == flow.steps.size()) {
        b.steps.push_back({device.name, device.config, "no filter rule"});
      }
    }
    return branches;
  }

  // The base chains of device d from the one at `first` on, run on `branches` (packets of zone
  // `from` crossing from `in_name` to `out_name`, facing zone `to`).
  Result<std::vector<Branch>> RunBaseChains(size_t d, const std::string& in_name,
                                            const std::string& out_name, size_t to, size_t from,
                                            size_t first, std::vector<Branch> branches) {
    const Ruleset& ruleset = *rulesets_[d];
    const Set& route = route_[d][to];
    // Routed before the first chain past prerouting (the base chains are sorted by hook).
    bool routed = first > 0 && ruleset.base_chains[first - 1].hook != Hook::kPrerouting;
    const std::string not_routed;  // the output interface's name before routing: none
    for (size_t k = first; k < ruleset.base_chains.size(); ++k) {
      const BaseChain& base = ruleset.base_chains[k];
      if (base.hook != Hook::kPrerouting && !routed) {
        Route(branches, route);
        routed = true;
      }
      const Table* table = ruleset.FindTable(base.table);
      const Chain* chain = table != nullptr ? table->FindChain(base.chain) : nullptr;
      if (chain == nullptr) continue;
      // Whether packets of `probe`, leaving this chain, reach zone `to` through the chains after
      // it (Split's allowed path).
      auto delivers = [&, k](const Branch& probe) {
        std::vector<Branch> one;
        one.push_back(probe);
        Result<std::vector<Branch>> after =
            RunBaseChains(d, in_name, out_name, to, from, k + 1, std::move(one));
        if (!after.ok()) return false;  // the walk of the whole set meets the same error
        for (const Branch& b : *after) {
          if (b.current.Meets(zone_dst_[to])) return true;
        }
        return false;
      };
      std::vector<Branch> next;
      for (Branch& branch : branches) {
        if (!RunsFor(base, branch)) {
          next.push_back(std::move(branch));
          continue;
        }
        const std::string* out = base.output == OutputInterface::kKnown ? &out_name : &not_routed;
        Context ctx{&in_name, out, branch.dnat != nullptr, branch.src_nat,
                    base.hook == Hook::kPrerouting && base.priority < kConntrackPriority};
        ctx.discards_unused = true;  // Split passes over DROP and REJECT outcomes
        MAMORI_ASSIGN_OR_RETURN(ChainResult r, eval_.Eval(*table, *chain, branch.current, ctx, 0));
        // What the policy drops goes nowhere (Split): it need not be built.
        if (chain->policy != ActionKind::kDrop && chain->policy != ActionKind::kReject) {
          Set fallthrough = r.Fallthrough();
          if (!fallthrough.IsEmpty()) {
            r.outcomes.push_back(Outcome{chain->policy, nullptr, chain, std::move(fallthrough)});
          }
        }
        Split(d, from, to, base, *chain, branch, std::move(r.outcomes), route, delivers, next);
      }
      branches = std::move(next);
    }
    if (!routed) Route(branches, route);
    return branches;
  }

  // Routing is not modelled beyond the zones: what leaves towards zone `to` is what is
  // addressed to `to` or to a zone behind it (ComputeRoutes).
  static void Route(std::vector<Branch>& branches, const Set& route) {
    for (Branch& b : branches) b.current &= route;
  }

  // Turns the outcomes of one base chain into the branches that go on. `delivers(probe)`: whether
  // packets of the branch `probe` leaving this chain reach zone `to` (the chains after it run).
  // Whether no walk of device d's chains can fail by the depth of their calls (every table).
  bool CallsStayWithinDepth(size_t d) {
    if (calls_bounded_.size() <= d) calls_bounded_.resize(rulesets_.size(), -1);
    int8_t& known = calls_bounded_[d];
    if (known < 0) {
      known = 1;
      for (const Table& table : rulesets_[d]->tables) {
        if (!Evaluator::CallsStayWithinDepth(table)) known = 0;
      }
    }
    return known == 1;
  }

  void Split(size_t d, size_t from, size_t to, const BaseChain& base, const Chain& chain,
             const Branch& branch, std::vector<Outcome> outcomes, const Set& route,
             const std::function<bool(const Branch&)>& delivers, std::vector<Branch>& next) {
    const std::string& device = topology_.devices[d].name;
    Branch merged{space_.None(), branch.saved, branch.dnat, branch.steps, branch.src_nat};
    Branch translated{space_.None(), Saved{true, branch.saved.dst}, branch.dnat, branch.steps,
                      true};
    Branch allowed{space_.None(), branch.saved, branch.dnat, branch.steps, branch.src_nat};
    // The host rules' packets that join `allowed`, joined as one tree at the end.
    std::vector<Space::AddressPart> allowed_hosts;
    for (Outcome& o : outcomes) {
      switch (o.verdict) {
        case ActionKind::kDrop:
        case ActionKind::kReject:
        case ActionKind::kRedirect:  // delivered to the firewall itself, not forwarded
          continue;
        case ActionKind::kDnat:
          if (base.type == ChainType::kNat && base.hook == Hook::kPrerouting &&
              branch.dnat == nullptr && o.rule != nullptr) {
            Branch b{Translate(SaveDst(o.Packets(space_), branch.saved), o.rule->action),
                     Saved{branch.saved.src, true}, o.rule, branch.steps, branch.src_nat};
            b.steps.push_back({device, o.rule->location.ToString(), "DNAT"});
            NoteBroad(d, *o.rule, from, b.current & route, b.saved);
            next.push_back(std::move(b));
            continue;
          }
          break;  // DNAT elsewhere: not on the modelled path; passes unchanged
        case ActionKind::kSnat:
        case ActionKind::kMasquerade:
          if (base.type == ChainType::kNat && base.hook == Hook::kPostrouting &&
              o.rule != nullptr) {
            translated.current |=
                SourceNat(SaveSrc(o.Packets(space_), branch.saved), o.rule->action, to);
            continue;
          }
          break;
        default:
          break;
      }
      // ACCEPT, policy ACCEPT, SNAT, MASQUERADE: the packets go on.
      const bool split = base.type == ChainType::kFilter && base.hook == Hook::kForward &&
                         !(o.rule == nullptr && chain.rules.empty());
      if (!split) {
        merged.current |= o.Packets(space_);
        continue;
      }
      if (o.rule != nullptr && o.host && HostAllowed(from, to, *o.host, branch.saved)) {
        // As below, told with the addresses fixed, without building the rule's set.
        allowed_hosts.push_back({AddressPairKey(o.host->src, o.host->dst), o.host->lower});
        continue;
      }
      const Set& set = o.Packets(space_);
      if (o.rule != nullptr && !NoteBroad(d, *o.rule, from, set, branch.saved) &&
          (set - zone_dst_[to]).IsEmpty()) {
        // Within the allow entries and delivered in the next zone: never part of a violation,
        // so these rules need not be told apart, and one path for all of them keeps a rule set
        // of many thousand ACCEPT rules linear.
        allowed.current |= set;
        continue;
      }
      Branch b{set, branch.saved, branch.dnat, branch.steps, branch.src_nat};
      const SourceLocation& where = o.rule != nullptr ? o.rule->location : chain.location;
      b.steps.push_back({device, where.ToString(), o.rule != nullptr ? "ACCEPT" : "policy ACCEPT"});
      next.push_back(std::move(b));
    }
    allowed.steps.push_back({device, chain.location.ToString(), "ACCEPT (allowed)"});
    if (!allowed_hosts.empty()) {
      // The allowed path's packets lie within the allow entries and in zone `to`, and so do
      // whatever the chains after this one make of them (they rewrite the source and its port
      // at most, which Delivered() puts back or the allow entries do not test): the report
      // never shows them (no violation, no broad rule, no transit), and the reachability matrix
      // asks only whether some reach `to`. When a part of them does, that part stands for the
      // whole, which is then never built (on a large rule set, a tree over the addresses of
      // tens of thousands of host rules, carried through the later chains and unions).
      // Only where no chain's calls can fail the walk by their depth: the walk of the whole set
      // might fail where that of a part does not (Evaluator::CallsStayWithinDepth).
      bool delivered = false;
      if (CallsStayWithinDepth(d)) {
        Branch probe = allowed;
        if (probe.current.IsEmpty()) {
          const Space::AddressPart& part = allowed_hosts.front();
          probe.current = space_.AddressPath(static_cast<uint32_t>(part.key >> 32),
                                             static_cast<uint32_t>(part.key), part.lower);
        }
        delivered = delivers(probe);
        if (delivered) allowed = std::move(probe);
      }
      if (!delivered) allowed.current |= space_.AddressPaths(std::move(allowed_hosts));
    }
    if (!allowed.current.IsEmpty()) next.push_back(std::move(allowed));
    if (!merged.current.IsEmpty()) next.push_back(std::move(merged));
    if (!translated.current.IsEmpty()) next.push_back(std::move(translated));
  }

  // Whether a host rule's packets (`host`, as they are now) lie within the allow entries of
  // `from` and in zone `to`: then NoteBroad finds nothing beyond them and they join the allowed
  // path. Told with the addresses fixed (Space::AddressCofactor); false when it cannot be (the
  // source as sent differs, a set tests a copy as sent), and the caller asks NoteBroad.
  bool HostAllowed(size_t from, size_t to, const HostMatch& host, const Saved& saved) {
    if (saved.src) return false;  // Delivered() puts the source as sent back
    const std::optional<Set> beyond = space_.AddressCofactor(beyond_[from], host.src, host.dst);
    if (!beyond || LowerMeets(*beyond, host.lower)) return false;
    const std::optional<Set> zone = space_.AddressCofactor(zone_dst_[to], host.src, host.dst);
    return zone && (host.lower - *zone).IsEmpty();
  }

  // a.Meets(b) for the lower sets HostAllowed tests, remembered: the host rules of a rule set
  // repeat a few services, and the allow entries cut at their pairs give a few sets, so that the
  // same pairs come back for thousands of rules. Both sets are kept referenced, so that their
  // ids (nodes) are not reused for other sets while remembered.
  bool LowerMeets(const Set& a, const Set& b) {
    const uint64_t key = (uint64_t{a.Id()} << 32) | b.Id();
    auto [it, fresh] = lower_meets_.try_emplace(key, false);
    if (fresh) {
      it->second = a.Meets(b);
      lower_meets_refs_.push_back(a);
      lower_meets_refs_.push_back(b);
    }
    return it->second;
  }

  // Records what `rule` of device d lets through from zone `from` (the packets `set` as they are
  // now) beyond the allow entries, per destination zone. Whether there is any.
  bool NoteBroad(size_t d, const Rule& rule, size_t from, const Set& set, const Saved& saved) {
    if (set.IsEmpty()) return false;
    const Set delivered = Delivered(set, saved);
    if (!delivered.Meets(beyond_[from])) return false;
    bool beyond = false;
    const size_t n = topology_.zones.size();
    for (size_t to = 0; to < n; ++to) {
      if (to == from) continue;
      const Set part = (delivered & zone_dst_[to]) - allowed_[from * n + to];
      if (part.IsEmpty()) continue;
      beyond = true;
      const SourceLocation& where = rule.location;
      Broad& broad = broad_[{d, where.file, where.line, where.detail, from, to}];
      broad.rule = where.ToString();
      broad.packets |= part;
      broad.translated = broad.translated || saved.dst;
    }
    return beyond;
  }

  Set AllowedSet(size_t from, size_t to) const {
    Set out = space_.None();
    for (const Allow& allow : topology_.allows) {
      if (allow.from != topology_.zones[from].name || allow.to != topology_.zones[to].name) {
        continue;
      }
      Set s = space_.All();
      switch (allow.protocol) {
        case AllowProtocol::kAny:
          break;
        case AllowProtocol::kTcp:
          s &= space_.Value(Field::kProto, kTcp);
          break;
        case AllowProtocol::kUdp:
          s &= space_.Value(Field::kProto, kUdp);
          break;
        case AllowProtocol::kIcmp:
          s &= space_.Value(Field::kProto, kIcmp);
          break;
      }
      if (!allow.src.empty()) s &= space_.Prefixes(Field::kSrc, allow.src);
      if (!allow.dst.empty()) s &= space_.Prefixes(Field::kDst, allow.dst);
      if (!allow.dst_ports.empty()) {
        Set ports = space_.None();
        for (const ValueTerm& t : allow.dst_ports) ports |= space_.Term(Field::kDport, t);
        s &= ports;
      }
      out |= s;
    }
    return out;
  }

  bool HasAllow(size_t from, size_t to) const {
    for (const Allow& allow : topology_.allows) {
      if (allow.from == topology_.zones[from].name && allow.to == topology_.zones[to].name) {
        return true;
      }
    }
    return false;
  }

  // Realistic unicast addresses: outside 0/8, 127/8, 169.254/16, 224/4 and 240/4.
  Set Realistic(Field field) const {
    return ~(space_.Prefixes(
        field,
        {{0x00000000, 8}, {0x7f000000, 8}, {0xa9fe0000, 16}, {0xe0000000, 4}, {0xf0000000, 4}}));
  }

  // Narrows `s` to `preferred` when that leaves something.
  static void Prefer(Set& s, const Set& preferred) {
    Set t = s & preferred;
    if (!t.IsEmpty()) s = std::move(t);
  }

  uint64_t Fix(Set& s, Field field) const {
    const uint64_t v = space_.Min(s, field).value_or(0);
    s &= space_.Value(field, v);
    return v;
  }

  // A realistic member of `set` (non-empty): fields fixed one at a time, each to its smallest
  // value after the preferences for that field.
  Witness PickWitness(Set s) const {
    Witness w;
    for (uint64_t proto : {kTcp, kUdp, kIcmp}) {
      Set t = s & space_.Value(Field::kProto, proto);
      if (!t.IsEmpty()) {
        s = std::move(t);
        break;
      }
    }
    w.proto = static_cast<uint8_t>(Fix(s, Field::kProto));
    // Host addresses: last octet neither 0 nor 255.
    for (Field field : {Field::kDst, Field::kSrc}) {
      Prefer(s, Realistic(field));
      Prefer(s, ~(space_.Masked(field, 0, 0xff) | space_.Masked(field, 0xff, 0xff)));
    }
    w.dst = static_cast<uint32_t>(Fix(s, Field::kDst));
    if (w.proto == kTcp || w.proto == kUdp) {
      Prefer(s, space_.Range(Field::kDport, 1, 65535));
      w.dport = static_cast<uint16_t>(Fix(s, Field::kDport));
    }
    w.src = static_cast<uint32_t>(Fix(s, Field::kSrc));
    if (w.proto == kTcp || w.proto == kUdp) {
      Prefer(s, space_.Range(Field::kSport, 1, 65535));
      Prefer(s, space_.Range(Field::kSport, 1024, 65535));
      Prefer(s, space_.Range(Field::kSport, 49152, 65535));
      w.sport = static_cast<uint16_t>(Fix(s, Field::kSport));
    }
    if (w.proto == kIcmp) {
      Prefer(s, space_.Value(Field::kIcmpType, 8));
      w.icmp_type = static_cast<uint8_t>(Fix(s, Field::kIcmpType));
    }
    return w;
  }

  // For a DNAT path: the packet as sent that became the delivered witness `delivered`, taken
  // from `set` (as Leak::delivered), whose sent fields hold the destination as sent.
  Witness Original(const Set& set, Witness delivered) const {
    Set s = set & space_.Value(Field::kSrc, delivered.src) &
            space_.Value(Field::kProto, delivered.proto) & space_.Value(Field::kDst, delivered.dst);
    if (delivered.proto == kTcp || delivered.proto == kUdp) {
      s &= space_.Value(Field::kSport, delivered.sport) &
           space_.Value(Field::kDport, delivered.dport);
    }
    if (delivered.icmp_type) s &= space_.Value(Field::kIcmpType, *delivered.icmp_type);
    if (s.IsEmpty()) return delivered;  // cannot happen: the witness is a member of `set`
    Witness w = delivered;
    w.translated_dst = delivered.dst;
    w.translated_dport = delivered.dport;
    Prefer(s, Realistic(Field::kSentDst));
    Prefer(s,
           ~(space_.Masked(Field::kSentDst, 0, 0xff) | space_.Masked(Field::kSentDst, 0xff, 0xff)));
    w.dst = static_cast<uint32_t>(Fix(s, Field::kSentDst));
    if (delivered.proto == kTcp || delivered.proto == kUdp) {
      Prefer(s, space_.Range(Field::kSentDport, 1, 65535));
      w.dport = static_cast<uint16_t>(Fix(s, Field::kSentDport));
    }
    return w;
  }

  // The addresses of `projected` (a set over `field` only) as CIDR prefixes; at most
  // `max_shown`, `more` says whether there are others.
  std::vector<std::string> Cidrs(const Set& projected, Field field, size_t max_shown,
                                 bool& more) const {
    bool truncated = false;
    const std::vector<Interval> ranges = space_.Values(projected, field, max_shown + 1, &truncated);
    std::vector<std::string> parts;
    for (const Interval& r : ranges) {
      uint64_t lo = r.lo;
      while (lo <= r.hi && parts.size() <= max_shown) {
        int length = 32;
        while (length > 0) {
          const uint64_t size = uint64_t{1} << (32 - (length - 1));
          if ((lo & (size - 1)) != 0 || lo + size - 1 > r.hi) break;
          --length;
        }
        parts.push_back(length == 32 ? FormatIpv4(static_cast<uint32_t>(lo))
                                     : FormatPrefix({static_cast<uint32_t>(lo), length}));
        lo += uint64_t{1} << (32 - length);
      }
    }
    more = truncated || parts.size() > max_shown;
    if (parts.size() > max_shown) parts.resize(max_shown);
    return parts;
  }

  static std::string Join(const std::vector<std::string>& parts, bool more) {
    std::string out;
    for (const std::string& p : parts) out += out.empty() ? p : Cat(", ", p);
    return more ? Cat(out, ", …") : out;
  }

  // "10.30.0.0/16, 10.40.0.1", "zone lgwan" or "zone inet except 10.30.0.99".
  std::string Addresses(const Set& s, Field field, size_t zone, const Set& zone_set) const {
    constexpr size_t kMaxShown = 4;
    const Set projected = space_.Project(s, field);
    const std::string name = topology_.zones[zone].name;
    if (projected == zone_set) return Cat("zone ", name);
    bool more = false;
    if ((projected - zone_set).IsEmpty()) {
      std::vector<std::string> missing = Cidrs(zone_set - projected, field, kMaxShown, more);
      if (!more) return Cat("zone ", name, " except ", Join(missing, false));
    }
    std::vector<std::string> parts = Cidrs(projected, field, kMaxShown, more);
    return Join(parts, more);
  }

  std::string Values(const Set& s, Field field) const {
    bool truncated = false;
    const std::vector<Interval> ranges = space_.Values(s, field, 8, &truncated);
    std::string out;
    for (const Interval& r : ranges) {
      if (!out.empty()) out += ",";
      out += r.lo == r.hi ? std::to_string(r.lo)
                          : Cat(std::to_string(r.lo), "-", std::to_string(r.hi));
    }
    return truncated ? Cat(out, ",…") : out;
  }

  std::string Summary(const Set& leak, size_t from, size_t to) const {
    std::vector<std::string> parts;
    const Set known = space_.Value(Field::kProto, kTcp) | space_.Value(Field::kProto, kUdp) |
                      space_.Value(Field::kProto, kIcmp);
    for (uint64_t proto : {kTcp, kUdp, kIcmp, uint64_t{0}}) {
      const Set s = proto != 0 ? leak & space_.Value(Field::kProto, proto) : leak - known;
      if (s.IsEmpty()) continue;
      std::string what;
      if (proto == kTcp || proto == kUdp) {
        const std::string ports = Values(s, Field::kDport);
        what = Cat(proto == kTcp ? "tcp" : "udp",
                   ports == "0-65535" ? std::string(" (all ports)") : Cat(" dport ", ports));
      } else if (proto == kIcmp) {
        what = Cat("icmp type ", Values(s, Field::kIcmpType));  // requests only: kIcmpNewTypes
      } else {
        const std::string protos = Values(s, Field::kProto);
        what = protos == "0,2-5,7-16,18-255" ? std::string("all other protocols")
                                             : Cat("proto ", protos);
      }
      parts.push_back(Cat(what, " from ", Addresses(s, Field::kSrc, from, zone_src_[from]), " to ",
                          Addresses(s, Field::kDst, to, zone_dst_[to])));
    }
    std::string out;
    for (const std::string& p : parts) out += out.empty() ? p : Cat("; ", p);
    return out;
  }

  // The last step of Run: the unknown constructs and shadowed rules move into the report (on a
  // large rule set, tens of thousands of shadowed rules whose copy the report does not need).
  Report BuildReport() {
    Report report;
    const size_t n = topology_.zones.size();
    for (const Zone& zone : topology_.zones) report.zones.push_back(zone.name);
    for (size_t a = 0; a < n; ++a) {
      for (size_t b = 0; b < n; ++b) {
        if (a == b) continue;
        const Set& reach = reachable_[a * n + b];
        report.matrix.push_back({topology_.zones[a].name, topology_.zones[b].name, !reach.IsEmpty(),
                                 HasAllow(a, b), !(reach - allowed_[a * n + b]).IsEmpty()});
      }
    }
    std::vector<std::pair<std::tuple<size_t, size_t, std::string>, Violation>> found;
    for (const auto& [key, leak] : paths_) {
      const Set rest = leak.delivered - allowed_[leak.from * n + leak.to];
      if (rest.IsEmpty()) continue;
      Violation v;
      v.from = topology_.zones[leak.from].name;
      v.to = topology_.zones[leak.to].name;
      v.witness = PickWitness(rest);
      if (leak.translated) v.witness = Original(rest, v.witness);
      v.path = leak.path;
      v.packets = Summary(rest, leak.from, leak.to);
      if (leak.translated) v.packets += " (as delivered, after DNAT)";
      found.emplace_back(std::tuple{leak.from, leak.to, PathKey(leak.path)}, std::move(v));
    }
    std::sort(found.begin(), found.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    for (auto& [key, v] : found) report.violations.push_back(std::move(v));
    report.unknown = std::move(unknown_);
    report.shadowed = std::move(shadowed_);
    for (const auto& [key, b] : broad_) {
      const size_t from = std::get<4>(key);
      const size_t to = std::get<5>(key);
      BroadRule r;
      r.device = topology_.devices[std::get<0>(key)].name;
      r.rule = b.rule;
      r.from = topology_.zones[from].name;
      r.to = topology_.zones[to].name;
      r.packets = Summary(b.packets, from, to);
      if (b.translated) r.packets += " (as delivered, after DNAT)";
      report.broad.push_back(std::move(r));
    }
    return report;
  }

  const Topology& topology_;
  const Space& space_;
  Evaluator eval_;
  bool index_host_rules_;
  Set valid_;
  Set same_src_;  // the source equals its copy as sent
  Set same_dst_;  // the destination address and port equal their copies as sent
  std::vector<Set> zone_src_;
  std::vector<Set> zone_dst_;
  std::vector<Set> allowed_;  // [from * n + to]
  std::vector<Set> beyond_;   // [from]: delivered packets beyond every allow entry of `from`
  std::vector<const Ruleset*> rulesets_;  // per device
  std::vector<int8_t> calls_bounded_;     // per device: CallsStayWithinDepth, -1 until asked
  std::vector<std::vector<std::pair<std::string, size_t>>> faces_;  // per device: interface, zone
  std::vector<std::vector<Set>> route_;  // [device][zone]: destinations sent towards the zone
  std::vector<Set> reachable_;           // [from * n + to]
  std::map<std::string, Leak> paths_;    // by from, to and path
  std::map<BroadKey, Broad> broad_;
  std::vector<UnknownConstruct> unknown_;
  std::vector<Shadowed> shadowed_;
  std::unordered_map<uint64_t, bool> lower_meets_;  // LowerMeets: by the pair of ids
  std::vector<Set> lower_meets_refs_;               // the sets of lower_meets_, kept referenced
};

}  // namespace

Result<std::vector<Ruleset>> LoadRulesets(const Topology& topology, const ReadFileFn& read_file) {
  std::vector<Ruleset> out;
  for (const Device& device : topology.devices) {
    MAMORI_ASSIGN_OR_RETURN(std::string text, read_file(device.config));
    std::optional<Ipsets> ipsets;
    if (!device.ipset.empty()) {  // the topology allows it for iptables-save only
      MAMORI_ASSIGN_OR_RETURN(std::string ipset_text, read_file(device.ipset));
      MAMORI_ASSIGN_OR_RETURN(ipsets, Ipsets::Parse(ipset_text, device.ipset));
    }
    Result<Ruleset> parsed = Error::Internal("no parser");
    switch (device.format) {
      case DeviceFormat::kIptablesSave:
        parsed = ParseIptablesSave(text, device.config, device.name, ipsets ? &*ipsets : nullptr);
        break;
      case DeviceFormat::kNftJson:
        parsed = ParseNftJson(text, device.config, device.name);
        break;
      case DeviceFormat::kCiscoAsa:
        parsed = ParseCiscoAsa(text, device.config, device.name);
        break;
      case DeviceFormat::kFortigate:
        parsed = ParseFortigate(text, device.config, device.name);
        break;
    }
    MAMORI_ASSIGN_OR_RETURN(Ruleset ruleset, std::move(parsed));
    out.push_back(std::move(ruleset));
  }
  return out;
}

Result<Report> Check(const Topology& topology, const std::vector<Ruleset>& rulesets,
                     const SpaceOptions& options, ShadowWork shadow) {
  MAMORI_ASSIGN_OR_RETURN(std::unique_ptr<Space> space, Space::Open(options));
  Result<Report> report = [&]() -> Result<Report> {
    // With the shadowed-rule walk in a child process, this one walks the rules for the
    // forwarding passes only: a match set is kept only for a rule walked more than once, so that
    // the node table does not hold those of the rules walked once (most, on a large rule set),
    // which costs more in garbage collection and memory traffic than building them again.
    Checker checker(
        topology, *space,
        shadow == ShadowWork::kForked ? Evaluator::Memo::kRepeated : Evaluator::Memo::kRules,
        options.index_host_rules);
    return checker.Run(rulesets, shadow);
  }();
  return report;
}

}  // namespace mamori::netsep
