/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nfnl.c - what the NFQUEUE and NFLOG engines share: nfnetlink headers and acked requests. */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>

#include "internal.h"

struct nlmsghdr *ipr_nfnl_put_header(void *buf, uint8_t subsys, uint8_t type, uint16_t res_id,
				     uint32_t seq)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = (uint16_t)((subsys << 8) | type);
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_UNSPEC;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = htons(res_id);
	return nlh;
}

/* The error code of the ack for seq in n bytes at buf, or 1 if it is not there. */
static int find_ack(const void *buf, ssize_t n, uint32_t seq)
{
	int len = (int)n;

	for (const struct nlmsghdr *nlh = buf; mnl_nlmsg_ok(nlh, len);
	     nlh = mnl_nlmsg_next(nlh, &len))
		if (nlh->nlmsg_type == NLMSG_ERROR && nlh->nlmsg_seq == seq)
			return ((const struct nlmsgerr *)mnl_nlmsg_get_payload(nlh))->error;
	return 1;
}

int ipr_nfnl_talk(int fd, struct nlmsghdr *nlh)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	int err = 1;

	nlh->nlmsg_flags |= NLM_F_ACK;
	if (send(fd, nlh, nlh->nlmsg_len, 0) < 0)
		return -errno;
	while (err == 1) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0)
			return -errno;
		err = find_ack(buf, n, nlh->nlmsg_seq);
	}
	return err;
}

uint8_t ipr_hook_layer(uint8_t hook)
{
	switch (hook) {
	case NF_INET_LOCAL_IN:
		return IPR_LAYER_IN;
	case NF_INET_LOCAL_OUT:
		return IPR_LAYER_OUT;
	default:
		return IPR_LAYER_FORWARD;
	}
}

uint32_t ipr_seq_advance(uint32_t *last, int *have, uint32_t value)
{
	uint32_t skipped = 0;

	if (*have && (int32_t)(value - *last) > 1)
		skipped = value - *last - 1;
	if (!*have || (int32_t)(value - *last) > 0)
		*last = value;
	*have = 1;
	return skipped;
}
