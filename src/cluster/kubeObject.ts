import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { KubeObject } from "./clusterObjects";

/**
 * Registers one object of src/cluster/clusterObjects.ts as a resource. Secret data is always a
 * Pulumi secret, whatever the caller passed.
 */
export function kubeResource(name: string, obj: KubeObject, opts: pulumi.CustomResourceOptions): pulumi.CustomResource {
    switch (obj.kind) {
        case "Namespace":
            return new k8s.core.v1.Namespace(name, { metadata: obj.metadata }, opts);
        case "ConfigMap":
            return new k8s.core.v1.ConfigMap(name, { metadata: obj.metadata, data: obj.data as pulumi.Input<Record<string, string>> }, opts);
        case "Secret":
            return new k8s.core.v1.Secret(
                name,
                {
                    metadata: obj.metadata,
                    type: obj.type as string,
                    stringData: pulumi.secret(obj.stringData as pulumi.Input<Record<string, string>>),
                },
                opts,
            );
        default: {
            const { apiVersion, kind, metadata, ...rest } = obj;
            return new k8s.apiextensions.CustomResource(name, { apiVersion, kind, metadata, ...rest }, opts);
        }
    }
}
