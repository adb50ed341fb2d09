/**
 * Renewal of the kind management cluster's certificates, and what the program reports about it.
 *
 * kubeadm's certificates in the kind node (the API server's and the admin client certificate
 * the `kubeconfig` output carries) last a year. On the server, `capi-mgmt-cert-renew.timer`
 * runs `src/host/scripts/cert-renew.sh` daily: it renews them (`kubeadm certs renew all`, control plane
 * restarted) from {@link RENEW_BEFORE_DAYS} days before expiry and keeps the server's copy of the
 * admin kubeconfig current. The program's side: the kubeconfig and expiry steps read again once
 * per renewal, keyed by {@link certRefreshKey}, and the `apiServerCertRenewal` output says when.
 *
 * Pure: rendering and date arithmetic only, no Pulumi runtime.
 */
import { X509Certificate } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { HOST_STATE_DIR, HOST_SYSTEMD_DIR, renderHostScript, SERVER_KUBECONFIG } from "../host/hostScripts";

/** Renewal starts when a certificate expires within this many days (kubeadm's last 365). */
export const RENEW_BEFORE_DAYS = 30;
/**
 * The program reads the kubeconfig again from this many days before its certificate expires:
 * a day after the timer's window opens, so the renewal has happened by then (or is done by the
 * cert-renewal step of that same run), even with the server's and this machine's clocks apart.
 */
export const REFRESH_BEFORE_DAYS = RENEW_BEFORE_DAYS - 1;
/** Bound of the wait for the API server after the control plane's restart, seconds. */
export const CERT_RESTART_TIMEOUT_SECONDS = 300;
/** Where the cert-renewal step installs the rendered `src/host/scripts/cert-renew.sh` (the service's ExecStart). */
export const CERT_RENEW_COMMAND = "/usr/local/sbin/capi-mgmt-cert-renew";
/** The service and timer units, as files in `src/host/systemd/`. */
export const CERT_RENEW_SERVICE = "capi-mgmt-cert-renew.service";
export const CERT_RENEW_TIMER = "capi-mgmt-cert-renew.timer";
/** Where systemd units of the administrator go. */
export const SYSTEMD_UNIT_DIR = "/etc/systemd/system";
/** Name of the stack output {@link CertRenewalOutput} (read back by the next run). */
export const CERT_RENEWAL_OUTPUT = "apiServerCertRenewal";

const DAY_MS = 24 * 3600 * 1000;
const KIND_CLUSTER_NAME = /^[a-z0-9][a-z0-9.-]{0,49}$/;

/** A unit file of `src/host/systemd/`. */
export function readCertRenewUnit(name: typeof CERT_RENEW_SERVICE | typeof CERT_RENEW_TIMER): string {
    return fs.readFileSync(path.join(HOST_SYSTEMD_DIR, name), "utf8");
}

function checkClusterName(name: string): void {
    if (typeof name !== "string" || !KIND_CLUSTER_NAME.test(name)) {
        throw new Error(`clusterName must be a kind cluster name (lowercase letters, digits, "." and "-", at most 50 characters), got ${JSON.stringify(name)}`);
    }
}

/** Renders `src/host/scripts/cert-renew.sh` for kind cluster `clusterName` (what the timer runs). */
export function renderCertRenewScript(p: { clusterName: string }): string {
    checkClusterName(p.clusterName);
    return renderHostScript("cert-renew.sh", {
        CLUSTER_NAME: p.clusterName,
        STATE_DIR: HOST_STATE_DIR,
        KUBECONFIG_PATH: SERVER_KUBECONFIG,
        RENEW_BEFORE_DAYS: String(RENEW_BEFORE_DAYS),
        RESTART_TIMEOUT_SECONDS: String(CERT_RESTART_TIMEOUT_SECONDS),
    });
}

/** Parameters of {@link renderCertRenewalInstall}; the paths default to the server's (tests move them). */
export interface CertRenewalInstallParams {
    /** The rendered renewal script ({@link renderCertRenewScript}). */
    renewScript: string;
    /** Where the renewal script is installed; default {@link CERT_RENEW_COMMAND}. */
    renewCommand?: string;
    /** Where the units are installed; default {@link SYSTEMD_UNIT_DIR}. */
    unitDir?: string;
}

/**
 * Renders `src/host/scripts/cert-renewal.sh`, the cert-renewal step: installs the renewal script (carried
 * base64-encoded, one line) and the units, rewriting only what differs, enables the timer, and
 * runs the renewal once.
 */
export function renderCertRenewalInstall(p: CertRenewalInstallParams): string {
    const service = readCertRenewUnit(CERT_RENEW_SERVICE);
    if (!service.includes(`\nExecStart=${CERT_RENEW_COMMAND}\n`)) {
        throw new Error(`src/host/systemd/${CERT_RENEW_SERVICE} must run ExecStart=${CERT_RENEW_COMMAND}`);
    }
    if (!p.renewScript.startsWith("#!")) {
        throw new Error("renewScript must be a rendered script");
    }
    return renderHostScript(
        "cert-renewal.sh",
        {
            RENEW_SCRIPT_BASE64: Buffer.from(p.renewScript).toString("base64"),
            RENEW_COMMAND: p.renewCommand ?? CERT_RENEW_COMMAND,
            UNIT_DIR: p.unitDir ?? SYSTEMD_UNIT_DIR,
            SERVICE_NAME: CERT_RENEW_SERVICE,
            SERVICE_UNIT: service,
            TIMER_NAME: CERT_RENEW_TIMER,
            TIMER_UNIT: readCertRenewUnit(CERT_RENEW_TIMER),
        },
        { multiLine: ["SERVICE_UNIT", "TIMER_UNIT"] },
    );
}

/** The cert-renewal step's script for kind cluster `clusterName`, with the server's paths. */
export function renderCertRenewalInstallScript(p: { clusterName: string }): string {
    return renderCertRenewalInstall({ renewScript: renderCertRenewScript(p) });
}

/** RFC 3339 UTC in whole seconds, e.g. `2027-11-22T13:00:00Z`. */
function rfc3339(ms: number): string {
    return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * notAfter (RFC 3339) of the client certificate of the first user in `kubeconfig`;
 * undefined when there is none that parses (an empty or unknown kubeconfig).
 */
export function kubeconfigCertExpiry(kubeconfig: unknown): string | undefined {
    if (typeof kubeconfig !== "string" || kubeconfig.trim() === "") {
        return undefined;
    }
    try {
        const doc = parse(kubeconfig) as { users?: Array<{ user?: Record<string, unknown> }> };
        const data = doc?.users?.[0]?.user?.["client-certificate-data"];
        if (typeof data !== "string") {
            return undefined;
        }
        return rfc3339(Date.parse(new X509Certificate(Buffer.from(data, "base64")).validTo));
    } catch {
        return undefined;
    }
}

/**
 * What a stack output records about a kubeconfig the program re-reads once per renewal of its
 * client certificate (read back by the next run): `apiServerCertRenewal` for the kind cluster's,
 * `selfHostedKubeconfigRefresh` for the self-hosted cluster's (src/cluster/selfHostedKubeconfig.ts).
 */
export interface KubeconfigRefreshRecord {
    /** notAfter of the client certificate in the kubeconfig the program uses ("" when unknown). */
    kubeconfigCertExpiry: string;
    /** The first `up` from this instant reads the kubeconfig again ("" when unknown). */
    refreshFrom: string;
    /** What the last re-read of the kubeconfig was keyed on (read back by the next run; "" none yet). */
    refreshKey: string;
}

/** The stack output `apiServerCertRenewal`: when the certificates are renewed, and the refresh key. */
export interface CertRenewalOutput extends KubeconfigRefreshRecord {
    /** The systemd timer on the server that renews them (daily). */
    timer: string;
    /** The timer renews when a certificate expires within this many days. */
    renewBeforeDays: number;
    /** From this instant ({@link kubeconfigCertExpiry} less {@link renewBeforeDays}) the timer renews ("" when unknown). */
    renewalDueFrom: string;
}

/** What the previous `up` recorded, as the StackReference to the stack reads it back. */
export interface PreviousCertState {
    /** The previous `apiServerCertRenewal` output, if any. */
    renewal?: unknown;
    /** The previous `kubeconfig` output, if any (a stack from before `apiServerCertRenewal`). */
    kubeconfig?: unknown;
}

/**
 * The key a kubeconfig is re-read on (the `triggers` of the steps that read it): the previous
 * run's key (`previous.refreshKey`, a {@link KubeconfigRefreshRecord} as read back, anything
 * else counting as none), until the client certificate recorded there (or, without a record,
 * the one in `fallbackKubeconfig`) expires within `beforeDays` days; then
 * `renewed-after:<that expiry>`. That re-read gives a kubeconfig with a younger certificate,
 * whose renewal is not due, so the run after it keeps the key: one re-read per renewal, and
 * every other preview stays empty. Without any recorded state the key is "".
 */
export function kubeconfigRefreshKey(previous: unknown, fallbackKubeconfig: unknown, now: Date, beforeDays: number): string {
    const record = (typeof previous === "object" && previous !== null ? previous : {}) as Partial<KubeconfigRefreshRecord>;
    const previousKey = typeof record.refreshKey === "string" ? record.refreshKey : "";
    const recorded = typeof record.kubeconfigCertExpiry === "string" && record.kubeconfigCertExpiry !== "" ? record.kubeconfigCertExpiry : undefined;
    const expiry = recorded ?? kubeconfigCertExpiry(fallbackKubeconfig);
    const expiryMs = expiry === undefined ? NaN : Date.parse(expiry);
    if (Number.isNaN(expiryMs) || now.getTime() < expiryMs - beforeDays * DAY_MS) {
        return previousKey;
    }
    return `renewed-after:${rfc3339(expiryMs)}`;
}

/** The {@link KubeconfigRefreshRecord} of this run's kubeconfig, re-read from `beforeDays` days before its expiry. */
export function kubeconfigRefreshRecord(kubeconfig: unknown, refreshKey: string, beforeDays: number): KubeconfigRefreshRecord {
    const expiry = kubeconfigCertExpiry(kubeconfig);
    return {
        kubeconfigCertExpiry: expiry ?? "",
        refreshFrom: expiry === undefined ? "" : rfc3339(Date.parse(expiry) - beforeDays * DAY_MS),
        refreshKey,
    };
}

/**
 * The key the kubeconfig, certificate-expiry and cert-renewal steps are re-run on
 * ({@link kubeconfigRefreshKey} of the previous `apiServerCertRenewal`, or for a stack from
 * before it of its `kubeconfig` output): from {@link REFRESH_BEFORE_DAYS} days before the
 * kubeconfig's client certificate expires, a day after the timer's window opened.
 */
export function certRefreshKey(previous: PreviousCertState, now: Date): string {
    return kubeconfigRefreshKey(previous.renewal, previous.kubeconfig, now, REFRESH_BEFORE_DAYS);
}

/** The `apiServerCertRenewal` output for this run's kubeconfig and refresh key. */
export function certRenewalOutput(kubeconfig: unknown, refreshKey: string): CertRenewalOutput {
    const record = kubeconfigRefreshRecord(kubeconfig, refreshKey, REFRESH_BEFORE_DAYS);
    const expiry = record.kubeconfigCertExpiry;
    return {
        timer: CERT_RENEW_TIMER,
        renewBeforeDays: RENEW_BEFORE_DAYS,
        renewalDueFrom: expiry === "" ? "" : rfc3339(Date.parse(expiry) - RENEW_BEFORE_DAYS * DAY_MS),
        ...record,
    };
}
