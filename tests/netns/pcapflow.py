#!/usr/bin/env python3
"""The TCP stream to one port in a capture, rebuilt from its segments by sequence number.

  pcapflow.py FILE PORT   print "stream bytes=N sha256=H segments=S longest=L"

FILE is a pcap file of `ipredir dump -w` (LINUX_SLL2 or raw IP); L is the longest
copy of a segment, IP header on. Bytes a segment
repeats (a retransmission) count once; a hole in the sequence ends the stream there,
so a lost or cut copy shows as fewer bytes than were sent.
"""
import hashlib
import struct
import sys

LINKTYPE_RAW, LINKTYPE_SLL2 = 101, 276


def records(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack_from("<I", data)[0]
    end = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    linktype = struct.unpack_from(end + "I", data, 20)[0]
    skip = 20 if linktype == LINKTYPE_SLL2 else 0
    off = 24
    while off + 16 <= len(data):
        caplen = struct.unpack_from(end + "I", data, off + 8)[0]
        yield data[off + 16 + skip:off + 16 + caplen]
        off += 16 + caplen


def tcp_segment(pkt, port):
    """(seq, payload) of a TCP segment to port, or None."""
    if not pkt:
        return None
    if pkt[0] >> 4 == 4:
        if pkt[9] != 6:
            return None
        total, l4 = struct.unpack_from("!H", pkt, 2)[0], (pkt[0] & 15) * 4
    elif pkt[0] >> 4 == 6:
        if pkt[6] != 6:
            return None
        total, l4 = 40 + struct.unpack_from("!H", pkt, 4)[0], 40
    else:
        return None
    dport, seq = struct.unpack_from("!HI", pkt, l4 + 2)
    if dport != port:
        return None
    syn = pkt[l4 + 13] & 2
    return seq + (1 if syn else 0), pkt[l4 + (pkt[l4 + 12] >> 4) * 4:total], syn


def main(path, port):
    port, start, segs, segments, longest = int(port), None, [], 0, 0
    for pkt in records(path):
        seg = tcp_segment(pkt, port)
        if not seg:
            continue
        segments += 1
        longest = max(longest, len(pkt))
        if seg[2]:
            start = seg[0]
        if seg[1]:
            segs.append(seg)
    digest, count = hashlib.sha256(), 0
    # Offsets from the first byte after the SYN; a hole ends the walk.
    for rel, payload in sorted(((s - start) & 0xFFFFFFFF, p) for s, p, _ in segs):
        if start is None or rel > count:
            break
        chunk = payload[count - rel:]
        digest.update(chunk)
        count += len(chunk)
    print("stream bytes=%d sha256=%s segments=%d longest=%d" % (count, digest.hexdigest(),
                                                                segments, longest))


if __name__ == "__main__":
    main(*sys.argv[1:])
