# mk/soak.mk - the long mixed run of tests/netns/test_soak.sh.
#
#   make soak        run the soak test for SOAK_SECONDS (600; root)
#
# TCP, UDP and ICMP over IPv4 and IPv6 through passthru and rewrite at once;
# memory and descriptors sampled.
SOAK_SECONDS ?= 600

soak: deps
	$(MAKE) all
	SOAK_SECONDS=$(SOAK_SECONDS) IPR_BUILD=$(abspath $(B)) bash tests/netns/test_soak.sh

.PHONY: soak
