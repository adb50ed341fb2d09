/**
 * STAND-IN FOR ORC's MANAGER (openstack-resource-controller v2.6.0), for the CAPO tests on the
 * OpenStack test bed until the real manager is built into the test-bed cache (key "orc" in
 * testbed.json, started like the other managers): swap {@link orcStandIn} for it at merge time.
 *
 * CAPO v0.14.7 reads two things ORC provides: an ORC `Image`'s `status.id` once its `Available`
 * condition is true (pkg/cloud/services/compute/instance.go, getImageIDByReference), and the Nova
 * server group its `serverGroup.filter.name` finds, which the tree's `managed` ORC `ServerGroup`
 * objects create. The stand-in does what ORC does for exactly the objects the tree has, through
 * the real APIs of the bed, as the project's user (not with the credential in the cluster):
 *   - `Image` with `spec.import.filter.name`: looks the image up in Glance by name (it must be
 *     exactly one image, active, visible to the project) and writes its ID and the conditions
 *     `Available=True`, `Progressing=False/Success` into the object's status;
 *   - `ServerGroup` with `managementPolicy: managed`: creates the Nova server group (name
 *     `spec.resource.name` or the object's name, `spec.resource.policy`) and writes its ID and
 *     the same conditions; on "deleted" it deletes the Nova group, as ORC's finalizer would.
 * What it does not do: ORC's polling, its finalizers, `unmanaged` server groups, image uploads
 * (`spec.resource.content`), refusals (an Image that finds nothing is reported by an exception
 * here, where ORC would leave the object Progressing for ever).
 */
import { KubeObject } from "./harness/controlPlane";
import { ControlPlane } from "./harness/controlPlane";
import { at } from "./harness/objects";
import { ApiError, Session } from "./openstackBed";

const ORC_GROUP = "openstack.k-orc.cloud";
const RESOURCE = { Image: `images.v1alpha1.${ORC_GROUP}`, ServerGroup: `servergroups.v1alpha1.${ORC_GROUP}` } as const;

function readyStatus(id: string, generation: number | undefined, resource: Record<string, unknown>): Record<string, unknown> {
    const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
    const cond = (type: string, status: string, reason: string, message: string) => ({
        type, status, reason, message, lastTransitionTime: now, ...(generation ? { observedGeneration: generation } : {}),
    });
    return {
        id,
        resource,
        conditions: [
            cond("Available", "True", "Success", "OpenStack resource is available (capi-mgmt test stand-in for ORC)"),
            cond("Progressing", "False", "Success", "OpenStack resource is up to date (capi-mgmt test stand-in for ORC)"),
        ],
    };
}

/**
 * The ORC stand-in (see the file's comment). `event` "applied": makes the OpenStack
 * counterparts of the tree's ORC objects `objects` and reports them in their status; "deleted":
 * deletes the Nova server groups of managed ServerGroups that were deleted. Returns the
 * OpenStack IDs by object name.
 */
export async function orcStandIn(cp: ControlPlane, user: Session, objects: KubeObject[], event: "applied" | "deleted"): Promise<Map<string, string>> {
    const ids = new Map<string, string>();
    const orc = objects.filter((o) => o.apiVersion.startsWith(`${ORC_GROUP}/`));
    const groups = (await user.call<{ server_groups: { id: string; name: string }[] }>("compute", "GET", "/os-server-groups")).server_groups;
    for (const o of orc) {
        const ns = o.metadata.namespace as string;
        const managed = at(o, "spec.managementPolicy") === "managed";
        if (o.kind === "Image" && event === "applied") {
            const name = at(o, "spec.import.filter.name") as string | undefined;
            if (!name) {
                throw new Error(`ORC stand-in: Image ${o.metadata.name} does not import by name (the stand-in handles nothing else)`);
            }
            const images = (await user.call<{ images: { id: string; name: string; status: string }[] }>("image", "GET", `/v2/images?name=${encodeURIComponent(name)}`)).images;
            if (images.length !== 1 || images[0].status !== "active") {
                throw new Error(`ORC stand-in: Image ${o.metadata.name}: Glance has ${images.length} image(s) named ${JSON.stringify(name)} (ORC would keep polling)`);
            }
            ids.set(o.metadata.name, images[0].id);
            const live = cp.get(RESOURCE.Image, o.metadata.name, ns);
            cp.kubectlOk(["patch", RESOURCE.Image, o.metadata.name, "-n", ns, "--subresource=status", "--type=merge",
                "-p", JSON.stringify({ status: readyStatus(images[0].id, live?.metadata.generation, { name: images[0].name, status: images[0].status }) })]);
        } else if (o.kind === "ServerGroup" && managed) {
            const name = (at(o, "spec.resource.name") as string | undefined) ?? o.metadata.name;
            const policy = at(o, "spec.resource.policy") as string;
            const existing = groups.find((g) => g.name === name);
            if (event === "deleted") {
                if (existing) {
                    try {
                        await user.call("compute", "DELETE", `/os-server-groups/${existing.id}`);
                    } catch (err) {
                        if (!(err instanceof ApiError && err.status === 404)) {
                            throw err;
                        }
                    }
                }
                continue;
            }
            const id = existing?.id ?? (await user.call<{ server_group: { id: string } }>("compute", "POST", "/os-server-groups", { server_group: { name, policy } })).server_group.id;
            ids.set(o.metadata.name, id);
            const live = cp.get(RESOURCE.ServerGroup, o.metadata.name, ns);
            cp.kubectlOk(["patch", RESOURCE.ServerGroup, o.metadata.name, "-n", ns, "--subresource=status", "--type=merge",
                "-p", JSON.stringify({ status: readyStatus(id, live?.metadata.generation, { name, policy }) })]);
        } else if (o.kind !== "Image" && o.kind !== "ServerGroup") {
            throw new Error(`ORC stand-in: ${o.kind} ${o.metadata.name} is not handled (only Image and managed ServerGroup)`);
        }
    }
    return ids;
}
