#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""callblock.py - binds and connects whose refusal test_process checks.

Listens on 127.0.0.1:7501 and [::1]:7502, then prints one line each:
  blocked4 RESULT   a TCP connect to 127.0.0.1:7502 (no listener: ECONNREFUSED)
  blocked6 RESULT   a TCP connect to [::1]:7502
  other4 RESULT     a TCP connect to 127.0.0.1:7501
  bind RESULT       a UDP bind to 127.0.0.1:7503
RESULT is ok or the errno name (EPERM when a rule refused the call).
"""
import errno
import socket


def result(call):
    try:
        call()
        return "ok"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


def connect(family, addr, port):
    s = socket.socket(family)
    s.settimeout(2)
    return result(lambda: s.connect((addr, port)))


def listen(family, addr, port):
    s = socket.socket(family)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen()
    return s


def main():
    keep = [listen(socket.AF_INET, "127.0.0.1", 7501), listen(socket.AF_INET6, "::1", 7502)]
    print("blocked4", connect(socket.AF_INET, "127.0.0.1", 7502))
    print("blocked6", connect(socket.AF_INET6, "::1", 7502))
    print("other4", connect(socket.AF_INET, "127.0.0.1", 7501))
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    print("bind", result(lambda: u.bind(("127.0.0.1", 7503))))
    keep.append(u)


if __name__ == "__main__":
    main()
