# shellcheck shell=bash
# Sourced by the fake ssh commands (check/, rebuild/, restore/ssh.sh), installed beside them: reads
# ssh's arguments into `args` (all of them), `key` (the file after -i) and `known_hosts` (the file
# of the UserKnownHostsFile= option), each "" when not given.
# Inputs: the arguments of the fake ssh ("$@" where it is sourced).
# shellcheck disable=SC2034 # used by the fakes that source this
args=("$@")
key="" known_hosts=""
for ((i = 0; i < ${#args[@]}; i++)); do
    case "${args[i]}" in
        -i) key=${args[i + 1]} ;;
        UserKnownHostsFile=*) known_hosts=${args[i]#UserKnownHostsFile=} ;;
    esac
done
