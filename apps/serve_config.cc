// Reading and validating serve's configuration file (see serve_config.h).
#include "apps/serve_config.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <map>

#include "apps/iperf3_proto.h"
#include "apps/stats_shm.h"
#include "apps/toml_reader.h"
#include "drivers/factory.h"

namespace ustack::app {
namespace {

constexpr std::size_t kMaxConfigBytes = 1 << 20;

bool read_file(const std::string& path, std::string* text, std::string* error) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    *error = "cannot read config '" + path + "': " + std::strerror(errno);
    return false;
  }
  text->clear();
  char buf[65536];
  std::size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0 && text->size() <= kMaxConfigBytes)
    text->append(buf, n);
  const bool failed = std::ferror(f) != 0;
  const int err = errno;
  std::fclose(f);
  if (failed) {
    *error = "cannot read config '" + path + "': " + std::strerror(err);
    return false;
  }
  if (text->size() > kMaxConfigBytes) {
    *error = "config '" + path + "' is larger than 1 MiB";
    return false;
  }
  return true;
}

std::string join(std::initializer_list<const char*> words) {
  std::string out;
  for (const char* w : words) out += (out.empty() ? "" : ", ") + std::string(w);
  return out;
}

// Checks of one file, each failure one line that says where.
class Checker {
 public:
  Checker(const std::string& path, std::string* error) : path_(path), error_(error) {}

  bool fail(const TomlValue& at, const std::string& why) {
    *error_ = path_ +
              (at.line > 0 ? ":" + std::to_string(at.line) + ":" + std::to_string(at.column)
                           : std::string()) +
              ": " + why;
    return false;
  }

  bool only_keys(const TomlValue& t, std::initializer_list<const char*> known,
                 const std::string& where) {
    for (const TomlValue& v : t.members) {
      const std::string& key = v.key;
      if (std::none_of(known.begin(), known.end(), [&](const char* k) { return key == k; }))
        return fail(v, "unknown key '" + key + "' " + where + " (expected " + join(known) + ")");
    }
    return true;
  }

  bool typed(const TomlValue& v, const std::string& key, TomlValue::Type want) {
    if (v.type == want) return true;
    return fail(v, key + " must be " + to_string(want) + ", not " + to_string(v.type));
  }

  // Each getter leaves *out alone when the key is absent.
  bool get_string(const TomlValue& t, const char* key, std::string* out) {
    const TomlValue* v = t.get(key);
    if (v == nullptr) return true;
    if (!typed(*v, key, TomlValue::Type::kString)) return false;
    *out = v->string;
    return true;
  }
  template <class Int>
  bool get_int(const TomlValue& t, const char* key, std::int64_t lo, std::int64_t hi, Int* out) {
    const TomlValue* v = t.get(key);
    if (v == nullptr) return true;
    if (!typed(*v, key, TomlValue::Type::kInteger)) return false;
    if (v->integer < lo || v->integer > hi)
      return fail(*v, std::string(key) + " is " + std::to_string(lo) + ".." + std::to_string(hi) +
                          ", not " + std::to_string(v->integer));
    *out = static_cast<Int>(v->integer);
    return true;
  }
  bool get_bool(const TomlValue& t, const char* key, bool* out) {
    const TomlValue* v = t.get(key);
    if (v == nullptr) return true;
    if (!typed(*v, key, TomlValue::Type::kBool)) return false;
    *out = v->boolean;
    return true;
  }

 private:
  const std::string& path_;
  std::string* error_;
};

// [interface]: the values go through the commands' own option checks, one
// key at a time so that a mistake is reported where it is written.
bool read_interface(Checker& c, const TomlValue& t, HostOptions* host) {
  if (!c.only_keys(t,
                   {"driver", "iface", "ip", "gw", "ip6", "gw6", "slaac", "mac", "ring", "dpdk",
                    "idle", "debug"},
                   "in [interface]"))
    return false;
  cli::Args all;
  for (const TomlValue& v : t.members) {
    const std::string& key = v.key;
    std::string text;
    if (key == "ring") {
      if (!c.typed(v, key, TomlValue::Type::kInteger)) return false;
      text = std::to_string(v.integer);
    } else if (key == "debug" || key == "slaac") {
      if (!c.typed(v, key, TomlValue::Type::kBool)) return false;
      if (!v.boolean) continue;
      text = "1";
    } else {
      if (!c.typed(v, key, TomlValue::Type::kString)) return false;
      text = v.string;
    }
    if (key == "driver") {
      const std::vector<std::string> drivers = available_drivers();
      if (std::find(drivers.begin(), drivers.end(), text) == drivers.end()) {
        std::string names;
        for (const auto& d : drivers) names += (names.empty() ? "" : ", ") + d;
        return c.fail(v, "unknown driver '" + text + "' (this build has: " + names + ")");
      }
    }
    if (key == "iface" && text.empty()) return c.fail(v, "iface is empty");
    cli::Args one;
    one.set("iface", "-");
    one.set(key, text);
    HostOptions scratch;
    std::string err;
    if (!read_host_options(one, &scratch, &err, "")) return c.fail(v, err);
    all.set(key, text);
  }
  if (t.get("iface") == nullptr)
    return c.fail(t, "no iface in [interface]: name the interface to run on");
  std::string err;
  if (!read_host_options(all, host, &err, "")) return c.fail(t, err);
  return true;
}

bool read_cores(Checker& c, const TomlValue& v, std::vector<int>* cores) {
  if (!c.typed(v, "cores", TomlValue::Type::kArray)) return false;
  for (const TomlValue& item : v.items) {
    if (!c.typed(item, "each of cores", TomlValue::Type::kInteger)) return false;
    if (item.integer < 0 || item.integer > 4095)
      return c.fail(item, "core " + std::to_string(item.integer) + " is out of range (0..4095)");
    cores->push_back(static_cast<int>(item.integer));
  }
  if (cores->empty()) return c.fail(v, "cores is empty: give one core at least");
  for (std::size_t i = 0; i < cores->size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if ((*cores)[i] == (*cores)[j])
        return c.fail(v, "core " + std::to_string((*cores)[i]) + " is listed twice");
  return true;
}

bool read_server(Checker& c, const TomlValue& t, std::size_t index, ServerConfig* s) {
  const std::string where = "in [[server]] " + std::to_string(index);
  if (!c.typed(t, "each [[server]]", TomlValue::Type::kTable)) return false;
  const TomlValue* kind = t.get("kind");
  if (kind == nullptr)
    return c.fail(t, "no kind " + where + " (expected httpd, wsd, tcpserver or iperf3)");
  if (!c.typed(*kind, "kind", TomlValue::Type::kString)) return false;
  s->kind = kind->string;
  bool ok = true;
  if (s->kind == "httpd") {
    ok = c.only_keys(t, {"kind", "port", "name", "log_connections", "root"}, where);
    s->port = kHttpdDefaultPort;
    if (ok && t.get("root") != nullptr) {
      std::string err;
      ok = c.get_string(t, "root", &s->httpd.root) &&
           (check_httpd_root(&s->httpd.root, "root", &err) || c.fail(*t.get("root"), err));
    }
  } else if (s->kind == "wsd") {
    s->port = kWsdDefaultPort;
    ok = c.only_keys(t, {"kind", "port", "name", "log_connections", "max_message"}, where) &&
         c.get_int(t, "max_message", 1, static_cast<std::int64_t>(kWsdMaxMessageLimit),
                   &s->wsd.max_message);
  } else if (s->kind == "tcpserver") {
    ok = c.only_keys(t, {"kind", "port", "name", "log_connections", "mode", "bytes"}, where) &&
         c.get_int(t, "bytes", 0, static_cast<std::int64_t>(kTcpServerMaxBytes),
                   &s->tcpserver.source_bytes);
    std::string mode = "echo", err;
    ok = ok && c.get_string(t, "mode", &mode);
    if (ok && !parse_tcpserver_mode(mode, &s->tcpserver.mode, "mode", &err))
      return c.fail(*t.get("mode"), err);
    if (ok && t.get("port") == nullptr) return c.fail(t, "no port " + where + " (tcpserver)");
  } else if (s->kind == "iperf3") {
    s->port = iperf3::kDefaultPort;
    ok = c.only_keys(t, {"kind", "port", "name", "log_connections", "json"}, where) &&
         c.get_bool(t, "json", &s->iperf3.json);
  } else {
    return c.fail(*kind, "unknown server kind '" + s->kind + "' " + where +
                             " (expected httpd, wsd, tcpserver or iperf3)");
  }
  if (!ok || !c.get_int(t, "port", 1, 65535, &s->port) ||
      !c.get_bool(t, "log_connections", &s->log_connections) || !c.get_string(t, "name", &s->name))
    return false;
  if (t.get("name") != nullptr) {
    std::string err;
    if (!valid_instance_name(s->name, &err))  // the same alphabet, so stats can split names
      return c.fail(*t.get("name"),
                    "bad server name '" + s->name + "' (1 to 64 of A-Z a-z 0-9 _ -)");
  }
  return true;
}

}  // namespace

bool load_serve_config(const std::string& path, ServeConfig* out, std::string* error) {
  std::string text;
  if (!read_file(path, &text, error)) return false;
  TomlValue root;
  std::string err;
  if (!read_toml(text, path, &root, &err)) {
    *error = path + ":" + err;
    return false;
  }
  Checker c(path, error);
  ServeConfig cfg;
  if (!c.only_keys(root, {"name", "cores", "drain_ms", "stats_interval_ms", "interface", "server"},
                   "at the top level"))
    return false;
  if (!c.get_string(root, "name", &cfg.instance)) return false;
  if (root.get("name") != nullptr && !valid_instance_name(cfg.instance, &err))
    return c.fail(*root.get("name"), err);
  if (const TomlValue* v = root.get("cores"); v != nullptr && !read_cores(c, *v, &cfg.cores))
    return false;
  std::int64_t drain_ms = 2000, interval_ms = 100;
  if (!c.get_int(root, "drain_ms", 0, 600000, &drain_ms) ||
      !c.get_int(root, "stats_interval_ms", 10, 60000, &interval_ms))
    return false;
  cfg.drain = std::chrono::milliseconds(drain_ms);
  cfg.stats_interval = std::chrono::milliseconds(interval_ms);
  const TomlValue* iface = root.get("interface");
  if (iface == nullptr)
    return c.fail(root, "no [interface] table: name the interface (iface) to run on");
  if (!c.typed(*iface, "interface", TomlValue::Type::kTable) ||
      !read_interface(c, *iface, &cfg.host))
    return false;
  if (!cfg.cores.empty()) cfg.host.core = cfg.cores[0];
  const TomlValue* servers = root.get("server");
  if (servers == nullptr || (servers->type == TomlValue::Type::kArray && servers->items.empty()))
    return c.fail(root, "no [[server]] tables: name at least one server to run");
  if (servers->type != TomlValue::Type::kArray)
    return c.fail(*servers, "server must be an array of tables: write each as [[server]]");
  std::map<std::string, int> kinds;
  for (std::size_t i = 0; i < servers->items.size(); ++i) {
    ServerConfig s;
    if (!read_server(c, servers->items[i], i + 1, &s)) return false;
    s.httpd.debug = s.wsd.debug = s.tcpserver.debug = cfg.host.debug;
    ++kinds[s.kind];
    cfg.servers.push_back(std::move(s));
  }
  // Names: as given, else the kind, or kind-PORT where a kind repeats.
  for (ServerConfig& s : cfg.servers)
    if (s.name.empty()) s.name = kinds[s.kind] > 1 ? s.kind + "-" + std::to_string(s.port) : s.kind;
  for (std::size_t i = 0; i < cfg.servers.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      const TomlValue& at = servers->items[i];
      const ServerConfig &a = cfg.servers[j], &b = cfg.servers[i];
      const TomlValue* port = at.get("port");
      if (a.port == b.port)
        return c.fail(port != nullptr ? *port : at,
                      "port " + std::to_string(b.port) + " is taken twice ([[server]] " +
                          std::to_string(j + 1) + " " + a.kind + " and [[server]] " +
                          std::to_string(i + 1) + " " + b.kind + ")");
      if (a.name == b.name)
        return c.fail(at.get("name") != nullptr ? *at.get("name") : at,
                      "two servers are named '" + b.name + "' ([[server]] " +
                          std::to_string(j + 1) + " and " + std::to_string(i + 1) + ")");
    }
  }
  *out = std::move(cfg);
  return true;
}

}  // namespace ustack::app
