#!/usr/bin/env bash
# backup-volume.sh: the backup-volume step of `pulumi up` (src/backup/managementBackup.ts; runs
# as root). Mounts the stack's Cinder backup volume at MOUNT_DIR, the backup directory, so
# that the backups outlive the server (a serverGeneration bump moves the volume to the new
# one).
#
#   - finds the volume by its ID under DEVICE_DIR (/dev/disk/by-id: Nova's virtio disks are
#     named virtio-<first 20 characters of the volume ID>, virtio-scsi ones
#     scsi-0QEMU_QEMU_HARDDISK_<same>), waiting up to WAIT_SECONDS for udev;
#   - formats it (ext4, label FS_LABEL) ONLY when it is blank: no filesystem, no partition
#     table, no signature of anything (blkid -p finds nothing). A volume holding anything
#     else than ext4 is refused, never formatted;
#   - grows the filesystem when the volume was extended (capi-mgmt:backup.volumeSize);
#   - mounts it at MOUNT_DIR (0700) and records it in FSTAB by UUID, `nofail` (a server boots
#     without it); backups already in MOUNT_DIR on the root disk (made before the volume)
#     are copied onto it first, none overwritten.
# With VOLUME_ID empty (backup.volumeSize 0): the backups stay on the root disk; a volume
# mounted there before is unmounted and its FSTAB line removed (the volume is then detached
# and deleted by the same `up`).
# Idempotent: a second run changes nothing. Logs on stderr; stdout one line.
#
# Parameters (rendered above this header by src/backup/managementBackup.ts):
#   VOLUME_ID     Cinder volume ID, or ""
#   VOLUME_SIZE_GIB  its size (0 without one): a larger one runs the step again, which grows the filesystem
#   MOUNT_DIR     where the backups are (the backup script's BACKUP_DIR)
#   FS_LABEL      ext4 label of a volume this script formatted
#   FSTAB         /etc/fstab
#   DEVICE_DIR    /dev/disk/by-id
#   WAIT_SECONDS  bound of the wait for the device
set -euo pipefail
umask 077

# The FSTAB entry is the line after this one.
readonly FSTAB_MARK="# capi-mgmt backup volume (src/host/scripts/backup-volume.sh)"

log() { echo "backup-volume: $*" >&2; }
die() {
    echo "backup-volume: ERROR: $*" >&2
    exit 1
}

# Removes the FSTAB entry of the backup volume (the mark and the line after it), if any.
forget_fstab() {
    if grep -qxF -- "$FSTAB_MARK" "$FSTAB" 2>/dev/null; then
        awk -v mark="$FSTAB_MARK" 'skip { skip = 0; next } $0 == mark { skip = 1; next } { print }' "$FSTAB" >"$FSTAB.capi-mgmt.tmp"
        cat -- "$FSTAB.capi-mgmt.tmp" >"$FSTAB"
        rm -f -- "$FSTAB.capi-mgmt.tmp"
        log "removed the backup volume from $FSTAB"
    fi
}

if [[ -z "$VOLUME_ID" ]]; then
    if mountpoint -q -- "$MOUNT_DIR"; then
        sync
        umount -- "$MOUNT_DIR" || die "could not unmount $MOUNT_DIR (a backup running?); run up again"
        log "unmounted the backup volume from $MOUNT_DIR (capi-mgmt:backup.volumeSize is 0)"
    fi
    forget_fstab
    mkdir -p -- "$MOUNT_DIR"
    chmod 0700 -- "$MOUNT_DIR"
    echo "backup-volume: none; the backups stay on the root disk in $MOUNT_DIR"
    exit 0
fi
[[ "$VOLUME_SIZE_GIB" =~ ^[1-9][0-9]*$ ]] || die "VOLUME_SIZE_GIB must be a positive number, got '$VOLUME_SIZE_GIB'"
[[ "$VOLUME_ID" =~ ^[0-9A-Za-z-]{1,64}$ ]] || die "VOLUME_ID must be a Cinder volume ID, got '$VOLUME_ID'"

short=${VOLUME_ID:0:20}
device=""
waited=0
while :; do
    for candidate in "$DEVICE_DIR/virtio-$short" "$DEVICE_DIR/scsi-0QEMU_QEMU_HARDDISK_$short"; do
        if [[ -b "$candidate" || -L "$candidate" ]]; then
            device=$candidate
            break 2
        fi
    done
    ((waited < WAIT_SECONDS)) || die "volume $VOLUME_ID is attached but no device $DEVICE_DIR/virtio-$short (or scsi-0QEMU_QEMU_HARDDISK_$short) appeared within ${WAIT_SECONDS}s; see 'ls -l $DEVICE_DIR' and 'openstack server volume list <server>'"
    udevadm settle --timeout=5 >/dev/null 2>&1 || true
    sleep 1
    waited=$((waited + 1))
done

# What the device holds: blkid -p (low-level probe) exits 2 when it finds no signature at all.
status=0
fstype=$(blkid -p -o value -s TYPE -- "$device") || status=$?
if ((status == 2)); then
    ptable=$(blkid -p -o value -s PTTYPE -- "$device" || true)
    [[ -z "$ptable" ]] || die "volume $VOLUME_ID ($device) has a partition table ($ptable) and is not formatted by capi-mgmt; refusing to touch it"
    log "volume $VOLUME_ID ($device) is blank: creating an ext4 filesystem labelled $FS_LABEL"
    mkfs.ext4 -q -L "$FS_LABEL" "$device" >&2
    fstype=ext4
elif ((status != 0)); then
    die "cannot probe $device (blkid exit $status); nothing was formatted"
fi
[[ "$fstype" == ext4 ]] || die "volume $VOLUME_ID ($device) holds a ${fstype:-unknown} filesystem, not capi-mgmt's ext4; refusing to format or mount it"
uuid=$(blkid -p -o value -s UUID -- "$device") || die "cannot read the filesystem UUID of $device"
[[ "$uuid" =~ ^[0-9A-Fa-f-]+$ ]] || die "unexpected filesystem UUID '$uuid' on $device"

mkdir -p -- "$MOUNT_DIR"
if ! mountpoint -q -- "$MOUNT_DIR"; then
    # Backups made on the root disk before the volume: copied onto it (none overwritten).
    earlier=""
    if [[ -n "$(ls -A -- "$MOUNT_DIR" 2>/dev/null)" ]]; then
        earlier="$MOUNT_DIR.root-disk"
        rm -rf -- "$earlier"
        mv -T -- "$MOUNT_DIR" "$earlier"
        mkdir -p -- "$MOUNT_DIR"
    fi
    mount -t ext4 -- "$device" "$MOUNT_DIR" || die "could not mount $device at $MOUNT_DIR"
    log "mounted volume $VOLUME_ID ($device) at $MOUNT_DIR"
    if [[ -n "$earlier" ]]; then
        cp -a -n -- "$earlier/." "$MOUNT_DIR/"
        rm -rf -- "$earlier"
        log "copied the backups made on the root disk onto the volume"
    fi
fi
# Grown online when the volume was extended (nothing to do otherwise).
resize2fs "$device" >/dev/null 2>&1 || log "note: resize2fs $device did not run (see 'resize2fs $device')"
chmod 0700 -- "$MOUNT_DIR"

line="UUID=$uuid $MOUNT_DIR ext4 defaults,nofail,x-systemd.device-timeout=30s 0 2"
if ! grep -qxF -- "$line" "$FSTAB" 2>/dev/null; then
    forget_fstab
    printf '%s\n%s\n' "$FSTAB_MARK" "$line" >>"$FSTAB"
    log "recorded the backup volume in $FSTAB"
fi
echo "backup-volume: volume $VOLUME_ID ($VOLUME_SIZE_GIB GiB) mounted at $MOUNT_DIR"
