# shellcheck shell=bash
# Installs a script and its systemd service and timer, and starts the timer (backup-install.sh,
# lb-cleanup-install.sh). Uses write_if_changed (files.sh, which the script includes too).
#
# Not run on its own: src/host/hostScripts.ts (renderHostScript) puts this text in place of a
# script's `# capi-mgmt:include timer-install.sh` line.

# install_timer TAG SCRIPT_PATH SCRIPT UNIT_DIR UNIT SERVICE TIMER: writes the script (0700) and
# <UNIT>.service and <UNIT>.timer (0644) where their text differs (atomically), reloads systemd
# only then, enables and starts the timer, and restarts it when its unit changed (a new
# schedule takes effect at once). A second run with the same texts changes nothing. Logs
# "TAG: wrote FILE" per file written.
install_timer() {
    local tag=$1 script_path=$2 script=$3 unit_dir=$4 unit=$5 service=$6 timer=$7 changed=0 timer_changed=0
    if write_if_changed "$script_path" "$script" 0700; then
        echo "$tag: wrote $script_path"
    fi
    if write_if_changed "$unit_dir/$unit.service" "$service" 0644; then
        echo "$tag: wrote $unit_dir/$unit.service"
        changed=1
    fi
    if write_if_changed "$unit_dir/$unit.timer" "$timer" 0644; then
        echo "$tag: wrote $unit_dir/$unit.timer"
        changed=1
        timer_changed=1
    fi
    if ((changed)); then
        systemctl daemon-reload
    fi
    systemctl enable --now "$unit.timer"
    if ((timer_changed)); then
        systemctl restart "$unit.timer"
    fi
    echo "$tag: $unit.timer is $(systemctl is-active "$unit.timer" || true)"
}
