// RunPod over its REST v2 API (v1 was retired on 2026-11-15): the GPU catalog for offers, /v2/pods for the rest.
// Prices in the catalog are per single GPU; a pod's cost is that times the count.
import * as Effect from "effect/Effect"
import * as Provider from "../../core/provider.ts"
import * as Http from "./_http.ts"

/** The public API. */
export const DEFAULT_URL = "https://api.runpod.io"

export interface Options {
  readonly key?: string | undefined
  readonly baseUrl?: string | undefined
  readonly policy?: Http.RetryPolicy
}

const STATES: Record<string, Provider.InstanceState> = {
  PROVISIONING: "provisioning",
  STARTING: "provisioning",
  RUNNING: "running",
  EXITED: "stopped",
  ERROR: "failed",
  TERMINATED: "terminated"
}

/** The query string of the catalog request for a query (availability in the query's cloud, count and CUDA). */
export const catalogQuery = (q: Provider.GpuQuery): string =>
  new URLSearchParams({
    include: "AVAILABILITY",
    product: "POD",
    count: String(q.count),
    cloud: q.cloudType === "secure" ? "SECURE" : "COMMUNITY",
    minCudaVersion: q.minCuda
  }).toString()

/** The offers in a catalog answer that meet the query. */
export const offersOf = (q: Provider.GpuQuery, body: any): Array<Provider.Offer> => {
  const cloud = q.cloudType
  const offers: Array<Provider.Offer> = []
  for (const gpu of Array.isArray(body?.gpus) ? body.gpus : []) {
    if (gpu[cloud] !== true) continue
    if (gpu.availability === "NONE") continue
    if (typeof gpu.maxCount?.[cloud] === "number" && gpu.maxCount[cloud] < q.count) continue
    const perGpu = gpu.price?.[cloud]
    if (typeof perGpu !== "number" || perGpu <= 0) continue
    const cudas: Array<string> = (Array.isArray(gpu.cudaVersions) ? gpu.cudaVersions : [])
      .filter((c: any) => c?.available !== false && typeof c?.version === "string")
      .map((c: any) => c.version)
      .sort(Provider.compareCuda)
    const offer: Provider.Offer = {
      provider: "runpod",
      id: gpu.id,
      gpuType: gpu.name === undefined ? gpu.id : `${gpu.name} (${gpu.id})`,
      gpuCount: q.count,
      vramGb: Number(gpu.memory ?? 0),
      cuda: cudas.at(-1) ?? null,
      cloudType: cloud,
      pricePerGpu: perGpu,
      priceTotal: perGpu * q.count,
      region: null
    }
    if (Provider.offerMatches(q, offer)) offers.push(offer)
  }
  return offers
}

/** The body of `POST /v2/pods` (CreatePodRequest) for a request. */
export const createBody = (request: Provider.CreateRequest): Record<string, unknown> => ({
  name: request.name,
  image: request.image,
  cloud: request.query.cloudType === "secure" ? "SECURE" : "COMMUNITY",
  gpu: { id: request.offer.id, count: request.offer.gpuCount, minCudaVersion: request.query.minCuda },
  disk: request.query.containerDiskGb,
  ports: ["22/tcp"],
  // our key directly: startSsh alone only copies the account's registered keys (and does nothing without them)
  env: { PUBLIC_KEY: request.publicKey },
  startSsh: true,
  ...(request.query.volumeDiskGb > 0
    ? { mounts: { persistent: { size: Math.max(10, request.query.volumeDiskGb), path: Provider.VOLUME_PATH } } }
    : {})
})

/** A pod as an Instance. */
export const instanceOf = (pod: any): Provider.Instance => {
  const direct = pod?.ssh?.direct
  return {
    provider: "runpod",
    id: String(pod.id),
    name: String(pod.name ?? ""),
    state: STATES[pod.status] ?? "provisioning",
    providerState: String(pod.status),
    ssh:
      direct !== null && direct !== undefined && typeof direct.host === "string"
        ? { host: direct.host, port: Number(direct.port), user: direct.username ?? "root" }
        : null,
    pricePerHour: typeof pod.cost === "number" ? pod.cost : null
  }
}

/** A RunPod client. */
export const make = (options: Options = {}): Provider.Provider => {
  const base = Http.trimUrl(options.baseUrl ?? process.env[Provider.urlVariable("runpod")] ?? DEFAULT_URL)
  const key = options.key !== undefined ? Effect.succeed(options.key) : Http.keyFrom("runpod")
  const call = (method: string, path: string, body?: unknown) =>
    Effect.flatMap(key, (k) =>
      Http.request({
        provider: "runpod",
        method,
        url: base + path,
        key: k,
        ...(body === undefined ? {} : { body }),
        ...(options.policy === undefined ? {} : { policy: options.policy })
      })
    )
  return {
    name: "runpod",
    baseUrl: base,
    selfEnd: "runpod-api",
    offers: (q) =>
      Effect.flatMap(call("GET", `/v2/catalog/gpus?${catalogQuery(q)}`), (answer) =>
        answer.status === 200
          ? Effect.succeed(offersOf(q, answer.body))
          : Effect.fail(Http.unexpected("runpod", "the GPU catalog", answer))
      ),
    create: (request) =>
      Effect.flatMap(
        call("POST", "/v2/pods", createBody(request)),
        (answer): Effect.Effect<Provider.Created, Provider.ProviderError> => {
          if (answer.status === 201 || answer.status === 200)
            return Effect.succeed({ id: String(answer.body.id), instanceKey: null })
          // 400 is a rule violation or no capacity: either way this GPU type cannot be had now
          if (answer.status === 400 || answer.status === 404 || answer.status === 409)
            return Effect.fail(
              new Provider.NoCapacity({ provider: "runpod", offer: request.offer.id, why: Http.errorText(answer.body) })
            )
          return Effect.fail(Http.unexpected("runpod", "creating a pod", answer))
        }
      ),
    get: (id) =>
      Effect.flatMap(call("GET", `/v2/pods/${encodeURIComponent(id)}`), (answer) =>
        answer.status === 404
          ? Effect.succeed(undefined)
          : answer.status === 200
            ? Effect.succeed(instanceOf(answer.body))
            : Effect.fail(Http.unexpected("runpod", `reading pod "${id}"`, answer))
      ),
    terminate: (id) =>
      Effect.flatMap(call("DELETE", `/v2/pods/${encodeURIComponent(id)}`), (answer) =>
        answer.status === 204 || answer.status === 200 || answer.status === 404
          ? Effect.void
          : Effect.fail(Http.unexpected("runpod", `terminating pod "${id}"`, answer))
      ),
    list: (prefix) =>
      Effect.flatMap(call("GET", "/v2/pods"), (answer) =>
        answer.status === 200
          ? Effect.succeed(
              (Array.isArray(answer.body?.pods) ? answer.body.pods : [])
                .map(instanceOf)
                .filter((i: Provider.Instance) => i.name.startsWith(prefix))
            )
          : Effect.fail(Http.unexpected("runpod", "listing pods", answer))
      )
  }
}
