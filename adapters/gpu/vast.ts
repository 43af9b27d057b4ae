// Vast.ai over its v0 API: offers ("bundles") searched with operator filters, instances rented from an ask.
// Prices are per instance (`dph_total`); the price cap is applied on the server as `dph_total <= max × count`.
import * as Effect from "effect/Effect"
import * as Provider from "../../core/provider.ts"
import * as Http from "./_http.ts"

/** The public API. */
export const DEFAULT_URL = "https://console.vast.ai"

export interface Options {
  readonly key?: string | undefined
  readonly baseUrl?: string | undefined
  readonly policy?: Http.RetryPolicy
}

/** The search body of `POST /api/v0/bundles/` for a query (the GPU name is matched here, as a part of it). */
export const searchBody = (q: Provider.GpuQuery): Record<string, unknown> => ({
  num_gpus: { eq: q.count },
  cuda_max_good: { gte: Number(q.minCuda) },
  disk_space: { gte: q.containerDiskGb + q.volumeDiskGb },
  rentable: { eq: true },
  rented: { eq: false },
  // one direct port at least: "needed for SSH"
  direct_port_count: { gte: 1 },
  ...(q.maxPrice === undefined ? {} : { dph_total: { lte: q.maxPrice * q.count } }),
  ...(q.minVramGb === undefined ? {} : { gpu_ram: { gte: Math.floor(q.minVramGb * 1024 * 0.93) } }),
  ...(q.cloudType === "secure" ? { datacenter: { eq: true } } : {}),
  type: "on-demand",
  order: [["dph_total", "asc"]],
  limit: 500
})

/** The offers in a search answer that meet the query. */
export const offersOf = (q: Provider.GpuQuery, body: any): Array<Provider.Offer> => {
  const offers: Array<Provider.Offer> = []
  for (const ask of Array.isArray(body?.offers) ? body.offers : []) {
    const count = Number(ask.num_gpus ?? 0)
    const total = Number(ask.dph_total)
    if (!(count > 0) || !(total > 0)) continue
    const offer: Provider.Offer = {
      provider: "vast",
      id: String(ask.id),
      gpuType: String(ask.gpu_name ?? "?").replaceAll("_", " "),
      gpuCount: count,
      vramGb: Math.round(Number(ask.gpu_ram ?? 0) / 1024),
      cuda: ask.cuda_max_good === undefined ? null : String(ask.cuda_max_good),
      cloudType: ask.datacenter === true || Number(ask.hosting_type ?? 0) >= 1 ? "secure" : "community",
      pricePerGpu: total / count,
      priceTotal: total,
      region: ask.geolocation === undefined ? null : String(ask.geolocation)
    }
    // community asks from data centres are fine for a community query: only "secure" is a constraint
    if (Provider.offerMatches({ ...q, cloudType: q.cloudType === "secure" ? "secure" : offer.cloudType }, offer))
      offers.push(offer)
  }
  return offers
}

/**
 * An instance as an Instance: the direct port of 22/tcp when mapped, else the SSH proxy (vast-cli's `_ssh_url`).
 * The user is root (`ssh_user` is the emulator's, absent on Vast).
 */
export const instanceOf = (data: any): Provider.Instance => {
  const status = data.actual_status ?? null
  const mapped = data.ports?.["22/tcp"]?.[0]?.HostPort
  const ssh =
    mapped !== undefined && typeof data.public_ipaddr === "string"
      ? { host: data.public_ipaddr.trim(), port: Number(mapped), user: String(data.ssh_user ?? "root") }
      : typeof data.ssh_host === "string" && data.ssh_port !== undefined
        ? {
            host: data.ssh_host,
            port: Number(data.ssh_port) + (String(data.image_runtype ?? "").includes("jupyter") ? 1 : 0),
            user: String(data.ssh_user ?? "root")
          }
        : null
  const state: Provider.InstanceState =
    status === "running"
      ? "running"
      : status === null || status === "loading" || status === "created"
        ? "provisioning"
        : status === "exited" || status === "stopped"
          ? "stopped"
          : "failed"
  return {
    provider: "vast",
    id: String(data.id),
    name: String(data.label ?? ""),
    state: String(data.status_msg ?? "").includes("OCI runtime create failed") ? "failed" : state,
    providerState: String(status),
    ssh: state === "running" ? ssh : null,
    pricePerHour: typeof data.dph_total === "number" ? data.dph_total : null
  }
}

/** A Vast.ai client. */
export const make = (options: Options = {}): Provider.Provider => {
  const base = Http.trimUrl(options.baseUrl ?? process.env[Provider.urlVariable("vast")] ?? DEFAULT_URL)
  const key = options.key !== undefined ? Effect.succeed(options.key) : Http.keyFrom("vast")
  const call = (method: string, path: string, body?: unknown) =>
    Effect.flatMap(key, (k) =>
      Http.request({
        provider: "vast",
        method,
        url: base + path,
        key: k,
        ...(body === undefined ? {} : { body }),
        ...(options.policy === undefined ? {} : { policy: options.policy })
      })
    )
  const gone = (answer: Http.Answer) =>
    answer.status === 404 || String(answer.body?.error ?? "").includes("no_such_instance")

  const terminate = (id: string) =>
    Effect.flatMap(call("DELETE", `/api/v0/instances/${encodeURIComponent(id)}/`), (answer) =>
      (answer.status === 200 && answer.body?.success !== false) || gone(answer)
        ? Effect.void
        : Effect.fail(Http.unexpected("vast", `destroying instance "${id}"`, answer))
    )

  return {
    name: "vast",
    baseUrl: base,
    selfEnd: "vast-api",
    offers: (q) =>
      Effect.flatMap(call("POST", "/api/v0/bundles/", searchBody(q)), (answer) =>
        answer.status === 200
          ? Effect.succeed(offersOf(q, answer.body).filter((o) => Provider.typeMatches(q.type, o.gpuType)))
          : Effect.fail(Http.unexpected("vast", "the offer search", answer))
      ),
    create: (request) =>
      Effect.gen(function* () {
        // the account key reaches every instance of the account ("automatically added to all your instances")
        const keyAnswer = yield* call("POST", "/api/v0/ssh/", { ssh_key: request.publicKey.trim() })
        if (keyAnswer.status >= 400 && !/exist/i.test(Http.errorText(keyAnswer.body)))
          return yield* Http.unexpected("vast", "adding the SSH key", keyAnswer)
        const answer = yield* call("PUT", `/api/v0/asks/${encodeURIComponent(request.offer.id)}/`, {
          image: request.image,
          disk: request.query.containerDiskGb + request.query.volumeDiskGb,
          label: request.name,
          runtype: "ssh_direct",
          target_state: "running",
          cancel_unavail: true
        })
        const contract = answer.body?.new_contract
        if (answer.status === 200 && answer.body?.success === true && contract !== undefined) {
          return { id: String(contract), instanceKey: answer.body.instance_api_key ?? null }
        }
        // an error with a contract (an insufficient bid, say) still made an instance: destroy it (dstack)
        if (contract !== undefined && contract !== null) yield* Effect.ignore(terminate(String(contract)))
        if (answer.status === 400 || answer.status === 404 || answer.status === 410)
          return yield* new Provider.NoCapacity({
            provider: "vast",
            offer: request.offer.id,
            why: Http.errorText(answer.body)
          })
        return yield* Http.unexpected("vast", "renting an instance", answer)
      }),
    get: (id) =>
      Effect.flatMap(call("GET", `/api/v0/instances/${encodeURIComponent(id)}/`), (answer) => {
        if (gone(answer)) return Effect.succeed(undefined)
        if (answer.status !== 200) return Effect.fail(Http.unexpected("vast", `reading instance "${id}"`, answer))
        const data = answer.body?.instances
        return data === null || data === undefined || Object.keys(data).length === 0
          ? Effect.succeed(undefined)
          : Effect.succeed(instanceOf(data))
      }),
    terminate,
    list: (prefix) =>
      Effect.flatMap(call("GET", "/api/v0/instances/"), (answer) =>
        answer.status === 200
          ? Effect.succeed(
              (Array.isArray(answer.body?.instances) ? answer.body.instances : [])
                .map(instanceOf)
                .filter((i: Provider.Instance) => i.name.startsWith(prefix))
            )
          : Effect.fail(Http.unexpected("vast", "listing instances", answer))
      )
  }
}
