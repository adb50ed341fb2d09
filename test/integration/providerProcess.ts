/**
 * A resource provider plugin driven over its gRPC interface the way the engine drives it, without
 * the CLI: a small engine host of our own (its Log service; the health check the provider makes
 * every five minutes gets "unimplemented", which it accepts) whose address the provider gets as its
 * argument, as the engine gives it; the provider prints its port and answers GetSchema,
 * CheckConfig, Configure and Check. Only loopback; the process is ours and `stop()` ends it.
 */
import * as grpc from "@grpc/grpc-js";
import * as engineRpc from "@pulumi/pulumi/proto/engine_grpc_pb";
import * as engineProto from "@pulumi/pulumi/proto/engine_pb";
import * as providerRpc from "@pulumi/pulumi/proto/provider_grpc_pb";
import * as providerProto from "@pulumi/pulumi/proto/provider_pb";
import { ChildProcess, spawn } from "child_process";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";

/** Bound of one call. */
const CALL_TIMEOUT_MS = 120_000;

/** A property Check refused: the provider's own words. */
export interface CheckFailure {
    property: string;
    reason: string;
}

export class ProviderProcess {
    private constructor(
        private readonly engine: grpc.Server,
        private readonly child: ChildProcess,
        private readonly client: providerRpc.ResourceProviderClient,
        private readonly stderr: () => string,
        /** What the provider logged through the engine (severity and message). */
        readonly logs: string[],
    ) {}

    /** Starts the engine host, then `binary` in `cwd` with `env`, and connects once it prints its port. */
    static async start(binary: string, cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<ProviderProcess> {
        const logs: string[] = [];
        const engine = new grpc.Server();
        engine.addService(engineRpc.EngineService, {
            log: (call: grpc.ServerUnaryCall<engineProto.LogRequest, Empty>, cb: grpc.sendUnaryData<Empty>) => {
                logs.push(`${call.request.getSeverity()}: ${call.request.getMessage()}`);
                cb(null, new Empty());
            },
        });
        const enginePort = await new Promise<number>((resolve, reject) =>
            engine.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
        );
        const child = spawn(binary, [`127.0.0.1:${enginePort}`], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
        let stderr = "";
        child.stderr?.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
        try {
            const port = await new Promise<number>((resolve, reject) => {
                let out = "";
                const timer = setTimeout(() => reject(new Error(`${binary} printed no port in ${CALL_TIMEOUT_MS / 1000} s: ${stderr}`)), CALL_TIMEOUT_MS);
                child.stdout?.on("data", (d: Buffer) => {
                    out += d.toString();
                    const m = /^(\d+)\s*$/m.exec(out);
                    if (m) {
                        clearTimeout(timer);
                        resolve(Number(m[1]));
                    }
                });
                child.on("exit", (code) => {
                    clearTimeout(timer);
                    reject(new Error(`${binary} exited (${code}) before serving: ${stderr}`));
                });
            });
            const client = new providerRpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
                "grpc.max_receive_message_length": 256 * 1024 * 1024,
            });
            return new ProviderProcess(engine, child, client, () => stderr, logs);
        } catch (err) {
            child.kill();
            engine.forceShutdown();
            throw err;
        }
    }

    private call<Req, Resp>(
        name: string,
        method: (req: Req, md: grpc.Metadata, opts: Partial<grpc.CallOptions>, cb: (err: grpc.ServiceError | null, resp: Resp) => void) => unknown,
        req: Req,
    ): Promise<Resp> {
        return new Promise<Resp>((resolve, reject) =>
            method.call(this.client, req, new grpc.Metadata(), { deadline: Date.now() + CALL_TIMEOUT_MS }, (err, resp) =>
                err ? reject(new Error(`${name}: ${err.message}; provider stderr: ${this.stderr()}`)) : resolve(resp),
            ),
        );
    }

    /** The package schema (JSON text). */
    async getSchema(): Promise<string> {
        const resp = await this.call("GetSchema", this.client.getSchema, new providerProto.GetSchemaRequest());
        return resp.getSchema();
    }

    /** CheckConfig then Configure with the provider's inputs, as the engine does before any resource. */
    async configure(inputs: Record<string, unknown>): Promise<CheckFailure[]> {
        const urn = "urn:pulumi:test::capi-mgmt::pulumi:providers:openstack::openstack";
        const check = new providerProto.CheckRequest()
            .setUrn(urn)
            .setType("pulumi:providers:openstack")
            .setName("openstack")
            .setOlds(new Struct())
            .setNews(toStruct(inputs));
        const checked = await this.call("CheckConfig", this.client.checkConfig, check);
        const failures = checked.getFailuresList().map((f) => ({ property: f.getProperty(), reason: f.getReason() }));
        if (failures.length) {
            return failures;
        }
        const req = new providerProto.ConfigureRequest()
            .setUrn(urn)
            .setType("pulumi:providers:openstack")
            .setName("openstack")
            .setArgs(checked.getInputs() ?? toStruct(inputs))
            .setAcceptsecrets(true)
            .setAcceptresources(true);
        await this.call("Configure", this.client.configure, req);
        return [];
    }

    /** Check of a new resource (what a preview's create step asks first); the failures it reports. */
    async check(token: string, name: string, inputs: Record<string, unknown>): Promise<CheckFailure[]> {
        const req = new providerProto.CheckRequest()
            .setUrn(`urn:pulumi:test::capi-mgmt::${token}::${name}`)
            .setType(token)
            .setName(name)
            .setOlds(new Struct())
            .setNews(toStruct(inputs))
            .setRandomseed(Buffer.alloc(32));
        const resp = await this.call("Check", this.client.check, req);
        return resp.getFailuresList().map((f) => ({ property: f.getProperty(), reason: f.getReason() }));
    }

    stop(): void {
        this.client.close();
        this.child.kill();
        this.engine.forceShutdown();
    }
}

/** Inputs as a protobuf Struct (plain JSON values: the recorded inputs hold no secrets or unknowns). */
function toStruct(inputs: Record<string, unknown>): Struct {
    return Struct.fromJavaScript(JSON.parse(JSON.stringify(inputs)) as Parameters<typeof Struct.fromJavaScript>[0]);
}
