# BPF programs of the library: compiled with clang for the bpf target and embedded in
# libipredir as libbpf skeletons (bpftool gen skeleton), so nothing is installed beside it.
BPF_CLANG ?= clang
BPF_SRCS := $(wildcard src/bpf/*.bpf.c)
BPF_SKELS := $(BPF_SRCS:src/bpf/%.bpf.c=$(B)/bpf/%.skel.h)
BPF_ARCH_INC := /usr/include/$(shell $(BPF_CLANG) -print-multiarch 2>/dev/null)

$(B)/bpf/%.bpf.o: src/bpf/%.bpf.c src/bpf/%.h
	@mkdir -p $(@D)
	$(BPF_CLANG) -O2 -g -Wall -target bpf -mcpu=v3 -I$(BPF_ARCH_INC) -Isrc/bpf -c $< -o $@

$(B)/bpf/%.skel.h: $(B)/bpf/%.bpf.o
	bpftool gen skeleton $< name ipr_$*_bpf > $@.tmp && mv $@.tmp $@

# The library's objects that load the programs see the skeleton; those that read
# their records, owner.h (monitor.h).
$(B)/obj/lib/sockbpf.o $(B)/obj/lib/events.o: $(B)/bpf/owner.skel.h
$(B)/obj/lib/bpfmon.o: $(B)/bpf/monitor.skel.h
$(B)/obj/lib/sockbpf.o $(B)/obj/lib/process.o $(B)/obj/lib/events.o $(B)/obj/lib/bpfmon.o: \
	IPR_CFLAGS += -I$(B)/bpf -Isrc/bpf

# The same objects in the fuzzing build (mk/fuzz.mk).
$(B)/fuzz/obj/sockbpf.o $(B)/fuzz/obj/events.o: $(B)/bpf/owner.skel.h
$(B)/fuzz/obj/bpfmon.o: $(B)/bpf/monitor.skel.h
$(B)/fuzz/obj/sockbpf.o $(B)/fuzz/obj/process.o $(B)/fuzz/obj/events.o $(B)/fuzz/obj/bpfmon.o: \
	FUZZ_CFLAGS += -I$(B)/bpf -Isrc/bpf

# The objects stay beside their skeletons (bpftool reads them; make would delete them).
.PRECIOUS: $(B)/bpf/%.bpf.o
