/**
 * The OpenStack credential files the program hands to the cluster: clouds.yaml for CAPO and
 * ORC, cloud.conf for the cloud controller manager and Cinder CSI. Pure renderers.
 */
import { stringify } from "yaml";
import { CLOUD_NAME } from "../shared/contract";

/** An application credential and where to use it. */
export interface AppCredentialAuth {
    /** Keystone URL (the identity endpoint of the catalog). */
    authUrl: string;
    /** Region name, if the cloud has several. */
    region?: string;
    /** Application credential ID. */
    id: string;
    /** Application credential secret. */
    secret: string;
}

/** One endpoint of a service catalog entry (as getAuthScope returns it). */
export interface CatalogEndpoint {
    interface: string;
    region: string;
    url: string;
}

/** One service of the catalog. */
export interface CatalogService {
    type: string;
    endpoints: CatalogEndpoint[];
}

/**
 * The public identity endpoint of the catalog, in `region` when given. The catalog is the
 * one of the project the credentials are created in (the workload project's, when set).
 * `regionSetting` names the setting the region came from, for the error message.
 * @throws when the catalog has none (the message says which setting to look at).
 */
export function identityEndpoint(catalog: CatalogService[], region?: string, regionSetting = "openstack:region"): string {
    const url = publicEndpoint(catalog, "identity", region);
    if (url === undefined) {
        throw new Error(
            "the service catalog has no public identity endpoint" +
                (region ? ` (${regionSetting} is ${JSON.stringify(region)})` : "") +
                "; clouds.yaml for Cluster API cannot be written",
        );
    }
    return url;
}

/**
 * The URL (without trailing `/`) of the catalog's public endpoint of services of `type`: the
 * one in `region` when given and there is one there, else the first public one; `undefined`
 * when there is no public endpoint of that type at all.
 */
export function publicEndpoint(catalog: CatalogService[], type: string, region?: string): string | undefined {
    const endpoints = catalog.filter((s) => s.type === type).flatMap((s) => s.endpoints);
    const publicOnes = endpoints.filter((e) => e.interface === "public");
    const match = publicOnes.find((e) => !region || e.region === region) ?? publicOnes[0];
    return match?.url.replace(/\/+$/, "");
}

function checkAuth(a: AppCredentialAuth): void {
    if (!/^https?:\/\/\S+$/.test(a.authUrl)) {
        throw new Error(`auth URL ${JSON.stringify(a.authUrl)} is not an http(s) URL`);
    }
    if (a.id.trim() === "" || a.secret.trim() === "") {
        throw new Error("application credential ID and secret must not be empty");
    }
}

/**
 * clouds.yaml with one cloud, {@link CLOUD_NAME}, authenticating with the application
 * credential. For CAPO and ORC the CA, when any, travels beside it (Secret key `cacert`);
 * `caFile` names it by path instead (`cacert`), for the workload clusters' OCCM.
 */
export function renderCloudsYaml(a: AppCredentialAuth & { caFile?: string }): string {
    checkAuth(a);
    const cloud: Record<string, unknown> = {
        auth_type: "v3applicationcredential",
        auth: { auth_url: a.authUrl, application_credential_id: a.id, application_credential_secret: a.secret },
        interface: "public",
        identity_api_version: 3,
    };
    if (a.region) {
        cloud.region_name = a.region;
    }
    if (a.caFile) {
        cloud.cacert = a.caFile;
    }
    return stringify({ clouds: { [CLOUD_NAME]: cloud } });
}

/**
 * cloud.conf (INI) for the OpenStack cloud controller manager and Cinder CSI.
 * `caFile` is the path of the CA inside their mounted Secret, when a private CA is used.
 */
export function renderCloudConf(a: AppCredentialAuth & { caFile?: string }): string {
    checkAuth(a);
    const value = (v: string) => {
        if (/[\r\n]/.test(v)) {
            throw new Error("cloud.conf values must be single lines");
        }
        return /[\s;#"]/.test(v) ? `"${v.replace(/(["\\])/g, "\\$1")}"` : v;
    };
    const lines = [
        "[Global]",
        `auth-url=${value(a.authUrl)}`,
        `application-credential-id=${value(a.id)}`,
        `application-credential-secret=${value(a.secret)}`,
        ...(a.region ? [`region=${value(a.region)}`] : []),
        ...(a.caFile ? [`ca-file=${value(a.caFile)}`] : []),
        "",
    ];
    return lines.join("\n");
}
