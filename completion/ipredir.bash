# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# Bash completion for ipredir(8): subcommands, their options (read from
# `ipredir SUBCOMMAND --help`, so they never go stale), interface names after
# -i, file names after -w, -r and --exe, capture formats after --format,
# directories after --cgroup, commands after run's --.

declare -gA _ipredir_help_cache

# _ipredir_help PROG [SUBCOMMAND]: the --help text, asked once per subcommand.
_ipredir_help()
{
	local key="$1 $2"
	if [[ -z ${_ipredir_help_cache[$key]+set} ]]; then
		_ipredir_help_cache[$key]=$("$1" ${2:+"$2"} --help 2>/dev/null)
	fi
	printf '%s\n' "${_ipredir_help_cache[$key]}"
}

# _ipredir_commands PROG: the subcommands `ipredir --help` lists.
_ipredir_commands()
{
	_ipredir_help "$1" | sed -n 's/^  \([a-z][a-z0-9-]*\)  *[^ ].*/\1/p'
}

# _ipredir_options PROG SUBCOMMAND [arg]: its options, or only those taking an
# argument ("  -b, --batch N    text": the part before the first double blank).
_ipredir_options()
{
	local spec word opts
	_ipredir_help "$1" "$2" | sed -n 's/^ *\(-[^ ]*\( [^ ][^ ]*\)*\).*/\1/p' |
		while read -r spec; do
			opts=()
			for word in ${spec//,/}; do
				[[ $word =~ ^--?[a-z0-9][a-z0-9-]*$ ]] || break
				opts+=("$word")
			done
			[[ $3 != arg || $word =~ ^[A-Z] ]] && printf '%s\n' "${opts[@]}"
		done | sort -u
}

_ipredir_interfaces()
{
	local ifs=(/sys/class/net/*)
	printf '%s\n' "${ifs[@]##*/}"
}

_ipredir()
{
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
	local prog=${COMP_WORDS[0]} sub=${COMP_WORDS[1]} i
	COMPREPLY=()
	if ((COMP_CWORD == 1)); then
		mapfile -t COMPREPLY < <(compgen -W "$(_ipredir_commands "$prog") --help --version" -- "$cur")
		return
	fi
	for ((i = 2; i < COMP_CWORD; i++)); do
		[[ ${COMP_WORDS[i]} == -- ]] || continue
		if ((i == COMP_CWORD - 1)); then
			mapfile -t COMPREPLY < <(compgen -c -- "$cur" | sort -u)
		else
			mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		fi
		return
	done
	case $prev in
	-i | --interface | --in-interface | --out-interface)
		mapfile -t COMPREPLY < <(compgen -W "$(_ipredir_interfaces)" -- "$cur")
		return
		;;
	-w | --write | -r | --read | --metrics-file | --exe)
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return
		;;
	--format)
		mapfile -t COMPREPLY < <(compgen -W "pcap pcapng" -- "$cur")
		return
		;;
	--cgroup)
		mapfile -t COMPREPLY < <(compgen -d -- "$cur")
		return
		;;
	esac
	# Another option's argument (a number, a filter, an address): nothing to offer.
	[[ $prev == -* ]] && _ipredir_options "$prog" "$sub" arg | grep -qx -- "$prev" && return
	mapfile -t COMPREPLY < <(compgen -W "$(_ipredir_options "$prog" "$sub")" -- "$cur")
}

complete -F _ipredir ipredir
