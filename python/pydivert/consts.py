# SPDX-License-Identifier: LGPL-2.1-or-later
"""The constants of pydivert's API, with WinDivert 2.2's values (include/windivert.h)."""
from enum import IntEnum, IntFlag


class Layer(IntEnum):
    """Where a handle takes packets or events (WINDIVERT_LAYER_*)."""
    NETWORK = 0          # packets to and from this host
    NETWORK_FORWARD = 1  # packets routed through this host
    FLOW = 2             # flows established and deleted
    SOCKET = 3           # socket operations
    REFLECT = 4          # WinDivert handles opened and closed


class Flag(IntFlag):
    """Flags of WinDivert(..., flags=) (WINDIVERT_FLAG_*)."""
    DEFAULT = 0
    SNIFF = 1        # take copies; the packets go on
    DROP = 2         # drop what matches; nothing is received
    RECV_ONLY = 4    # no send()
    READ_ONLY = 4
    SEND_ONLY = 8    # no recv(): capture nothing
    WRITE_ONLY = 8
    NO_INSTALL = 16  # accepted: there is no driver to install on Linux
    FRAGMENTS = 32   # fragments as they come (refused for inbound packets on Linux)


class RecvFlag(IntEnum):
    """Flags of recv_ex()."""
    DEFAULT = 0
    NO_BLOCK = 1  # None at once when nothing waits (WINDIVERT_RECV_FLAG_NO_BLOCK)


class Param(IntEnum):
    """Parameters of get_param() and set_param() (WINDIVERT_PARAM_*)."""
    QUEUE_LEN = 0      # packets waiting to be received, at most: 32..16384
    QUEUE_LENGTH = 0
    QUEUE_TIME = 1     # ms a packet may wait: 100..16000
    QUEUE_SIZE = 2     # bytes waiting, at most: 65535..33554432
    VERSION_MAJOR = 3  # read only
    VERSION_MINOR = 4  # read only


class Direction(IntEnum):
    """Which way a packet goes (WINDIVERT_ADDRESS.Outbound is 1 for OUTBOUND)."""
    OUTBOUND = 0
    INBOUND = 1


class CalcChecksumsOption(IntFlag):
    """Checksums recalculate_checksums() leaves alone (WINDIVERT_HELPER_NO_*)."""
    NO_IP_CHECKSUM = 1
    NO_ICMP_CHECKSUM = 2
    NO_ICMPV6_CHECKSUM = 4
    NO_TCP_CHECKSUM = 8
    NO_UDP_CHECKSUM = 16
    NO_REPLACE = 2048  # accepted and ignored: the packet is always changed in place


class Protocol(IntEnum):
    """IP protocol numbers (IANA) of the headers a packet may carry."""
    HOPOPT = 0
    ICMP = 1
    TCP = 6
    UDP = 17
    ROUTING = 43
    FRAGMENT = 44
    AH = 51
    ICMPV6 = 58
    NONE = 59
    DSTOPTS = 60


class Event(IntEnum):
    """What an address reports (WINDIVERT_EVENT_*)."""
    NETWORK_PACKET = 0
    FLOW_ESTABLISHED = 1
    FLOW_DELETED = 2
    SOCKET_BIND = 3
    SOCKET_CONNECT = 4
    SOCKET_LISTEN = 5
    SOCKET_ACCEPT = 6
    SOCKET_CLOSE = 7
    REFLECT_OPEN = 8
    REFLECT_CLOSE = 9


class Shutdown(IntEnum):
    """What shutdown() stops (WINDIVERT_SHUTDOWN_*)."""
    RECV = 1
    SEND = 2
    BOTH = 3


# IPv6 extension headers a packet's transport header may follow.
IPV6_EXT_HEADERS = frozenset({Protocol.HOPOPT, Protocol.ROUTING, Protocol.FRAGMENT,
                              Protocol.DSTOPTS, Protocol.AH})

MTU_MAX = 40 + 0xFFFF  # WINDIVERT_MTU_MAX: the largest packet
BATCH_MAX = 0xFF       # WINDIVERT_BATCH_MAX: packets of one recv_ex or send_ex
