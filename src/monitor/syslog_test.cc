// The syslog listener: URL parsing, RFC 6587 framing (octet counting and line feeds, split at
// every byte), bounded messages, and real UDP and TCP sockets on the loopback interface.
#include "monitor/syslog.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "monitor/separation.h"

namespace mamori::monitor {
namespace {

TEST(SyslogUrlTest, AcceptsAddressLiteralsAndRefusesTheRest) {
  auto udp = ParseSyslogUrl("udp://127.0.0.1:5514");
  ASSERT_TRUE(udp.ok());
  EXPECT_EQ(udp->transport, SyslogTransport::kUdp);
  EXPECT_EQ(udp->address, "127.0.0.1");
  EXPECT_EQ(udp->port, 5514);
  auto tcp = ParseSyslogUrl("tcp://[::1]:514");
  ASSERT_TRUE(tcp.ok());
  EXPECT_EQ(tcp->transport, SyslogTransport::kTcp);
  EXPECT_EQ(tcp->address, "::1");
  EXPECT_EQ(tcp->port, 514);
  for (const char* bad :
       {"udp://localhost:514", "http://127.0.0.1:514", "udp://127.0.0.1", "udp://127.0.0.1:65536",
        "tcp://::1:514", "tcp://[::1]514", "udp://127.0.0.1:", "udp://127.0.0.1:05",
        "udp://1.2.3:5", "udp://[x]:1"}) {
    auto r = ParseSyslogUrl(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message.find("--syslog"), std::string::npos);
  }
}

struct Frames final : SyslogFramer::Sink {
  void Message(std::string_view m) override { messages.emplace_back(m); }
  void Malformed(Reason r, std::string_view excerpt) override {
    malformed.push_back(std::string(r.en) + ": " + std::string(excerpt));
  }
  std::vector<std::string> messages;
  std::vector<std::string> malformed;
};

TEST(SyslogFramerTest, OctetCountingAndLineFeedsSplitAnywhere) {
  const std::string a = "<4>May  1 09:30:00 fw kernel: one";
  const std::string b = "<4>1 2024-05-01T00:00:00Z fw kernel - - - two\nwith a line feed";
  const std::string c = "2024-05-01T00:00:00Z fw kernel: three";  // a digit, but a line
  const std::string d = "5 packets dropped";  // a number and a space, but no PRI: a line
  const std::string stream = std::to_string(a.size()) + " " + a + a + "\n" +
                             std::to_string(b.size()) + " " + b + "\r\n" + c + "\n" + d + "\n" +
                             "<4>last";
  for (size_t step : {stream.size(), size_t{1}, size_t{3}, size_t{17}}) {
    SyslogFramer framer(1024);
    Frames out;
    for (size_t i = 0; i < stream.size(); i += step) framer.Feed(stream.substr(i, step), out);
    framer.End(out);
    EXPECT_EQ(out.messages, (std::vector<std::string>{a, a, b, c, d, "<4>last"})) << step;
    EXPECT_TRUE(out.malformed.empty());
    EXPECT_EQ(framer.buffered(), 0u);
  }
}

TEST(SyslogFramerTest, OverLongMessagesAreCountedNotBuffered) {
  SyslogFramer framer(100);
  Frames out;
  const std::string long_line = "<4>" + std::string(1000, 'x');
  for (size_t i = 0; i < long_line.size(); i += 10) {
    framer.Feed(long_line.substr(i, 10), out);
    EXPECT_LE(framer.buffered(), 120u);
  }
  framer.Feed("\n<4>ok\n", out);
  framer.Feed("5000000000 <4>", out);  // an octet count far over the limit: skipped as it comes
  for (int i = 0; i < 100; ++i) framer.Feed(std::string(1000, 'y'), out);
  EXPECT_LE(framer.buffered(), 120u);
  framer.End(out);
  framer.Feed("3 <4>", out);
  framer.Feed("10 <4>cut", out);
  framer.End(out);
  EXPECT_EQ(out.messages, (std::vector<std::string>{"<4>ok", "<4>"}));
  ASSERT_EQ(out.malformed.size(), 3u);
  EXPECT_EQ(out.malformed[0].rfind("syslog message too long (limit 64 KiB): <4>xxx", 0), 0u);
  EXPECT_EQ(out.malformed[1].rfind("syslog message too long (limit 64 KiB): <4>yyy", 0), 0u);
  EXPECT_EQ(out.malformed[2], "syslog message cut short (connection closed): <4>cut");
}

constexpr const char* kTopology = R"(
[zones.a]
networks = ["10.1.0.0/16"]
[zones.b]
networks = ["10.2.0.0/16"]
[devices.fw]
format = "iptables-save"
config = "fw.rules"
interfaces = { x = "a", y = "b" }
)";

struct Collect final : AlertOutput {
  void Write(const Alert& alert) override { alerts.push_back(alert); }
  std::vector<Alert> alerts;
};

// A Monitor with the separation detector over kTopology (RFC 3164 times of 2024, UTC), and the
// notices a listener says.
struct SeparationMonitor {
  static MonitorOptions Options() {
    MonitorOptions options;
    options.parser.syslog = {2024, 0};
    return options;
  }
  std::vector<std::unique_ptr<Detector>> Detectors() {
    std::vector<std::unique_ptr<Detector>> detectors;
    detectors.push_back(MakeSeparationDetector(topology));
    return detectors;
  }
  NoticeFn Notice() {
    return [this](const std::string& ja, const std::string&) { notices.push_back(ja); };
  }

  netsep::Topology topology = netsep::ParseTopology(kTopology, "t.toml").value();
  Collect out;
  Monitor monitor{Options(), Detectors(), out};
  std::vector<std::string> notices;
};

std::string NetfilterLine(int port) {
  return "<4>May  1 09:30:00 fw kernel: FWD IN=eth0 OUT=eth1 SRC=10.1.0.1 DST=10.2.0.1 LEN=60 "
         "PROTO=TCP SPT=1 DPT=" +
         std::to_string(port);
}

TEST(SyslogServerTest, UdpAndTcpMessagesReachThePipeline) {
  SeparationMonitor m;
  Monitor& monitor = m.monitor;
  Collect& out = m.out;
  auto server = SyslogServer::Create(
      {{SyslogTransport::kUdp, "127.0.0.1", 0}, {SyslogTransport::kTcp, "127.0.0.1", 0}}, monitor,
      m.Notice());
  ASSERT_TRUE(server.ok()) << server.error().message_en;
  const uint16_t udp_port = (*server)->ports()[0];
  const uint16_t tcp_port = (*server)->ports()[1];
  ASSERT_NE(udp_port, 0);

  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int udp = ::socket(AF_INET, SOCK_DGRAM, 0);
  to.sin_port = htons(udp_port);
  for (int port : {21, 22}) {
    const std::string m = NetfilterLine(port) + "\n";
    ASSERT_GT(::sendto(udp, m.data(), m.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
  }
  ::close(udp);
  // Two TCP clients at once, one with each framing.
  to.sin_port = htons(tcp_port);
  const int t1 = ::socket(AF_INET, SOCK_STREAM, 0);
  const int t2 = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_EQ(::connect(t1, reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
  ASSERT_EQ(::connect(t2, reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
  const std::string counted = NetfilterLine(23);
  const std::string s1 = std::to_string(counted.size()) + " " + counted + "<4>" +
                         std::string(kMaxSyslogMessage, 'z') + "\n";  // too long: counted
  const std::string s2 = NetfilterLine(24) + "\n" + NetfilterLine(25) + "\n";
  ASSERT_EQ(::write(t1, s1.data(), s1.size()), static_cast<ssize_t>(s1.size()));
  ASSERT_EQ(::write(t2, s2.data(), s2.size()), static_cast<ssize_t>(s2.size()));
  ::close(t1);
  ::close(t2);

  for (int i = 0; i < 50; ++i) {
    std::vector<pollfd> fds = (*server)->fds();
    ::poll(fds.data(), fds.size(), 100);
    (*server)->Handle(fds);
    if (monitor.summary().events == 5 && (*server)->fds().size() == 2) break;  // both closed
  }
  monitor.Finish();
  const Summary& s = monitor.summary();
  EXPECT_EQ(s.events, 5u);
  EXPECT_EQ(s.malformed, 1u);
  ASSERT_EQ(s.samples.size(), 1u);
  EXPECT_EQ(s.samples[0].file, "syslog tcp 127.0.0.1");
  EXPECT_STREQ(s.samples[0].reason.en, "syslog message too long (limit 64 KiB)");
  EXPECT_EQ(s.samples[0].excerpt.substr(0, 6), "<4>zzz");
  std::vector<std::string> inputs;
  for (const InputSummary& in : s.inputs) inputs.push_back(in.name);
  EXPECT_EQ(inputs, (std::vector<std::string>{"syslog udp 127.0.0.1", "syslog tcp 127.0.0.1"}));
  ASSERT_EQ(out.alerts.size(), 1u);  // one pair, one window
  EXPECT_EQ(out.alerts[0].count, 5u);
  EXPECT_EQ(out.alerts[0].dports, (std::vector<uint16_t>{21, 22, 23, 24, 25}));
  EXPECT_EQ(out.alerts[0].evidence[0], "syslog udp 127.0.0.1:1");
  EXPECT_EQ((*server)->counts().connections, 2u);
  // The listeners' counts are in the summary, and in its text.
  EXPECT_EQ(s.listeners, (*server)->counts());
  EXPECT_EQ(s.listeners.connections, 2u);
  EXPECT_EQ(s.listeners.refused_connections, 0u);
  EXPECT_NE(SummaryToText(s, 1).find("syslog: "), std::string::npos);
  EXPECT_EQ(SummaryToText(Summary{}, 1).find("syslog: "), std::string::npos);
}

// Sends one netfilter message to `port` from 127.0.0.`host` (any 127/8 address is local).
void SendFrom(int host, uint16_t port, int dport) {
  const int udp = ::socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(udp, 0);
  sockaddr_in from{};
  from.sin_family = AF_INET;
  from.sin_addr.s_addr = htonl(0x7f000000u | static_cast<uint32_t>(host));
  ASSERT_EQ(::bind(udp, reinterpret_cast<sockaddr*>(&from), sizeof from), 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  to.sin_port = htons(port);
  const std::string m = NetfilterLine(dport);
  ASSERT_GT(::sendto(udp, m.data(), m.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to), 0);
  ::close(udp);
}

TEST(SyslogServerTest, SilentSendersGiveWayToNewOnesAndTheirCountsAreKept) {
  SeparationMonitor m;
  auto clock = std::chrono::steady_clock::now();  // moved by hand: silences are exact
  Monitor& monitor = m.monitor;
  Collect& out = m.out;
  const std::vector<std::string>& notices = m.notices;
  auto server = SyslogServer::Create(
      {{SyslogTransport::kUdp, "127.0.0.1", 0}}, monitor, m.Notice(),
      SyslogLimits{
          .max_senders = 3, .sender_idle = std::chrono::minutes(10), .now = [&] { return clock; }});
  ASSERT_TRUE(server.ok()) << server.error().message_en;
  const uint16_t port = (*server)->ports()[0];
  // Reads until `events` events have arrived.
  const auto drain = [&](uint64_t events) {
    for (int i = 0; i < 50 && monitor.summary().events < events; ++i) {
      std::vector<pollfd> fds = (*server)->fds();
      ::poll(fds.data(), fds.size(), 100);
      (*server)->Handle(fds);
    }
    ASSERT_EQ(monitor.summary().events, events);
  };
  const auto inputs = [&] {
    std::vector<std::pair<std::string, uint64_t>> v;
    for (const InputSummary& in : monitor.summary().inputs) v.emplace_back(in.name, in.lines);
    std::sort(v.begin(), v.end());
    return v;
  };
  using Inputs = std::vector<std::pair<std::string, uint64_t>>;

  // Three senders take the three places; a fourth, with nobody silent yet, is merged.
  for (int host : {2, 3, 4}) {
    SendFrom(host, port, 20 + host);
    drain(static_cast<uint64_t>(host - 1));
  }
  SendFrom(5, port, 25);
  drain(4);
  EXPECT_EQ((*server)->counts().merged_senders, 1u);
  EXPECT_EQ((*server)->counts().retired_senders, 0u);
  EXPECT_EQ(inputs(), (Inputs{{"syslog udp (others)", 1},
                              {"syslog udp 127.0.0.2", 1},
                              {"syslog udp 127.0.0.3", 1},
                              {"syslog udp 127.0.0.4", 1}}));

  // Later: .3 speaks again, so .2 has been silent longest and gives way to .6, which gets an
  // input of its own; .2's line is counted under (others).
  clock += std::chrono::minutes(11);
  SendFrom(3, port, 23);
  drain(5);
  SendFrom(6, port, 26);
  drain(6);
  EXPECT_EQ((*server)->counts().retired_senders, 1u);
  EXPECT_EQ(inputs(), (Inputs{{"syslog udp (others)", 2},
                              {"syslog udp 127.0.0.3", 2},
                              {"syslog udp 127.0.0.4", 1},
                              {"syslog udp 127.0.0.6", 1}}));
  // .2 comes back: .4 is the silent one now; .2's messages are numbered afresh.
  SendFrom(2, port, 22);
  drain(7);
  EXPECT_EQ((*server)->counts().retired_senders, 2u);
  EXPECT_EQ(inputs(), (Inputs{{"syslog udp (others)", 3},
                              {"syslog udp 127.0.0.2", 1},
                              {"syslog udp 127.0.0.3", 2},
                              {"syslog udp 127.0.0.6", 1}}));
  monitor.Finish();
  EXPECT_EQ(monitor.summary().lines, 7u);
  std::vector<std::string> evidence;
  for (const Alert& a : out.alerts) {
    evidence.insert(evidence.end(), a.evidence.begin(), a.evidence.end());
  }
  std::sort(evidence.begin(), evidence.end());
  EXPECT_EQ(evidence, (std::vector<std::string>{"syslog udp (others):1", "syslog udp 127.0.0.2:1",
                                                "syslog udp 127.0.0.2:1", "syslog udp 127.0.0.3:1",
                                                "syslog udp 127.0.0.3:2", "syslog udp 127.0.0.4:1",
                                                "syslog udp 127.0.0.6:1"}));
  ASSERT_EQ(notices.size(), 2u);  // each said once
  EXPECT_NE(notices[0].find("まとめます"), std::string::npos);
  EXPECT_NE(notices[1].find("場所を空けます"), std::string::npos);
  EXPECT_EQ(monitor.summary().listeners.retired_senders, 2u);
}

TEST(SyslogServerTest, TheSendersNamedInARunAreBounded) {
  SeparationMonitor m;
  auto server = SyslogServer::Create(
      {{SyslogTransport::kUdp, "127.0.0.1", 0}}, m.monitor, m.Notice(),
      SyslogLimits{
          .max_senders = 2, .sender_idle = std::chrono::milliseconds(0), .max_sender_names = 3});
  ASSERT_TRUE(server.ok()) << server.error().message_en;
  const uint16_t port = (*server)->ports()[0];
  uint64_t sent = 0;
  const auto send = [&](int host) {
    SendFrom(host, port, 20);
    ++sent;
    for (int i = 0; i < 50 && m.monitor.summary().events < sent; ++i) {
      std::vector<pollfd> fds = (*server)->fds();
      ::poll(fds.data(), fds.size(), 100);
      (*server)->Handle(fds);
    }
    ASSERT_EQ(m.monitor.summary().events, sent);
  };
  // Every sender gives way at once here (no idle time): .2 .3 named, .4 retires .2 (three
  // names); .2 comes back under its old name, retiring .3; .5 is a fourth name: merged.
  for (int host : {2, 3, 4, 2, 5}) send(host);
  std::vector<std::string> inputs;
  for (const InputSummary& in : m.monitor.summary().inputs) inputs.push_back(in.name);
  std::sort(inputs.begin(), inputs.end());
  EXPECT_EQ(inputs, (std::vector<std::string>{"syslog udp (others)", "syslog udp 127.0.0.2",
                                              "syslog udp 127.0.0.4"}));
  EXPECT_EQ((*server)->counts().retired_senders, 2u);
  EXPECT_EQ((*server)->counts().merged_senders, 1u);
  ASSERT_EQ(m.notices.size(), 2u);
  EXPECT_NE(m.notices[1].find("この実行で自分の入力を持った送信元が上限"), std::string::npos);
}

TEST(MonitorRetireInputTest, CountsMoveAndTheOthersKeepTheirEntries) {
  SeparationMonitor m;
  const InputId a = m.monitor.OpenInput("a", InputFormat::kNetfilter);
  const InputId b = m.monitor.OpenInput("b", InputFormat::kNetfilter);
  const InputId others = m.monitor.OpenInput("others", InputFormat::kNetfilter);
  m.monitor.FeedMessage(a, NetfilterLine(21));
  m.monitor.FeedMessage(a, NetfilterLine(22));
  m.monitor.FeedMessage(b, NetfilterLine(23));
  m.monitor.RetireInput(a, others);
  // b's entry moved down one place and still counts b; a's id is given out again.
  m.monitor.FeedMessage(b, NetfilterLine(24));
  const InputId c = m.monitor.OpenInput("c", InputFormat::kNetfilter);
  EXPECT_EQ(c, a);
  m.monitor.FeedMessage(c, NetfilterLine(25));
  m.monitor.FeedMessage(others, NetfilterLine(26));
  const auto& inputs = m.monitor.summary().inputs;
  ASSERT_EQ(inputs.size(), 3u);
  EXPECT_EQ(inputs[0].name, "b");
  EXPECT_EQ(inputs[0].lines, 2u);
  EXPECT_EQ(inputs[1].name, "others");
  EXPECT_EQ(inputs[1].lines, 3u);  // a's two and its own
  EXPECT_EQ(inputs[2].name, "c");
  EXPECT_EQ(inputs[2].lines, 1u);
  EXPECT_EQ(m.monitor.line_number(c), 1u);  // numbered afresh
  EXPECT_EQ(m.monitor.summary().lines, 6u);
}

TEST(SyslogServerTest, AnAddressInUseIsAnErrorNamingTheUrl) {
  MonitorOptions options;
  Collect out;
  Monitor monitor(options, {}, out);
  auto first = SyslogServer::Create({{SyslogTransport::kTcp, "127.0.0.1", 0}}, monitor, nullptr);
  ASSERT_TRUE(first.ok());
  const uint16_t port = (*first)->ports()[0];
  auto second =
      SyslogServer::Create({{SyslogTransport::kTcp, "127.0.0.1", port}}, monitor, nullptr);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message_en.find("tcp://127.0.0.1:" + std::to_string(port)),
            std::string::npos);
}

}  // namespace
}  // namespace mamori::monitor
