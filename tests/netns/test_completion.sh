#!/bin/bash
# Bash completion (completion/ipredir.bash), driven through COMP_WORDS and
# COMP_CWORD as bash does: subcommands, each subcommand's own options, nothing
# after an option that takes a number or a filter, interface names after -i
# (in a namespace holding lo and a veth pair), file names after -w, -r and
# --exe, nothing after sockets' --block-connect ADDR, the formats after --format,
# commands after run's --; and bash-completion's loader finds the file where
# make install puts it.
# shellcheck source-path=SCRIPTDIR disable=SC2034,SC2317 # SUITE is read by lib.sh; helpers run via check
SUITE=completion
. "$(dirname "$0")/lib.sh"
need_root_and completion "$IPREDIR"

cat >"$WORK/complete.sh" <<'EOF'
# complete.sh FILE WORD...: complete the last WORD as bash would; candidates sorted.
. "$1" || exit 1
shift
COMP_WORDS=("$@")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
_ipredir
printf '%s\n' "${COMPREPLY[@]}" | sort
EOF

# completes_to "WORDS" CANDIDATE...: completing the words (the last one may be
# empty) gives exactly these candidates; run in namespace $IN_NS if set.
completes_to() {
	local -a words
	read -ra words <<<"$1"
	[[ $1 == *" " ]] && words+=("")
	shift
	${IN_NS:+in_ns "$IN_NS"} bash "$WORK/complete.sh" "$ROOT/completion/ipredir.bash" \
		"$IPREDIR" "${words[@]}" | sed '/^$/d' >"$WORK/got"
	printf '%s\n' "$@" | sed '/^$/d' | sort | diff - "$WORK/got" >"$WORK/diff"
}

# case NAME "WORDS" CANDIDATE...: one check of completes_to.
case_() {
	local name=$1
	shift
	check "$name" "other candidates (< expected, > got)" completes_to "$@" || show "$WORK/diff"
}

commands=$(. "$ROOT/completion/ipredir.bash" && _ipredir_commands "$IPREDIR")
[ -n "$commands" ] || fail subcommands "ipredir --help lists no subcommand"
# shellcheck disable=SC2086 # one command per word
case_ subcommands " " $commands --help --version
case_ subcommand_prefix "pa" passthru
case_ options_passthru "passthru --qu" --queue --queues --quiet
case_ options_rewrite "rewrite --d" --deadline --dnat --dscp
case_ options_wanem "wanem --r" --rate --reorder
case_ short_options_status "status -" -h -j -v --help --json --prometheus --verbose --version --watch
case_ number_argument "passthru --batch "
case_ filter_argument "block -f "
mkdir -p "$WORK/pcaps" && : >"$WORK/pcaps/capture.pcap"
case_ write_file "dump -w $WORK/pcaps/cap" "$WORK/pcaps/capture.pcap"
case_ metrics_file "passthru --metrics-file $WORK/pcaps/cap" "$WORK/pcaps/capture.pcap"
case_ read_file "filter -r $WORK/pcaps/cap" "$WORK/pcaps/capture.pcap"
case_ format_argument "dump --format " pcap pcapng
case_ options_sockets "sockets --block-" --block-bind --block-connect
case_ address_argument "sockets --block-connect "
case_ exe_file "flows --exe $WORK/pcaps/cap" "$WORK/pcaps/capture.pcap"
case_ options_filter "filter --" --dump --help --read --verbose --version --windivert
case_ run_command "run -- setpri" setpriv

if ns_new a && ip -n "$NS_PREFIX-a" link add iprv0 type veth peer name iprv1; then
	IN_NS=$NS_PREFIX-a case_ interfaces "dump -i " iprv0 iprv1 lo
	IN_NS=$NS_PREFIX-a case_ interface_prefix "passthru --in-interface iprv1" iprv1
else
	fail interfaces "could not make a namespace with a veth pair"
fi

# loads_lazily: bash-completion's loader finds share/bash-completion/completions/ipredir.
loads_lazily() {
	mkdir -p "$WORK/share/bash-completion/completions" &&
		cp completion/ipredir.bash "$WORK/share/bash-completion/completions/ipredir" &&
		XDG_DATA_DIRS=$WORK/share bash -c '. /usr/share/bash-completion/bash_completion &&
			__load_completion ipredir && complete -p ipredir' | grep -q -- '-F _ipredir ipredir'
}
cd "$ROOT" || exit 1
if [ -r /usr/share/bash-completion/bash_completion ]; then
	check loader "bash-completion did not load it from XDG_DATA_DIRS" loads_lazily
else
	skip loader "bash-completion is not installed"
fi
finish
