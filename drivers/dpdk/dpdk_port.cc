#include "drivers/dpdk/dpdk_port.h"

#include <pthread.h>
#include <rte_bus_vdev.h>
#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <new>
#include <set>
#include <sstream>

#include "core/log.h"

namespace ustack {
namespace {

// ---- The private area of every rte_mbuf of our pools.
// Receive: the ExtBufInfo of the ustack Mbuf attached to this rte_mbuf.
// Transmit: the shared info of the external buffer this rte_mbuf carries,
// and what its callback frees.
struct TxPriv {
  rte_mbuf_ext_shared_info shinfo;
  Mbuf* chain;       // the ustack frame
  rte_mbuf* holder;  // multi-segment frames: the rte_mbuf holding shinfo
};
union Priv {
  ExtBufInfo rx;
  TxPriv tx;
};
constexpr std::uint16_t kPrivSize =
    static_cast<std::uint16_t>(RTE_ALIGN(sizeof(Priv), RTE_MBUF_PRIV_ALIGN));
constexpr std::uint16_t kChunk = 64;
constexpr std::uint16_t kMaxSegs = 64;

Priv* priv_of(rte_mbuf* m) {
  return static_cast<Priv*>(rte_mbuf_to_priv(m));
}

void rx_free(void*, void* opaque) {
  rte_pktmbuf_free_seg(static_cast<rte_mbuf*>(opaque));
}

void tx_free(void*, void* opaque) {
  auto* p = static_cast<TxPriv*>(opaque);
  Mbuf* chain = p->chain;
  rte_mbuf* holder = p->holder;
  mbuf_free(chain);
  if (holder != nullptr) rte_pktmbuf_free_seg(holder);
}

// ---- The EAL, once per process.
struct Eal {
  std::mutex mu;
  bool ready = false;
  std::string key;     // the arguments it started with, --vdev aside
  std::string failed;  // why it failed to start: it keeps some of its state
  std::set<std::uint16_t> ports_open;
  unsigned serial = 0;
};
Eal& eal() {
  static Eal* e = new Eal();  // never destroyed: ports may close at exit
  return *e;
}

struct Args {
  std::vector<std::string> eal;   // for rte_eal_init
  std::vector<std::string> vdev;  // hot-plugged per port
  bool own_prefix = false;        // --file-prefix is ours: remove its runtime directory
};

// The EAL's runtime directory (/var/run/dpdk/<prefix>) outlives the process;
// ours is removed when the process exits or the EAL fails to start.
void remove_runtime_dir() {
  const char* dir = rte_eal_get_runtime_dir();
  if (dir == nullptr || std::strstr(dir, "/ustack-") == nullptr) return;
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

Args split_args(const std::string& text) {
  Args a;
  std::istringstream in(text);
  std::string tok;
  bool want_vdev = false;
  while (in >> tok) {
    if (want_vdev) {
      a.vdev.push_back(tok);
      want_vdev = false;
    } else if (tok == "--vdev") {
      want_vdev = true;
    } else if (tok.rfind("--vdev=", 0) == 0) {
      a.vdev.push_back(tok.substr(7));
    } else {
      a.eal.push_back(tok);
    }
  }
  const auto has = [&](const char* opt) {
    return std::any_of(a.eal.begin(), a.eal.end(),
                       [&](const std::string& s) { return s.rfind(opt, 0) == 0; });
  };
  if (!has("--file-prefix")) {
    a.eal.push_back("--file-prefix=ustack-" + std::to_string(getpid()));
    a.own_prefix = true;
  }
  if (!has("--telemetry") && !has("--no-telemetry")) a.eal.push_back("--no-telemetry");
  if (!has("--proc-type")) a.eal.push_back("--proc-type=primary");
  return a;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : " ") + x;
  return s;
}

// The EAL's reason from its log: the last line it wrote, or the one before
// when the last only says that the arguments were invalid.
std::string eal_reason(const std::string& log) {
  std::vector<std::string> lines;
  std::istringstream in(log);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    if (line.rfind("EAL: ", 0) == 0) line = line.substr(5);
    while (!line.empty() && (line.back() == '.' || line.back() == ' ')) line.pop_back();
    lines.push_back(line);
  }
  if (lines.empty()) return "";
  if (lines.size() > 1 && lines.back().find("Invalid 'command line' arguments") == 0)
    return lines[lines.size() - 2];
  return lines.back();
}

// Starts the EAL (caller holds the lock). The EAL logs its reasons: they
// are captured and the last one becomes the sentence in *error.
bool start_eal(Eal& e, const Args& args, std::string* error) {
  const std::string key = join(args.eal);
  if (e.ready) {
    if (key == e.key) return true;
    *error = "dpdk: the EAL already runs in this process with other arguments ('" + e.key +
             "'); only --vdev may differ between ports";
    return false;
  }
  if (!e.failed.empty()) {
    // A failed rte_eal_init leaves part of its configuration behind, so a
    // second attempt would fail for reasons of the first.
    *error = "dpdk: the EAL failed to start earlier in this process and cannot start again (" +
             e.failed + ")";
    return false;
  }
  std::vector<std::string> argv_s = {"ustack"};
  argv_s.insert(argv_s.end(), args.eal.begin(), args.eal.end());
  std::vector<char*> argv;
  for (auto& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);

  char* log_buf = nullptr;
  std::size_t log_len = 0;
  FILE* log = open_memstream(&log_buf, &log_len);
  if (log != nullptr) rte_openlog_stream(log);
  cpu_set_t cpus;
  const bool saved = pthread_getaffinity_np(pthread_self(), sizeof cpus, &cpus) == 0;
  const int rc = rte_eal_init(static_cast<int>(argv.size() - 1), argv.data());
  const int err = rte_errno;
  if (saved) pthread_setaffinity_np(pthread_self(), sizeof cpus, &cpus);
  std::string text;
  if (log != nullptr) {
    rte_openlog_stream(nullptr);
    std::fclose(log);
    text.assign(log_buf, log_len);
    std::free(log_buf);
    std::fputs(text.c_str(), stderr);
  }
  if (rc < 0) {
    if (args.own_prefix && err != EALREADY) remove_runtime_dir();
    if (err == EALREADY) {
      *error = "dpdk: the EAL was started in this process by someone else";
      return false;
    }
    std::string why = eal_reason(text);
    if (why.empty()) why = rte_strerror(err);
    *error = "dpdk: the EAL could not start with '" + key + "': " + why;
    if (why.find("--legacy-mem is not compatible with --in-memory") != std::string::npos)
      *error += " (--no-huge implies --legacy-mem: drop --in-memory)";
    else if (text.find("hugepage") != std::string::npos)
      *error += " (reserve huge pages with ci/hugepages, or pass --no-huge)";
    e.failed = why;
    return false;
  }
  e.ready = true;
  e.key = key;
  if (args.own_prefix) std::atexit(remove_runtime_dir);
  return true;
}

std::string vdev_name(const std::string& devargs) {
  return devargs.substr(0, devargs.find(','));
}

class DpdkPort final : public Port {
 public:
  DpdkPort(const DpdkConfig& cfg) : Port("dpdk", cfg.queues), cfg_(cfg) {}
  ~DpdkPort() override;

  bool open(const Args& args, std::string* error);
  std::uint16_t rx_burst(std::uint16_t q, Mbuf** pkts, std::uint16_t n) override;
  std::uint16_t tx_burst(std::uint16_t q, Mbuf** pkts, std::uint16_t n) override;

  std::uint64_t linearized() const { return linearized_.load(std::memory_order_relaxed); }

 private:
  Mbuf* take(rte_mbuf* r, std::uint16_t q);
  rte_mbuf* make_tx(Mbuf* m, std::uint16_t q);
  rte_mbuf* linearize(Mbuf* m, std::uint16_t q);
  void set_tx_offloads(rte_mbuf* r, const Mbuf* m) const;

  DpdkConfig cfg_;
  std::vector<std::string> vdevs_;  // hot-plugged by this port
  std::uint16_t port_id_ = 0;
  bool have_port_ = false;
  bool started_ = false;
  std::vector<rte_mempool*> mempools_;
  bool multi_seg_tx_ = false;
  bool iova_va_ = true;
  std::atomic<std::uint64_t> linearized_{0};
};

DpdkPort::~DpdkPort() {
  Eal& e = eal();
  std::lock_guard<std::mutex> lock(e.mu);
  if (have_port_) {
    if (started_) rte_eth_dev_stop(port_id_);
    rte_eth_dev_close(port_id_);
    e.ports_open.erase(port_id_);
  }
  for (const std::string& d : vdevs_) rte_eal_hotplug_remove("vdev", vdev_name(d).c_str());
  for (rte_mempool* mp : mempools_) {
    // rte_mbufs still referenced by live ustack mbufs keep their pool.
    if (rte_mempool_in_use_count(mp) == 0) {
      rte_mempool_free(mp);
    } else {
      log_once(LogLevel::kWarn,
               "dpdk: a port closed while mbufs still referenced its rte_mbufs; their pool is "
               "kept");
    }
  }
}

bool DpdkPort::open(const Args& args, std::string* error) {
  Eal& e = eal();
  std::lock_guard<std::mutex> lock(e.mu);
  if (!start_eal(e, args, error)) return false;
  if (cfg_.rx_pools.size() < queues_) {
    *error = "dpdk: one receive pool per queue is required";
    return false;
  }
  for (const std::string& d : args.vdev) {
    const std::string name = vdev_name(d);
    const std::string params = d.size() > name.size() ? d.substr(name.size() + 1) : "";
    std::uint16_t existing = 0;
    if (rte_eth_dev_get_port_by_name(name.c_str(), &existing) == 0) {
      *error = "dpdk: device '" + name + "' is already open in this process";
      return false;
    }
    if (rte_eal_hotplug_add("vdev", name.c_str(), params.c_str()) != 0) {
      *error = "dpdk: cannot create device '" + d +
               "' (no driver of that name, or the driver refused its arguments)";
      return false;
    }
    vdevs_.push_back(d);
  }
  port_id_ = cfg_.port_id;
  if (!vdevs_.empty() &&
      rte_eth_dev_get_port_by_name(vdev_name(vdevs_[0]).c_str(), &port_id_) != 0) {
    *error = "dpdk: device '" + vdev_name(vdevs_[0]) + "' has no ethernet port";
    return false;
  }
  if (!rte_eth_dev_is_valid_port(port_id_)) {
    *error = "dpdk: there is no port " + std::to_string(port_id_) + " (" +
             std::to_string(rte_eth_dev_count_avail()) +
             " found; add a device with --vdev or bind a NIC to a DPDK driver)";
    return false;
  }
  if (e.ports_open.count(port_id_) != 0) {
    *error = "dpdk: port " + std::to_string(port_id_) + " is already open";
    return false;
  }
  rte_eth_dev_info info{};
  if (rte_eth_dev_info_get(port_id_, &info) != 0) {
    *error = "dpdk: cannot read the device information of port " + std::to_string(port_id_);
    return false;
  }
  e.ports_open.insert(port_id_);
  have_port_ = true;
  name_ = std::string("dpdk:") + (info.device != nullptr ? rte_dev_name(info.device) : "") + "/" +
          std::to_string(port_id_);
  if (queues_ > info.max_rx_queues || queues_ > info.max_tx_queues) {
    *error = "dpdk: port " + std::to_string(port_id_) + " has at most " +
             std::to_string(std::min(info.max_rx_queues, info.max_tx_queues)) + " queues, not " +
             std::to_string(queues_) + " (net_af_packet: add qpairs=N to its --vdev)";
    return false;
  }

  rte_eth_conf conf{};
  const std::uint64_t rss_hf =
      info.flow_type_rss_offloads & (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP);
  const bool rss = queues_ > 1 && rss_hf != 0;
  if (rss) {
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_hf = rss_hf;
  }
  const std::uint64_t rx_l4 = RTE_ETH_RX_OFFLOAD_TCP_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
  const std::uint64_t tx_l4 = RTE_ETH_TX_OFFLOAD_TCP_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
  caps_.rx_ipv4_cksum = (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM) != 0;
  caps_.rx_l4_cksum = (info.rx_offload_capa & rx_l4) == rx_l4;
  caps_.tx_ipv4_cksum = (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) != 0;
  caps_.tx_l4_cksum = (info.tx_offload_capa & tx_l4) == tx_l4;
  multi_seg_tx_ = (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) != 0;
  caps_.tso = multi_seg_tx_ && (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_TCP_TSO) != 0;
  if (caps_.rx_ipv4_cksum) conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
  if (caps_.rx_l4_cksum) conf.rxmode.offloads |= rx_l4;
  if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_RSS_HASH && rss)
    conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_RSS_HASH;
  if (caps_.tx_ipv4_cksum) conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
  if (caps_.tx_l4_cksum) conf.txmode.offloads |= tx_l4;
  if (multi_seg_tx_) conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
  if (caps_.tso) conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_TCP_TSO;
  int rc = rte_eth_dev_configure(port_id_, queues_, queues_, &conf);
  if (rc != 0) {
    *error = "dpdk: cannot configure port " + std::to_string(port_id_) + " with " +
             std::to_string(queues_) + " queues: " + rte_strerror(-rc);
    return false;
  }
  std::uint16_t rxd = cfg_.rx_desc, txd = cfg_.tx_desc;
  rte_eth_dev_adjust_nb_rx_tx_desc(port_id_, &rxd, &txd);
  const int sock = rte_eth_dev_socket_id(port_id_);
  const unsigned socket =
      sock < 0 ? static_cast<unsigned>(SOCKET_ID_ANY) : static_cast<unsigned>(sock);
  const unsigned serial = e.serial++;
  for (std::uint16_t q = 0; q < queues_; ++q) {
    char mp_name[RTE_MEMPOOL_NAMESIZE];
    std::snprintf(mp_name, sizeof mp_name, "ustk%d_%u_%u", getpid() % 100000, serial, q);
    rte_mempool* mp = rte_pktmbuf_pool_create(mp_name, cfg_.mbufs_per_queue, 256, kPrivSize,
                                              RTE_MBUF_DEFAULT_BUF_SIZE, static_cast<int>(socket));
    if (mp == nullptr) {
      *error = "dpdk: cannot create a pool of " + std::to_string(cfg_.mbufs_per_queue) +
               " rte_mbufs: " + rte_strerror(rte_errno) + " (give the EAL more memory with -m)";
      return false;
    }
    mempools_.push_back(mp);
    rc = rte_eth_rx_queue_setup(port_id_, q, rxd, socket, nullptr, mp);
    if (rc == 0) rc = rte_eth_tx_queue_setup(port_id_, q, txd, socket, nullptr);
    if (rc != 0) {
      *error = "dpdk: cannot set up queue " + std::to_string(q) + " of port " +
               std::to_string(port_id_) + ": " + rte_strerror(-rc);
      return false;
    }
  }
  rc = rte_eth_dev_start(port_id_);
  if (rc != 0) {
    *error = "dpdk: cannot start port " + std::to_string(port_id_) + ": " + rte_strerror(-rc);
    return false;
  }
  started_ = true;
  if (cfg_.promiscuous) rte_eth_promiscuous_enable(port_id_);
  rte_ether_addr mac{};
  rte_eth_macaddr_get(port_id_, &mac);
  std::memcpy(mac_.b.data(), mac.addr_bytes, 6);
  std::uint16_t mtu = 1500;
  rte_eth_dev_get_mtu(port_id_, &mtu);
  mtu_ = mtu;
  caps_.max_mtu = std::max<std::uint32_t>(mtu_, std::min<std::uint32_t>(info.max_mtu, 9000));
  caps_.max_queues = std::min(info.max_rx_queues, info.max_tx_queues);
  caps_.zero_copy_rx = true;
  caps_.zero_copy_tx = true;
  if (rss) {
    caps_.rss = RssKind::kToeplitz;
    rte_eth_rss_conf rc_conf{};
    rc_conf.rss_key = caps_.rss_key.data();
    rc_conf.rss_key_len = static_cast<std::uint8_t>(caps_.rss_key.size());
    if (rte_eth_dev_rss_hash_conf_get(port_id_, &rc_conf) != 0) caps_.rss_key.fill(0);
  } else if (queues_ > 1 && std::strcmp(info.driver_name, "net_af_packet") == 0) {
    caps_.rss = RssKind::kKernel;  // the PMD's sockets share a PACKET_FANOUT_HASH group
  }
  iova_va_ = rte_eal_iova_mode() == RTE_IOVA_VA;
  return true;
}

Mbuf* DpdkPort::take(rte_mbuf* r, std::uint16_t q) {
  Mbuf* segs[kMaxSegs];
  const std::uint16_t n = r->nb_segs;
  if (n > kMaxSegs || !cfg_.rx_pools[q]->alloc_bulk(segs, n)) {
    rte_pktmbuf_free(r);
    return nullptr;
  }
  std::uint32_t ol_flags = 0;
  const std::uint64_t f = r->ol_flags;
  if ((f & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_GOOD)
    ol_flags |= ol::kRxIpCksumGood;
  if ((f & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_BAD)
    ol_flags |= ol::kRxIpCksumBad;
  if ((f & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_GOOD)
    ol_flags |= ol::kRxL4CksumGood;
  if ((f & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_BAD)
    ol_flags |= ol::kRxL4CksumBad;
  Mbuf* head = segs[0];
  head->pkt_len = r->pkt_len;
  head->nb_segs = n;
  if (f & RTE_MBUF_F_RX_RSS_HASH) {
    ol_flags |= ol::kRxRssHash;
    head->rss_hash = r->hash.rss;
  }
  head->ol_flags = ol_flags;
  head->queue = q;
  rte_mbuf* s = r;
  for (std::uint16_t i = 0; i < n; ++i) {
    rte_mbuf* next = s->next;
    s->next = nullptr;  // each segment goes back on its own
    s->nb_segs = 1;
    auto* info = new (&priv_of(s)->rx) ExtBufInfo();
    info->free_cb = rx_free;
    info->opaque = s;
    info->refcnt.store(1, std::memory_order_relaxed);
    Mbuf* u = segs[i];
    const std::uint32_t pkt_len = u->pkt_len;
    mbuf_attach_extbuf(u, static_cast<std::byte*>(s->buf_addr), s->buf_len, info);
    u->data_off = s->data_off;
    u->data_len = s->data_len;
    u->pkt_len = i == 0 ? pkt_len : 0;
    u->next = i + 1 < n ? segs[i + 1] : nullptr;
    s = next;
  }
  return head;
}

std::uint16_t DpdkPort::rx_burst(std::uint16_t q, Mbuf** pkts, std::uint16_t n) {
  std::uint16_t got = 0;
  std::uint64_t bytes = 0;
  while (got < n) {
    rte_mbuf* rs[kChunk];
    const auto want = static_cast<std::uint16_t>(std::min<int>(n - got, kChunk));
    const std::uint16_t k = rte_eth_rx_burst(port_id_, q, rs, want);
    for (std::uint16_t i = 0; i < k; ++i) {
      Mbuf* m = take(rs[i], q);
      if (m == nullptr) {
        stats_[q].rx_drop();
        continue;
      }
      bytes += m->pkt_len;
      pkts[got++] = m;
    }
    if (k < want) break;
  }
  if (got > 0) stats_[q].rx(got, bytes);
  return got;
}

void DpdkPort::set_tx_offloads(rte_mbuf* r, const Mbuf* m) const {
  const std::uint32_t f = m->ol_flags;
  std::uint64_t o = 0;
  if (f & ol::kTxIpv4) o |= RTE_MBUF_F_TX_IPV4;
  if (f & ol::kTxIpv6) o |= RTE_MBUF_F_TX_IPV6;
  if (f & ol::kTxIpCksum) o |= RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_IPV4;
  if (f & ol::kTxTcpCksum) o |= RTE_MBUF_F_TX_TCP_CKSUM;
  if (f & ol::kTxUdpCksum) o |= RTE_MBUF_F_TX_UDP_CKSUM;
  if (f & ol::kTxTcpSeg) {
    o |= RTE_MBUF_F_TX_TCP_SEG;
    r->tso_segsz = m->tso_segsz;
  }
  if (o != 0) {
    r->ol_flags |= o;
    r->l2_len = m->l2_len;
    r->l3_len = m->l3_len;
    r->l4_len = m->l4_len;
  }
}

rte_mbuf* DpdkPort::linearize(Mbuf* m, std::uint16_t q) {
  rte_mbuf* r = rte_pktmbuf_alloc(mempools_[q]);
  if (r == nullptr || m->pkt_len > rte_pktmbuf_tailroom(r)) {
    if (r != nullptr) rte_pktmbuf_free(r);
    mbuf_free(m);
    return nullptr;
  }
  auto* dst = rte_pktmbuf_mtod(r, std::byte*);
  for (const Mbuf* s = m; s != nullptr; s = s->next) {
    std::memcpy(dst, s->data(), s->data_len);
    dst += s->data_len;
  }
  r->data_len = static_cast<std::uint16_t>(m->pkt_len);
  r->pkt_len = m->pkt_len;
  set_tx_offloads(r, m);
  mbuf_free(m);
  linearized_.store(linearized_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  return r;
}

// An rte_mbuf chain over the ustack chain's bytes, owning it; nullptr (and
// the chain freed) if the frame cannot be sent.
rte_mbuf* DpdkPort::make_tx(Mbuf* m, std::uint16_t q) {
  std::uint16_t nsegs = 0;
  for (const Mbuf* s = m; s != nullptr; s = s->next)
    if (s == m || s->data_len > 0) ++nsegs;
  if (nsegs > 1 && !multi_seg_tx_) return linearize(m, q);
  if (nsegs > kMaxSegs) {
    mbuf_free(m);
    return nullptr;
  }
  rte_mbuf* rs[kMaxSegs + 1];
  const unsigned need = nsegs + (nsegs > 1 ? 1u : 0u);
  if (rte_pktmbuf_alloc_bulk(mempools_[q], rs, need) != 0) {
    mbuf_free(m);
    return nullptr;
  }
  rte_mbuf* holder = nsegs > 1 ? rs[nsegs] : nullptr;
  TxPriv* tp = &priv_of(holder != nullptr ? holder : rs[0])->tx;
  tp->chain = m;
  tp->holder = holder;
  tp->shinfo.free_cb = tx_free;
  tp->shinfo.fcb_opaque = tp;
  rte_mbuf_ext_refcnt_set(&tp->shinfo, nsegs);
  std::uint16_t i = 0;
  for (Mbuf* s = m; s != nullptr; s = s->next) {
    if (s != m && s->data_len == 0) continue;
    rte_mbuf* r = rs[i];
    std::byte* addr = s->data();
    const rte_iova_t iova = iova_va_ ? reinterpret_cast<rte_iova_t>(addr) : RTE_BAD_IOVA;
    rte_pktmbuf_attach_extbuf(r, addr, iova, s->data_len, &tp->shinfo);
    r->data_off = 0;
    r->data_len = s->data_len;
    r->next = i + 1 < nsegs ? rs[i + 1] : nullptr;
    ++i;
  }
  rte_mbuf* head = rs[0];
  head->nb_segs = nsegs;
  head->pkt_len = m->pkt_len;
  head->port = port_id_;
  set_tx_offloads(head, m);
  return head;
}

std::uint16_t DpdkPort::tx_burst(std::uint16_t q, Mbuf** pkts, std::uint16_t n) {
  std::uint16_t sent = 0;
  std::uint64_t bytes = 0;
  for (std::uint16_t first = 0; first < n; first += kChunk) {
    const auto count = static_cast<std::uint16_t>(std::min<int>(n - first, kChunk));
    rte_mbuf* rs[kChunk];
    std::uint32_t lens[kChunk];
    std::uint16_t k = 0;
    for (std::uint16_t i = 0; i < count; ++i) {
      const std::uint32_t len = pkts[first + i]->pkt_len;
      rte_mbuf* r = make_tx(pkts[first + i], q);
      if (r == nullptr) {
        stats_[q].tx_drop();
        continue;
      }
      lens[k] = len;
      rs[k++] = r;
    }
    // The PMD may free what it sent at once: lengths were read before.
    const std::uint16_t done = rte_eth_tx_burst(port_id_, q, rs, k);
    for (std::uint16_t i = 0; i < done; ++i) bytes += lens[i];
    sent = static_cast<std::uint16_t>(sent + done);
    if (done < k) {
      for (std::uint16_t i = done; i < k; ++i) rte_pktmbuf_free(rs[i]);
      stats_[q].tx_drop(k - done);
    }
  }
  if (sent > 0) stats_[q].tx(sent, bytes);
  return sent;
}

}  // namespace

std::unique_ptr<Port> open_dpdk(const DpdkConfig& cfg, std::string* error) {
  std::string ignored;
  if (error == nullptr) error = &ignored;
  if (cfg.queues == 0 || cfg.queues > 64) {
    *error = "dpdk: queues must be 1..64";
    return nullptr;
  }
  const Args args = split_args(cfg.eal_args);
  auto port = std::make_unique<DpdkPort>(cfg);
  if (!port->open(args, error)) return nullptr;
  return port;
}

}  // namespace ustack
