/**
 * How long the program's remote commands keep dialing SSH before they give up, and the
 * model of pulumi-command 1.2.1 that tells.
 *
 * pulumi-command 1.2.1 (provider/pkg/provider/remote/connection.go, `Dial` and
 * `dialWithRetry`) dials with `ssh.Dial`, each attempt bounded by `perDialTimeout` seconds
 * (the TCP connect; default 15), and gives up once the number of failed dials exceeds
 * `dialErrorLimit` (default 10), i.e. after `dialErrorLimit + 1` dials. Between two dials it
 * waits as pulumi's `retry.Until` does (sdk/go/common/util/retry/until.go, sdk v3.224.0):
 * 100 ms, then 1.5 times longer each time, at most 5 s. A connection's settings are stored
 * with the resource, and its delete uses the stored ones.
 *
 * When the server is gone, each dial either times out (no answer on the floating IP: the
 * full `perDialTimeout`) or fails at once (connection refused, no route, or another host's
 * key on a reused address); the first is the slow case bounded here.
 */

/** Retry bounds of one connection. */
export interface DialBounds {
    /** `dialErrorLimit`: failed dials tolerated before giving up (the dials are one more). */
    dialErrorLimit: number;
    /** `perDialTimeout`: seconds one dial may take. */
    perDialTimeout: number;
}

/**
 * The bounds of every step that builds the server up (`create`/`update`): the server may
 * still be booting, or rebooting after a resize. 61 dials of up to 15 s: about 20 minutes.
 * None of those steps has a `delete`, so none of them dials on `pulumi destroy`.
 */
export const SETUP_DIAL: DialBounds = { dialErrorLimit: 60, perDialTimeout: 15 };

/**
 * The bounds of the teardown (the one step whose `delete` runs something, and must really
 * run while the server exists): 16 dials of up to 10 s, about 3¼ minutes when no dial is
 * answered, about 35 s when each is refused. That rides out a transient blip (a network
 * hiccup, sshd restarting, a reboot by unattended upgrades) yet gives up soon when the
 * server is gone, where the setup bounds would dial for 20 minutes.
 */
export const TEARDOWN_DIAL: DialBounds = { dialErrorLimit: 15, perDialTimeout: 10 };

/** pulumi's retry.Until defaults: first wait, growth factor, longest wait (seconds). */
const RETRY_FIRST_WAIT = 0.1;
const RETRY_BACKOFF = 1.5;
const RETRY_MAX_WAIT = 5;

/**
 * Seconds a connection with `bounds` dials before it gives up, when every dial fails after
 * `dialSeconds` (its `perDialTimeout` when nothing answers, about 0 when refused), as
 * pulumi-command 1.2.1 does: `dialErrorLimit + 1` dials and the waits between them.
 */
export function dialGiveUpSeconds(bounds: DialBounds, dialSeconds: number = bounds.perDialTimeout): number {
    let waits = 0;
    for (let k = 0; k < bounds.dialErrorLimit; k++) {
        waits += Math.min(RETRY_FIRST_WAIT * RETRY_BACKOFF ** k, RETRY_MAX_WAIT);
    }
    return (bounds.dialErrorLimit + 1) * dialSeconds + waits;
}
