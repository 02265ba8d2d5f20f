/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * windivert.h - the WinDivert 2.2 API on Linux, implemented by libwindivert
 * over libipredir.
 *
 * A program written for WinDivert 2.2 builds against this header unchanged
 * (see README, "WinDivert on Linux: what differs"). The Windows types the API
 * uses are defined here for Linux, and the library provides GetLastError().
 * Calls return FALSE (or INVALID_HANDLE_VALUE) on failure with the Windows
 * error code WinDivert documents in GetLastError(), and errno set to match.
 */
#ifndef WINDIVERT_H
#define WINDIVERT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef WINDIVERTEXPORT
#define WINDIVERTEXPORT extern __attribute__((visibility("default")))
#endif

/* ------------------------------------------------------------------------ */
/* The Windows types and names the API uses                                 */

#ifndef WINDIVERT_NO_WINDOWS_TYPES
typedef int8_t INT8;
typedef uint8_t UINT8;
typedef int16_t INT16;
typedef uint16_t UINT16;
typedef int32_t INT32;
typedef uint32_t UINT32;
typedef int64_t INT64;
typedef uint64_t UINT64;
typedef unsigned int UINT;
typedef uint32_t DWORD;
typedef int BOOL;
typedef void VOID;
typedef void *PVOID;
typedef void *HANDLE;
typedef uintptr_t ULONG_PTR;

/* What an overlapped (asynchronous) call needs; see WinDivertRecvEx(). */
typedef struct _OVERLAPPED {
	ULONG_PTR Internal;     /* status of the operation: 0 once complete */
	ULONG_PTR InternalHigh; /* bytes transferred */
	union {
		struct {
			DWORD Offset;
			DWORD OffsetHigh;
		};
		PVOID Pointer;
	};
	HANDLE hEvent;
} OVERLAPPED, *LPOVERLAPPED;

#ifndef TRUE
#define TRUE 1
#endif
#ifndef FALSE
#define FALSE 0
#endif
#define INVALID_HANDLE_VALUE ((HANDLE)(intptr_t)-1)

/* The Windows error codes WinDivert reports. */
#define ERROR_SUCCESS 0
#define ERROR_FILE_NOT_FOUND 2
#define ERROR_ACCESS_DENIED 5
#define ERROR_INVALID_HANDLE 6
#define ERROR_NOT_ENOUGH_MEMORY 8
#define ERROR_INVALID_DATA 13
#define ERROR_GEN_FAILURE 31
#define ERROR_NOT_SUPPORTED 50
#define ERROR_INVALID_PARAMETER 87
#define ERROR_INSUFFICIENT_BUFFER 122
#define ERROR_NO_DATA 232
#define ERROR_OPERATION_ABORTED 995
#define ERROR_IO_INCOMPLETE 996
#define ERROR_IO_PENDING 997
#define ERROR_SERVICE_DOES_NOT_EXIST 1060
#define ERROR_HOST_UNREACHABLE 1232
#define ERROR_DRIVER_BLOCKED 1275

/* The calling thread's last error code (0 after a success that says so). */
WINDIVERTEXPORT DWORD GetLastError(void);

/* Set the calling thread's last error code. */
WINDIVERTEXPORT void SetLastError(DWORD code);

/* The result of an overlapped call on handle: bytes transferred; FALSE with
 * ERROR_IO_INCOMPLETE if it has not completed (calls here complete at once). */
WINDIVERTEXPORT BOOL GetOverlappedResult(HANDLE handle, LPOVERLAPPED overlapped, DWORD *bytes,
					   BOOL wait);
#endif /* WINDIVERT_NO_WINDOWS_TYPES */

/* Source annotations of the Windows headers: documentation only. */
#ifndef __in
#define __in
#define __in_opt
#define __out
#define __out_opt
#define __inout
#define __inout_opt
#endif

/* ------------------------------------------------------------------------ */
/* The WinDivert API                                                         */

/* Where a handle takes packets or events. */
typedef enum {
	WINDIVERT_LAYER_NETWORK = 0,         /* packets to and from this host */
	WINDIVERT_LAYER_NETWORK_FORWARD = 1, /* packets routed through this host */
	WINDIVERT_LAYER_FLOW = 2,            /* flows established and deleted */
	WINDIVERT_LAYER_SOCKET = 3,          /* socket operations */
	WINDIVERT_LAYER_REFLECT = 4,         /* WinDivert handles opened and closed */
} WINDIVERT_LAYER, *PWINDIVERT_LAYER;

/* NETWORK and NETWORK_FORWARD data of an address. */
typedef struct {
	UINT32 IfIdx;    /* interface the packet arrived on (inbound) or leaves by */
	UINT32 SubIfIdx; /* sub-interface of IfIdx (always 0 on Linux) */
} WINDIVERT_DATA_NETWORK, *PWINDIVERT_DATA_NETWORK;

/* FLOW data of an address. */
typedef struct {
	UINT64 EndpointId;       /* the flow's endpoint */
	UINT64 ParentEndpointId; /* the endpoint it came from */
	UINT32 ProcessId;        /* the process of the flow */
	UINT32 LocalAddr[4];     /* IPv4 as an IPv4-mapped IPv6 address, host order */
	UINT32 RemoteAddr[4];
	UINT16 LocalPort;
	UINT16 RemotePort;
	UINT8 Protocol;
} WINDIVERT_DATA_FLOW, *PWINDIVERT_DATA_FLOW;

/* SOCKET data of an address. */
typedef struct {
	UINT64 EndpointId;
	UINT64 ParentEndpointId;
	UINT32 ProcessId;        /* the process that made the call */
	UINT32 LocalAddr[4];
	UINT32 RemoteAddr[4];
	UINT16 LocalPort;
	UINT16 RemotePort;
	UINT8 Protocol;
} WINDIVERT_DATA_SOCKET, *PWINDIVERT_DATA_SOCKET;

/* REFLECT data of an address: the handle that was opened or closed. */
typedef struct {
	INT64 Timestamp;       /* when it was opened */
	UINT32 ProcessId;      /* the process that opened it */
	WINDIVERT_LAYER Layer; /* its WinDivertOpen() arguments */
	UINT64 Flags;
	INT16 Priority;
} WINDIVERT_DATA_REFLECT, *PWINDIVERT_DATA_REFLECT;

/* The address of a packet or event: where, when and what it was. */
typedef struct {
	INT64 Timestamp;      /* when it was captured (CLOCK_MONOTONIC, 100 ns units) */
	UINT32 Layer : 8;     /* WINDIVERT_LAYER of the handle */
	UINT32 Event : 8;     /* WINDIVERT_EVENT */
	UINT32 Sniffed : 1;   /* a copy: the packet went on anyway */
	UINT32 Outbound : 1;  /* leaving (1) or arriving (0) */
	UINT32 Loopback : 1;  /* from this host to this host */
	UINT32 Impostor : 1;  /* injected by a handle rather than sent by the stack */
	UINT32 IPv6 : 1;      /* IPv6 (else IPv4) */
	UINT32 IPChecksum : 1;  /* the IPv4 header checksum is valid */
	UINT32 TCPChecksum : 1; /* the TCP checksum is valid */
	UINT32 UDPChecksum : 1; /* the UDP checksum is valid */
	UINT32 Reserved1 : 8;
	UINT32 Reserved2;
	union {
		WINDIVERT_DATA_NETWORK Network;
		WINDIVERT_DATA_FLOW Flow;
		WINDIVERT_DATA_SOCKET Socket;
		WINDIVERT_DATA_REFLECT Reflect;
		UINT8 Reserved3[64];
	};
} WINDIVERT_ADDRESS, *PWINDIVERT_ADDRESS;

/* What was captured. */
typedef enum {
	WINDIVERT_EVENT_NETWORK_PACKET = 0,
	WINDIVERT_EVENT_FLOW_ESTABLISHED = 1,
	WINDIVERT_EVENT_FLOW_DELETED = 2,
	WINDIVERT_EVENT_SOCKET_BIND = 3,
	WINDIVERT_EVENT_SOCKET_CONNECT = 4,
	WINDIVERT_EVENT_SOCKET_LISTEN = 5,
	WINDIVERT_EVENT_SOCKET_ACCEPT = 6,
	WINDIVERT_EVENT_SOCKET_CLOSE = 7,
	WINDIVERT_EVENT_REFLECT_OPEN = 8,
	WINDIVERT_EVENT_REFLECT_CLOSE = 9,
} WINDIVERT_EVENT, *PWINDIVERT_EVENT;

/* Flags of WinDivertOpen(). */
#define WINDIVERT_FLAG_SNIFF 0x0001     /* take copies; the packets go on */
#define WINDIVERT_FLAG_DROP 0x0002      /* drop matching packets; nothing is received */
#define WINDIVERT_FLAG_RECV_ONLY 0x0004 /* no WinDivertSend() */
#define WINDIVERT_FLAG_READ_ONLY WINDIVERT_FLAG_RECV_ONLY
#define WINDIVERT_FLAG_SEND_ONLY 0x0008 /* no WinDivertRecv(): capture nothing */
#define WINDIVERT_FLAG_WRITE_ONLY WINDIVERT_FLAG_SEND_ONLY
#define WINDIVERT_FLAG_NO_INSTALL 0x0010 /* accepted: there is no driver to install */
#define WINDIVERT_FLAG_FRAGMENTS 0x0020  /* inbound fragments, not reassembled packets */

/* Parameters of WinDivertSetParam() and WinDivertGetParam(). */
typedef enum {
	WINDIVERT_PARAM_QUEUE_LENGTH = 0, /* packets waiting to be received, at most */
	WINDIVERT_PARAM_QUEUE_TIME = 1,   /* ms a packet may wait before it is dropped */
	WINDIVERT_PARAM_QUEUE_SIZE = 2,   /* bytes waiting to be received, at most */
	WINDIVERT_PARAM_VERSION_MAJOR = 3,
	WINDIVERT_PARAM_VERSION_MINOR = 4,
} WINDIVERT_PARAM, *PWINDIVERT_PARAM;
#define WINDIVERT_PARAM_MAX WINDIVERT_PARAM_VERSION_MINOR

/* How WinDivertShutdown() shuts a handle down. */
typedef enum {
	WINDIVERT_SHUTDOWN_RECV = 0x1, /* no new packets are queued */
	WINDIVERT_SHUTDOWN_SEND = 0x2, /* no more sends */
	WINDIVERT_SHUTDOWN_BOTH = 0x3,
} WINDIVERT_SHUTDOWN, *PWINDIVERT_SHUTDOWN;
#define WINDIVERT_SHUTDOWN_MAX WINDIVERT_SHUTDOWN_BOTH

/* Open a handle for the packets or events of layer that match filter (a string
 * or a WinDivertHelperCompileFilter() object); INVALID_HANDLE_VALUE on failure. */
WINDIVERTEXPORT HANDLE WinDivertOpen(__in const char *filter, __in WINDIVERT_LAYER layer,
				     __in INT16 priority, __in UINT64 flags);

/* Receive one packet or event; FALSE on failure (ERROR_INSUFFICIENT_BUFFER: the
 * packet was cut to packetLen; ERROR_NO_DATA: shut down and nothing left). */
WINDIVERTEXPORT BOOL WinDivertRecv(__in HANDLE handle, __out_opt VOID *pPacket,
				   __in UINT packetLen, __out_opt UINT *pRecvLen,
				   __out_opt WINDIVERT_ADDRESS *pAddr);

/* WinDivertRecv() of up to WINDIVERT_BATCH_MAX packets at once, packed without
 * gaps; *pAddrLen: bytes of pAddr in, of addresses written out. flags: 0, or
 * WINDIVERT_RECV_FLAG_NO_BLOCK (a Linux extension, below). */
WINDIVERTEXPORT BOOL WinDivertRecvEx(__in HANDLE handle, __out_opt VOID *pPacket,
				     __in UINT packetLen, __out_opt UINT *pRecvLen,
				     __in UINT64 flags, __out WINDIVERT_ADDRESS *pAddr,
				     __inout_opt UINT *pAddrLen,
				     __inout_opt LPOVERLAPPED lpOverlapped);

/* Send (inject) one packet: a received one goes on where it was taken. */
WINDIVERTEXPORT BOOL WinDivertSend(__in HANDLE handle, __in const VOID *pPacket,
				   __in UINT packetLen, __out_opt UINT *pSendLen,
				   __in const WINDIVERT_ADDRESS *pAddr);

/* WinDivertSend() of several packets packed without gaps, one address each. */
WINDIVERTEXPORT BOOL WinDivertSendEx(__in HANDLE handle, __in const VOID *pPacket,
				     __in UINT packetLen, __out_opt UINT *pSendLen,
				     __in UINT64 flags, __in const WINDIVERT_ADDRESS *pAddr,
				     __in UINT addrLen, __inout_opt LPOVERLAPPED lpOverlapped);

/* Stop receiving (queued packets can still be read), sending, or both. */
WINDIVERTEXPORT BOOL WinDivertShutdown(__in HANDLE handle, __in WINDIVERT_SHUTDOWN how);

/* Close the handle: what it installed is removed. */
WINDIVERTEXPORT BOOL WinDivertClose(__in HANDLE handle);

/* Set a parameter within its documented range. */
WINDIVERTEXPORT BOOL WinDivertSetParam(__in HANDLE handle, __in WINDIVERT_PARAM param,
				       __in UINT64 value);

/* Get a parameter, or the version (2.2). */
WINDIVERTEXPORT BOOL WinDivertGetParam(__in HANDLE handle, __in WINDIVERT_PARAM param,
				       __out UINT64 *pValue);

#define WINDIVERT_PRIORITY_HIGHEST 30000
#define WINDIVERT_PRIORITY_LOWEST (-WINDIVERT_PRIORITY_HIGHEST)
#define WINDIVERT_PARAM_QUEUE_LENGTH_DEFAULT 4096
#define WINDIVERT_PARAM_QUEUE_LENGTH_MIN 32
#define WINDIVERT_PARAM_QUEUE_LENGTH_MAX 16384
#define WINDIVERT_PARAM_QUEUE_TIME_DEFAULT 2000 /* ms */
#define WINDIVERT_PARAM_QUEUE_TIME_MIN 100
#define WINDIVERT_PARAM_QUEUE_TIME_MAX 16000
#define WINDIVERT_PARAM_QUEUE_SIZE_DEFAULT 4194304 /* bytes */
#define WINDIVERT_PARAM_QUEUE_SIZE_MIN 65535
#define WINDIVERT_PARAM_QUEUE_SIZE_MAX 33554432
#define WINDIVERT_BATCH_MAX 0xFF           /* packets of one RecvEx or SendEx */
#define WINDIVERT_MTU_MAX (40 + 0xFFFF)    /* the largest packet */

/* ------------------------------------------------------------------------ */
/* Helpers: headers, parsing, addresses, checksums, filters                 */

/* The IPv4 header; FragOff0 holds the fragment offset and flags (macros below). */
typedef struct {
	UINT8 HdrLength : 4;
	UINT8 Version : 4;
	UINT8 TOS;
	UINT16 Length;
	UINT16 Id;
	UINT16 FragOff0;
	UINT8 TTL;
	UINT8 Protocol;
	UINT16 Checksum;
	UINT32 SrcAddr;
	UINT32 DstAddr;
} WINDIVERT_IPHDR, *PWINDIVERT_IPHDR;

#define WINDIVERT_IPHDR_GET_FRAGOFF(hdr) (((hdr)->FragOff0) & 0xFF1F)
#define WINDIVERT_IPHDR_GET_MF(hdr) ((((hdr)->FragOff0) & 0x0020) != 0)
#define WINDIVERT_IPHDR_GET_DF(hdr) ((((hdr)->FragOff0) & 0x0040) != 0)
#define WINDIVERT_IPHDR_GET_RESERVED(hdr) ((((hdr)->FragOff0) & 0x0080) != 0)
#define WINDIVERT_IPHDR_SET_FRAGOFF(hdr, val) \
	do { (hdr)->FragOff0 = (UINT16)((((hdr)->FragOff0) & 0x00E0) | ((val) & 0xFF1F)); } while (0)
#define WINDIVERT_IPHDR_SET_MF(hdr, val) \
	do { (hdr)->FragOff0 = (UINT16)((((hdr)->FragOff0) & 0xFFDF) | (((val) & 1) << 5)); } while (0)
#define WINDIVERT_IPHDR_SET_DF(hdr, val) \
	do { (hdr)->FragOff0 = (UINT16)((((hdr)->FragOff0) & 0xFFBF) | (((val) & 1) << 6)); } while (0)
#define WINDIVERT_IPHDR_SET_RESERVED(hdr, val) \
	do { (hdr)->FragOff0 = (UINT16)((((hdr)->FragOff0) & 0xFF7F) | (((val) & 1) << 7)); } while (0)

/* The IPv6 header; traffic class and flow label through the macros below. */
typedef struct {
	UINT8 TrafficClass0 : 4;
	UINT8 Version : 4;
	UINT8 FlowLabel0 : 4;
	UINT8 TrafficClass1 : 4;
	UINT16 FlowLabel1;
	UINT16 Length;
	UINT8 NextHdr;
	UINT8 HopLimit;
	UINT32 SrcAddr[4];
	UINT32 DstAddr[4];
} WINDIVERT_IPV6HDR, *PWINDIVERT_IPV6HDR;

#define WINDIVERT_IPV6HDR_GET_TRAFFICCLASS(hdr) \
	((((hdr)->TrafficClass0) << 4) | ((hdr)->TrafficClass1))
#define WINDIVERT_IPV6HDR_GET_FLOWLABEL(hdr) \
	((((UINT32)(hdr)->FlowLabel0) << 16) | ((UINT32)(hdr)->FlowLabel1))
/* The 4-bit fields are masked so that a constant val draws no -Woverflow. */
#define WINDIVERT_IPV6HDR_SET_TRAFFICCLASS(hdr, val) \
	do { \
		(hdr)->TrafficClass0 = ((UINT8)(val) >> 4); \
		(hdr)->TrafficClass1 = (UINT8)((val) & 0x0F); \
	} while (0)
#define WINDIVERT_IPV6HDR_SET_FLOWLABEL(hdr, val) \
	do { \
		(hdr)->FlowLabel0 = (UINT8)(((val) >> 16) & 0x0F); \
		(hdr)->FlowLabel1 = (UINT16)(val); \
	} while (0)

typedef struct {
	UINT8 Type;
	UINT8 Code;
	UINT16 Checksum;
	UINT32 Body;
} WINDIVERT_ICMPHDR, *PWINDIVERT_ICMPHDR;

typedef struct {
	UINT8 Type;
	UINT8 Code;
	UINT16 Checksum;
	UINT32 Body;
} WINDIVERT_ICMPV6HDR, *PWINDIVERT_ICMPV6HDR;

typedef struct {
	UINT16 SrcPort;
	UINT16 DstPort;
	UINT32 SeqNum;
	UINT32 AckNum;
	UINT16 Reserved1 : 4;
	UINT16 HdrLength : 4;
	UINT16 Fin : 1;
	UINT16 Syn : 1;
	UINT16 Rst : 1;
	UINT16 Psh : 1;
	UINT16 Ack : 1;
	UINT16 Urg : 1;
	UINT16 Reserved2 : 2;
	UINT16 Window;
	UINT16 Checksum;
	UINT16 UrgPtr;
} WINDIVERT_TCPHDR, *PWINDIVERT_TCPHDR;

typedef struct {
	UINT16 SrcPort;
	UINT16 DstPort;
	UINT16 Length;
	UINT16 Checksum;
} WINDIVERT_UDPHDR, *PWINDIVERT_UDPHDR;

/* Flags of WinDivertHelperCalcChecksums(): checksums to leave alone. */
#define WINDIVERT_HELPER_NO_IP_CHECKSUM 1
#define WINDIVERT_HELPER_NO_ICMP_CHECKSUM 2
#define WINDIVERT_HELPER_NO_ICMPV6_CHECKSUM 4
#define WINDIVERT_HELPER_NO_TCP_CHECKSUM 8
#define WINDIVERT_HELPER_NO_UDP_CHECKSUM 16

/* A 64-bit hash of the packet's IP and transport headers, with seed. */
WINDIVERTEXPORT UINT64 WinDivertHelperHashPacket(__in const VOID *pPacket, __in UINT packetLen,
						 __in UINT64 seed
#ifdef __cplusplus
						 = 0
#endif
);

/* Point into the headers and payload of the first packet of pPacket; with
 * ppNext or pNextLen, the rest of a batch. FALSE if no IP header is there. */
WINDIVERTEXPORT BOOL WinDivertHelperParsePacket(
	__in const VOID *pPacket, __in UINT packetLen, __out_opt PWINDIVERT_IPHDR *ppIpHdr,
	__out_opt PWINDIVERT_IPV6HDR *ppIpv6Hdr, __out_opt UINT8 *pProtocol,
	__out_opt PWINDIVERT_ICMPHDR *ppIcmpHdr, __out_opt PWINDIVERT_ICMPV6HDR *ppIcmpv6Hdr,
	__out_opt PWINDIVERT_TCPHDR *ppTcpHdr, __out_opt PWINDIVERT_UDPHDR *ppUdpHdr,
	__out_opt PVOID *ppData, __out_opt UINT *pDataLen, __out_opt PVOID *ppNext,
	__out_opt UINT *pNextLen);

/* "a.b.c.d" into *pAddr in host order. */
WINDIVERTEXPORT BOOL WinDivertHelperParseIPv4Address(__in const char *addrStr,
						     __out_opt UINT32 *pAddr);

/* An IPv6 address into pAddr[4] in host order. */
WINDIVERTEXPORT BOOL WinDivertHelperParseIPv6Address(__in const char *addrStr,
						     __out_opt UINT32 *pAddr);

/* A host-order IPv4 address as text. */
WINDIVERTEXPORT BOOL WinDivertHelperFormatIPv4Address(__in UINT32 addr, __out char *buffer,
						      __in UINT bufLen);

/* A host-order IPv6 address as text. */
WINDIVERTEXPORT BOOL WinDivertHelperFormatIPv6Address(__in const UINT32 *pAddr,
						      __out char *buffer, __in UINT bufLen);

/* Compute the IPv4, ICMP, ICMPv6, TCP and UDP checksums not excluded by flags;
 * with pAddr, mark them valid there. */
WINDIVERTEXPORT BOOL WinDivertHelperCalcChecksums(__inout VOID *pPacket, __in UINT packetLen,
						  __out_opt WINDIVERT_ADDRESS *pAddr,
						  __in UINT64 flags);

/* Decrement the TTL or hop limit; FALSE if it reaches 0. */
WINDIVERTEXPORT BOOL WinDivertHelperDecrementTTL(__inout VOID *pPacket, __in UINT packetLen);

/* Check filter for layer and write its object form; FALSE with a reason and a
 * position for a bad filter. */
WINDIVERTEXPORT BOOL WinDivertHelperCompileFilter(__in const char *filter,
						  __in WINDIVERT_LAYER layer,
						  __out_opt char *object, __in UINT objLen,
						  __out_opt const char **errorStr,
						  __out_opt UINT *errorPos);

/* Whether the packet and its address match filter (a string or an object). */
WINDIVERTEXPORT BOOL WinDivertHelperEvalFilter(__in const char *filter,
					       __in const VOID *pPacket, __in UINT packetLen,
					       __in const WINDIVERT_ADDRESS *pAddr);

/* filter (a string or an object) in its canonical text form. */
WINDIVERTEXPORT BOOL WinDivertHelperFormatFilter(__in const char *filter,
						 __in WINDIVERT_LAYER layer, __out char *buffer,
						 __in UINT bufLen);

/* Byte order. */
WINDIVERTEXPORT UINT16 WinDivertHelperNtohs(__in UINT16 x);
WINDIVERTEXPORT UINT16 WinDivertHelperHtons(__in UINT16 x);
WINDIVERTEXPORT UINT32 WinDivertHelperNtohl(__in UINT32 x);
WINDIVERTEXPORT UINT32 WinDivertHelperHtonl(__in UINT32 x);
WINDIVERTEXPORT UINT64 WinDivertHelperNtohll(__in UINT64 x);
WINDIVERTEXPORT UINT64 WinDivertHelperHtonll(__in UINT64 x);
WINDIVERTEXPORT void WinDivertHelperNtohIPv6Address(__in const UINT *inAddr,
						    __out UINT *outAddr);
WINDIVERTEXPORT void WinDivertHelperHtonIPv6Address(__in const UINT *inAddr,
						    __out UINT *outAddr);
/* The same, by their earlier names. */
WINDIVERTEXPORT void WinDivertHelperNtohIpv6Address(__in const UINT *inAddr,
						    __out UINT *outAddr);
WINDIVERTEXPORT void WinDivertHelperHtonIpv6Address(__in const UINT *inAddr,
						    __out UINT *outAddr);

/* ------------------------------------------------------------------------ */
/* Linux extensions: for a program that waits in an event loop              */

/* WinDivertRecvEx() flag: return at once, FALSE with ERROR_IO_PENDING when
 * nothing waits, instead of waiting for the first packet or event. */
#define WINDIVERT_RECV_FLAG_NO_BLOCK 0x1

/* A descriptor that polls readable when a receive on handle may find packets
 * or events (it stays readable once the handle is shut down for receiving).
 * Poll it, then call WinDivertRecvEx() with WINDIVERT_RECV_FLAG_NO_BLOCK until
 * ERROR_IO_PENDING: packets already taken from the kernel do not make it
 * readable again. It belongs to the handle: WinDivertClose() closes it. -1 on
 * failure: ERROR_INVALID_HANDLE, or ERROR_INVALID_PARAMETER for a handle that
 * cannot receive (SEND_ONLY or DROP). */
WINDIVERTEXPORT int WinDivertGetFd(__in HANDLE handle);

#ifdef __cplusplus
}
#endif

#endif /* WINDIVERT_H */
