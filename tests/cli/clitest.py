"""What the command-line tests share: running the binary, named cases that
record their failure instead of stopping the run, the summary and exit
status, and the pair of network namespaces the kernel-peer cases use."""
import os
import subprocess
import sys
import time

PY = "/usr/bin/python3"  # Debian's, with python3-scapy and python3-websockets
results = []


def run(args, timeout=60, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)


def stop(proc, sig=2, timeout=10):
    """Signals `proc` (when still running) and collects its output; kills it
    if it has not ended within `timeout` seconds. Returns (stdout, stderr)."""
    if sig is not None and proc.poll() is None:
        proc.send_signal(sig)
    try:
        out = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out = proc.communicate()
    if hasattr(proc, "log_paths"):  # output went to files (echo_serve)
        out = tuple(open(p, errors="replace").read() for p in proc.log_paths)
    return out


def case(name):
    def wrap(fn):
        try:
            fn()
            results.append((name, None))
        except AssertionError as e:
            results.append((name, str(e) or "assertion failed"))
        except Exception as e:  # a crash of the test itself is a failure too
            results.append((name, f"{type(e).__name__}: {e}"))
        return fn
    return wrap


def expect(cond, msg):
    if not cond:
        raise AssertionError(msg)


def usage_error(ustack, args, needle):
    """`ustack ARGS` is a usage mistake: exit 2 and `needle` on stderr."""
    r = run([ustack] + args)
    expect(r.returncode == 2, f"{args}: exit {r.returncode}, want 2; stderr={r.stderr!r}")
    expect(needle in r.stderr, f"{args}: stderr {r.stderr!r} lacks {needle!r}")


def error_lines(stderr):
    """The lines of a command's stderr but the memory info line."""
    return [l for l in stderr.splitlines() if not l.startswith("ustack info")]


def finish():
    """Prints one line per case and the totals; exits 1 if any failed."""
    failed = [(n, e) for n, e in results if e]
    for n, e in results:
        print(("ok     " if not e else "FAILED ") + n + ("" if not e else f": {e}"))
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    sys.exit(1 if failed else 0)


class Netns:
    """Namespaces A (ustack, no kernel address) and B (Linux, 10.0.0.2),
    named uniquely ("ustk<pid><tag>", which ci/test sweeps) and removed on
    exit, even after a failure. With ipv6=True, B also runs IPv6 with
    fd00::2/64 (no DAD: usable at once); A's kernel does only with
    kernel_ipv6_a=True (fd00::1/64, for the commands that watch the kernel's
    traffic, dump and ids), and otherwise never."""

    def __init__(self, tag="c", ipv6=False, kernel_ipv6_a=False):
        self.tag = tag
        self.ipv6 = ipv6 or kernel_ipv6_a
        self.kernel_ipv6_a = kernel_ipv6_a

    def __enter__(self):
        tag = f"{os.getpid() % 100000}{self.tag}"
        self.a, self.b = f"ustk{tag}a", f"ustk{tag}b"
        self.ifa, self.ifb = f"uk{tag}a", f"uk{tag}b"
        steps = [
            f"ip netns add {self.a}", f"ip netns add {self.b}",
            f"ip link add {self.ifa} netns {self.a} type veth peer name {self.ifb} netns {self.b}",
            f"ip netns exec {self.a} sysctl -qw net.ipv6.conf.all.disable_ipv6=1",
            f"ip netns exec {self.b} sysctl -qw net.ipv6.conf.all.disable_ipv6=1",
            f"ip netns exec {self.a} ethtool -K {self.ifa} tso off gso off gro off",
            f"ip netns exec {self.b} ethtool -K {self.ifb} tso off gso off gro off tx off",
            f"ip -n {self.b} addr add 10.0.0.2/24 dev {self.ifb}",
            f"ip -n {self.a} link set {self.ifa} up", f"ip -n {self.b} link set {self.ifb} up",
        ]
        if self.ipv6:
            steps.remove(f"ip netns exec {self.b} sysctl -qw net.ipv6.conf.all.disable_ipv6=1")
            steps.append(f"ip -n {self.b} -6 addr add fd00::2/64 dev {self.ifb} nodad")
        if self.kernel_ipv6_a:
            steps.remove(f"ip netns exec {self.a} sysctl -qw net.ipv6.conf.all.disable_ipv6=1")
            steps.append(f"ip -n {self.a} -6 addr add fd00::1/64 dev {self.ifa} nodad")
        try:
            for cmd in steps:
                subprocess.run(cmd, shell=True, check=True, capture_output=True)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        subprocess.run(f"ip netns del {self.a}; ip netns del {self.b}", shell=True,
                       capture_output=True)

    def A(self, args):
        return ["ip", "netns", "exec", self.a] + args

    def B(self, args):
        return ["ip", "netns", "exec", self.b] + args


def echo_serve(ustack, n, tmp, instance, stats_ms, interface_extra=""):
    """Starts `ustack serve` in namespace A of `n` with a TCP echo server on
    7007 (instance `instance`, counters published every `stats_ms`), and
    waits (bounded) until its counters file exists. Returns the process
    (stop() gives its output) and the MAC of ustack's interface."""
    cfg = os.path.join(tmp, "serve.toml")
    with open(cfg, "w") as f:
        f.write(f"""name = "{instance}"
drain_ms = 1000
stats_interval_ms = {stats_ms}

[interface]
iface = "{n.ifa}"
ip = "10.0.0.1/24"
{interface_extra}
[[server]]
kind = "tcpserver"
port = 7007
mode = "echo"
""")
    mac = run(n.A(["cat", f"/sys/class/net/{n.ifa}/address"])).stdout.strip()
    # Output to files, not pipes: serve prints a line per connection, and a
    # pipe nobody reads during a long test fills (64 KiB) and then blocks
    # serve's worker in write(), stalling the stack under test.
    paths = (os.path.join(tmp, "serve.out"), os.path.join(tmp, "serve.err"))
    with open(paths[0], "w") as out, open(paths[1], "w") as err:
        serve = subprocess.Popen(n.A([ustack, "serve", cfg]), stdout=out, stderr=err, text=True)
    serve.log_paths = paths
    for _ in range(100):  # bounded: until the counters file is there
        if os.path.exists(f"/dev/shm/ustack-{instance}.stats") or serve.poll() is not None:
            break
        time.sleep(0.05)
    return serve, mac
