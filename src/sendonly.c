/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * sendonly.c - the engine of IPR_OPEN_SEND_ONLY handles: it takes no packet,
 * installs no table and binds no queue; the handle exists to inject with
 * ipr_send().
 */
#include "internal.h"

static int sendonly_serves(const struct ipr_options *o)
{
	return !!(o->flags & IPR_OPEN_SEND_ONLY);
}

static int sendonly_open(struct ipr_handle *h, const struct ipr_options *o,
			 struct ipr_rules_action *act)
{
	*act = (struct ipr_rules_action){ .kind = IPR_ACTION_NONE, .count = 1 };
	return 0;
}

static int sendonly_recv(struct ipr_handle *h, const struct ipr_rx *rx)
{
	if (ipr_is_shut(h))
		return ipr_shut_empty();
	return ipr_fail(-ENOTCONN, "a send-only handle receives no packets");
}

static int sendonly_stats(struct ipr_handle *h, struct ipr_stats *s)
{
	return 0;
}

static int sendonly_close(struct ipr_handle *h)
{
	return 0;
}

const struct ipr_engine ipr_engine_sendonly = {
	.name = "send-only",
	.holds = 0,
	.serves = sendonly_serves,
	.open = sendonly_open,
	.recv = sendonly_recv,
	.stats = sendonly_stats,
	.close = sendonly_close,
};
