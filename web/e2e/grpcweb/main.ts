// A test page's script, not part of the product: it calls RouteGuide with
// Google's grpc-web client, in text and in binary mode, and writes what it
// got into #out for the browser test in grpcweb_test.go to read. There is
// no protoc plugin for grpc-web here, so the messages are (de)serialized by
// hand with protobuf-es, from the TypeScript generated for the page.

import { fromBinary, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { GrpcWebClientBase, MethodDescriptor, MethodType, RpcError } from "grpc-web";

import {
  FeatureSchema,
  PointSchema,
  RectangleSchema,
  type Feature,
} from "../../src/gen/routeguide/route_guide_pb";

// grpc-web wants message classes, which protobuf-es does not have; it only
// hands them back through getters that nothing here calls.
const noClass = Object as unknown as new () => never;

function method<I extends DescMessage, O extends DescMessage>(
  path: string,
  type: string,
  input: I,
  output: O,
): MethodDescriptor<MessageShape<I>, MessageShape<O>> {
  return new MethodDescriptor(
    path,
    type,
    noClass,
    noClass,
    (m: MessageShape<I>) => toBinary(input, m),
    (b: Uint8Array) => fromBinary(output, b),
  );
}

const getFeature = method("/routeguide.RouteGuide/GetFeature", MethodType.UNARY, PointSchema, FeatureSchema);
const listFeatures = method("/routeguide.RouteGuide/ListFeatures", MethodType.SERVER_STREAMING, RectangleSchema, FeatureSchema);

// grpc.health.v1's messages, by hand: an empty HealthCheckRequest asks
// about the whole server; the response's field 1 is the status.
interface HealthStatus {
  status: number;
}
const watchHealth = new MethodDescriptor<Record<string, never>, HealthStatus>(
  "/grpc.health.v1.Health/Watch",
  MethodType.SERVER_STREAMING,
  noClass,
  noClass,
  () => new Uint8Array(0),
  (b: Uint8Array) => ({ status: b[0] === 0x08 ? (b[1] ?? 0) : 0 }),
);

interface Found {
  name: string;
  latitude: number;
  longitude: number;
}

function found(f: Feature): Found {
  return { name: f.name, latitude: f.location?.latitude ?? 0, longitude: f.location?.longitude ?? 0 };
}

interface Failure {
  code: number;
  message: string;
}

function failure(err: unknown): Failure {
  if (err instanceof RpcError) {
    return { code: err.code, message: err.message };
  }
  return { code: -1, message: String(err) };
}

const api = new URLSearchParams(location.search).get("api") ?? location.origin;

async function unary(client: GrpcWebClientBase, latitude: number, longitude: number): Promise<Found | Failure> {
  try {
    const point = { $typeName: "routeguide.Point", latitude, longitude } as const;
    return found(await client.unaryCall(api + getFeature.getName(), point, {}, getFeature));
  } catch (err) {
    return failure(err);
  }
}

interface Listed {
  features: Found[];
  error?: Failure;
}

function list(client: GrpcWebClientBase): Promise<Listed> {
  const rect = {
    $typeName: "routeguide.Rectangle",
    lo: { $typeName: "routeguide.Point", latitude: 400000000, longitude: -750000000 },
    hi: { $typeName: "routeguide.Point", latitude: 600000000, longitude: 250000000 },
  } as const;
  return new Promise((resolve) => {
    const features: Found[] = [];
    const stream = client.serverStreaming(api + listFeatures.getName(), rect, {}, listFeatures);
    stream.on("data", (f) => features.push(found(f)));
    stream.on("error", (err) => resolve({ features, error: failure(err) }));
    stream.on("end", () => resolve({ features }));
  });
}

interface Watched {
  status?: number;
  error?: Failure;
}

// watch resolves with the first message of a stream that the server keeps
// open, and ends the stream then: only a client that reads the response as
// it arrives can see it.
function watch(client: GrpcWebClientBase): Promise<Watched> {
  return new Promise((resolve) => {
    const stream = client.serverStreaming(api + watchHealth.getName(), {}, {}, watchHealth);
    stream.on("data", (m) => {
      resolve({ status: m.status });
      stream.cancel();
    });
    stream.on("error", (err) => resolve({ error: failure(err) }));
    stream.on("end", () => resolve({ error: { code: -1, message: "the stream ended" } }));
  });
}

async function run(format: "text" | "binary") {
  const client = new GrpcWebClientBase({ format });
  return {
    feature: await unary(client, 488583700, 22944810),
    badLatitude: await unary(client, 950000000, 0),
    list: await list(client),
    watch: format === "text" ? await watch(client) : undefined,
  };
}

const out = document.getElementById("out");
if (out) {
  const results = { text: await run("text"), binary: await run("binary") };
  out.textContent = JSON.stringify(results);
  document.body.dataset["state"] = "done";
}
