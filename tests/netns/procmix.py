#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""procmix.py - servers and 20 concurrent short-lived clients, and who owns what.

  procmix.py run OWNERS    Starts the servers, then 20 clients at once (curl,
                           python TCP and UDP, IPv4 and IPv6, an IPv6 socket
                           talking IPv4, a socket used by a forked child (and
                           closed last by its parent), one
                           passed with SCM_RIGHTS, one that sends and exits at
                           once), waits for them, stops the servers and writes
                           OWNERS: one line "PROTO PORT PID COMM" per local end.
  procmix.py events OWNERS EVENTS
                           The same for every line "KIND PROTO LOCAL_PORT
                           REMOTE_PORT PID COMM OUTBOUND ENDPOINT PARENT" of
                           EVENTS (evwho's output): each names the owner of its
                           local end (a connect's, before the socket is bound,
                           by its endpoint's later events); every client has a
                           connect or a flow established, and one deleted; prints
                           "events=N named=K wrong=W missing=M".
  procmix.py check OWNERS PACKETS
                           Checks every line "HOOK PROTO LOCAL_PORT REMOTE_PORT
                           PID COMM FLAGS" of PACKETS (procwho's output) against
                           OWNERS; prints "packets=N flows=F named=K wrong=W"
                           and each wrong packet; exit 0 if none is wrong and
                           every client's flow was seen, else 1.
Everything talks over loopback (127.0.0.1, ::1) in the caller's namespace.
"""
import os
import socket
import subprocess
import sys
import time

TCP4, TCP6, UDP4, UDP6, HTTP = 7101, 7102, 7103, 7104, 7105
PY = sys.executable


def comm():
    with open("/proc/self/comm") as f:
        return f.read().strip()


def report(proto, sock):
    print(proto, sock.getsockname()[1], os.getpid(), comm(), flush=True)


# ---- servers (each its own process) ----

def tcp_server(family, addr, port):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(64)
    report("tcp", s)
    while True:
        c, _ = s.accept()
        data = c.recv(100)
        c.sendall(data)
        c.close()


def udp_server(family, addr, port):
    s = socket.socket(family, socket.SOCK_DGRAM)
    s.bind((addr, port))
    report("udp", s)
    while True:
        data, peer = s.recvfrom(100)
        if data != b"noreply":
            s.sendto(data, peer)


def http_server(port):
    import http.server

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    class Server(http.server.HTTPServer):
        address_family = socket.AF_INET6

        def server_bind(self):
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            super().server_bind()

    srv = Server(("::", port), Quiet)
    report("tcp", srv.socket)
    srv.serve_forever()


SERVERS = {
    "tcp4": lambda: tcp_server(socket.AF_INET, "127.0.0.1", TCP4),
    "tcp6": lambda: tcp_server(socket.AF_INET6, "::", TCP6),
    "udp4": lambda: udp_server(socket.AF_INET, "0.0.0.0", UDP4),
    "udp6": lambda: udp_server(socket.AF_INET6, "::1", UDP6),
    "http": lambda: http_server(HTTP),
}

# ---- clients (each its own process, exits when done) ----


def tcp_client(family, addr, port):
    c = socket.socket(family, socket.SOCK_STREAM)
    c.settimeout(5)
    c.connect((addr, port))
    report("tcp", c)
    c.sendall(b"hello")
    c.recv(100)
    c.close()


def udp_client(family, addr, port, connect=False):
    c = socket.socket(family, socket.SOCK_DGRAM)
    c.settimeout(5)
    if connect:
        c.connect((addr, port))
        report("udp", c)
        c.send(b"hello")
    else:
        c.sendto(b"hello", (addr, port))
        report("udp", c)
    c.recv(100)


def fork_client():
    """A socket created by one process, connected and used by its child; the parent
    drops the last reference after the child has exited (the socket is still the
    child's)."""
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    c.settimeout(5)
    pid = os.fork()
    if pid == 0:
        c.connect(("127.0.0.1", TCP4))
        report("tcp", c)
        c.sendall(b"hello")
        c.recv(100)
        os._exit(0)
    os.waitpid(pid, 0)
    c.close()


def passed_client():
    """A UDP socket created by one process, passed over SCM_RIGHTS, used by another."""
    a, b = socket.socketpair()
    pid = os.fork()
    if pid == 0:
        a.close()
        _, fds, _, _ = socket.recv_fds(b, 10, 1)
        c = socket.socket(fileno=fds[0])
        c.settimeout(5)
        os.execv(PY, [PY, __file__, "client", "passed-child", str(c.detach())])
    b.close()
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    socket.send_fds(a, [b"x"], [c.fileno()])
    c.close()
    os.waitpid(pid, 0)


def passed_child(fd):
    c = socket.socket(fileno=int(fd))
    c.settimeout(5)
    c.sendto(b"hello", ("127.0.0.1", UDP4))
    report("udp", c)
    c.recv(100)


def hit_and_run():
    """Sends a datagram that gets no answer and exits at once."""
    c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    c.sendto(b"noreply", ("127.0.0.1", UDP4))
    report("udp", c)


CLIENTS = {
    "tcp4": lambda: tcp_client(socket.AF_INET, "127.0.0.1", TCP4),
    "tcp6": lambda: tcp_client(socket.AF_INET6, "::1", TCP6),
    "tcp6-to-4": lambda: tcp_client(socket.AF_INET6, "::ffff:127.0.0.1", TCP6),
    "udp4": lambda: udp_client(socket.AF_INET, "127.0.0.1", UDP4),
    "udp6": lambda: udp_client(socket.AF_INET6, "::1", UDP6),
    "udp4-connected": lambda: udp_client(socket.AF_INET, "127.0.0.1", UDP4, True),
    "udp6-connected": lambda: udp_client(socket.AF_INET6, "::1", UDP6, True),
    "fork": fork_client,
    "passed": passed_client,
    "hit-and-run": hit_and_run,
}

# 20 clients: 4 curl, 16 python
MIX = ["tcp4", "tcp6", "tcp6-to-4", "udp4", "udp6", "udp4-connected", "udp6-connected",
       "fork", "passed", "hit-and-run", "tcp4", "tcp6", "udp4", "udp6", "tcp4", "udp4"]
CURLS = [["-4", "http://127.0.0.1:%d/" % HTTP], ["-6", "http://[::1]:%d/" % HTTP],
         ["-4", "http://127.0.0.1:%d/" % HTTP], ["-6", "http://[::1]:%d/" % HTTP]]


def start(kind, name):
    return subprocess.Popen([PY, __file__, kind, name], stdout=subprocess.PIPE, text=True)


def curl(args):
    return subprocess.Popen(["curl", "-s", "-o", "/dev/null", "--max-time", "5",
                             "-w", "%{local_port}\n"] + args,
                            stdout=subprocess.PIPE, text=True)


def wait_ready(procs):
    lines = []
    for p in procs:
        lines.append(p.stdout.readline().strip())
    return lines


def run(owners_file):
    servers = [start("server", name) for name in SERVERS]
    lines = wait_ready(servers)
    time.sleep(0.2)
    clients = [start("client", name) for name in MIX]
    curls = [curl(args) for args in CURLS]
    for p in clients:
        out, _ = p.communicate(timeout=20)
        lines += [line for line in out.splitlines() if line]
    for p in curls:
        out, _ = p.communicate(timeout=20)
        lines.append("tcp %s %d curl" % (out.strip(), p.pid))
    time.sleep(0.5)  # the servers' last answers
    for p in servers:
        p.kill()
        p.wait()
    with open(owners_file, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("clients=%d servers=%d" % (len(clients) + len(curls), len(servers)))


def check(owners_file, packets_file):
    owners, clients = read_owners(owners_file)
    count = wrong = named = 0
    flows, seen = set(), set()
    for line in open(packets_file):
        f = line.split()
        if len(f) != 7:
            continue
        hook, proto, lport, rport, pid, name = f[0], f[1], int(f[2]), int(f[3]), int(f[4]), f[5]
        count += 1
        flows.add((proto, lport, rport))
        seen.add((proto, lport))
        want = owners.get((proto, lport))
        if want and want == (pid, name):
            named += 1
            continue
        wrong += 1
        print("wrong: %s -> want %s" % (line.strip(), want))
    missing = clients - seen
    for m in sorted(missing):
        print("missing: no packet of client end %s %d" % m)
    print("packets=%d flows=%d named=%d wrong=%d missing=%d" %
          (count, len(flows), named, wrong, len(missing)))
    return 0 if count and not wrong and not missing else 1


def read_owners(owners_file):
    owners, clients = {}, set()
    for line in open(owners_file):
        proto, port, pid, name = line.split()
        owners[(proto, int(port))] = (int(pid), name)
        if int(port) not in (TCP4, TCP6, UDP4, UDP6, HTTP):
            clients.add((proto, int(port)))
    return owners, clients


def check_events(owners_file, events_file):
    owners, clients = read_owners(owners_file)
    events = [line.split() for line in open(events_file)]
    events = [e for e in events if len(e) == 9]
    port_of = {e[7]: int(e[2]) for e in events if int(e[2])}
    count = wrong = named = 0
    began, ended = set(), set()
    for e in events:
        kind, proto, pid, name = e[0], e[1], int(e[4]), e[5]
        port = int(e[2]) or port_of.get(e[7], 0)
        if (proto, port) not in owners:
            continue  # another socket of the namespace (curl's resolver, say)
        count += 1
        if kind in ("connect", "established"):
            began.add((proto, port))
        if kind in ("deleted", "close"):
            ended.add((proto, port))
        if owners[(proto, port)] == (pid, name):
            named += 1
            continue
        wrong += 1
        print("wrong: %s -> want %s" % (" ".join(e), owners[(proto, port)]))
    missing = (clients - began) | (clients - ended)
    for m in sorted(missing):
        print("missing: client end %s %d began or ended unseen" % m)
    print("events=%d named=%d wrong=%d missing=%d" % (count, named, wrong, len(missing)))
    return 0 if count and not wrong and not missing else 1


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "run":
        run(sys.argv[2])
        return 0
    if len(sys.argv) == 4 and sys.argv[1] == "check":
        return check(sys.argv[2], sys.argv[3])
    if len(sys.argv) == 4 and sys.argv[1] == "events":
        return check_events(sys.argv[2], sys.argv[3])
    if len(sys.argv) == 3 and sys.argv[1] == "server":
        SERVERS[sys.argv[2]]()
    if len(sys.argv) >= 3 and sys.argv[1] == "client":
        if sys.argv[2] == "passed-child":
            passed_child(sys.argv[3])
        else:
            CLIENTS[sys.argv[2]]()
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
