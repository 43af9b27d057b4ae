// Lambda Cloud over its v1 API. Instance types are priced per instance; the GPU model, count and VRAM are read
// from the type's description ("1x A100 (40 GB SXM4)"). An SSH key must be registered by name before a launch.
import * as Crypto from "node:crypto"
import * as Effect from "effect/Effect"
import * as Provider from "../../core/provider.ts"
import * as Http from "./_http.ts"

/** The public API. */
export const DEFAULT_URL = "https://cloud.lambdalabs.com/api/v1"

export interface Options {
  readonly key?: string | undefined
  readonly baseUrl?: string | undefined
  readonly policy?: Http.RetryPolicy
}

const STATES: Record<string, Provider.InstanceState> = {
  booting: "provisioning",
  active: "running",
  unhealthy: "failed",
  terminating: "terminated",
  terminated: "terminated"
}

/** GPU count, model and VRAM per GPU in a description (gpuhunt's pattern), or undefined. */
export const parseDescription = (text: string): { count: number; model: string; vramGb: number } | undefined => {
  const m = /^(\d+)x (?:Tesla )?(.+?) \((\d+) GB/.exec(text)
  return m === null ? undefined : { count: Number(m[1]), model: m[2]!, vramGb: Number(m[3]) }
}

/** The offers in an `/instance-types` answer that meet the query: one per region with capacity. */
export const offersOf = (q: Provider.GpuQuery, body: any): Array<Provider.Offer> => {
  const offers: Array<Provider.Offer> = []
  // Lambda's machines are in its own data centres: there is nothing community about them
  if (q.cloudType !== "secure") return offers
  for (const [name, entry] of Object.entries<any>(body?.data ?? {})) {
    const type = entry?.instance_type
    const parsed = parseDescription(String(type?.description ?? ""))
    if (parsed === undefined || typeof type?.price_cents_per_hour !== "number") continue
    const total = type.price_cents_per_hour / 100
    for (const region of Array.isArray(entry.regions_with_capacity_available)
      ? entry.regions_with_capacity_available
      : []) {
      const offer: Provider.Offer = {
        provider: "lambda",
        id: `${name}@${region.name}`,
        gpuType: parsed.model,
        gpuCount: parsed.count,
        vramGb: parsed.vramGb,
        cuda: null,
        cloudType: "secure",
        pricePerGpu: total / parsed.count,
        priceTotal: total,
        region: String(region.name)
      }
      if (Provider.offerMatches(q, offer)) offers.push(offer)
    }
  }
  return offers
}

/** An instance as an Instance (SSH is `ubuntu@ip:22`; the emulator adds `ssh_port`/`ssh_user`, absent on Lambda). */
export const instanceOf = (data: any): Provider.Instance => ({
  provider: "lambda",
  id: String(data.id),
  name: String(data.name ?? ""),
  state: STATES[data.status] ?? "provisioning",
  providerState: String(data.status),
  ssh:
    typeof data.ip === "string" && data.ip !== "" && data.status === "active"
      ? { host: data.ip, port: Number(data.ssh_port ?? 22), user: String(data.ssh_user ?? "ubuntu") }
      : null,
  pricePerHour:
    typeof data.instance_type?.price_cents_per_hour === "number" ? data.instance_type.price_cents_per_hour / 100 : null
})

const code = (answer: Http.Answer): string => String(answer.body?.error?.code ?? "")

/** A Lambda Cloud client. */
export const make = (options: Options = {}): Provider.Provider => {
  const base = Http.trimUrl(options.baseUrl ?? process.env[Provider.urlVariable("lambda")] ?? DEFAULT_URL)
  const key = options.key !== undefined ? Effect.succeed(options.key) : Http.keyFrom("lambda")
  const call = (method: string, path: string, body?: unknown) =>
    Effect.flatMap(key, (k) =>
      Http.request({
        provider: "lambda",
        method,
        url: base + path,
        key: k,
        ...(body === undefined ? {} : { body }),
        ...(options.policy === undefined ? {} : { policy: options.policy })
      })
    )

  /** The name of a registered key with this public key, registering it first if needed. */
  const sshKeyName = (publicKey: string) =>
    Effect.gen(function* () {
      const keys = yield* call("GET", "/ssh-keys")
      const blob = publicKey.trim().split(/\s+/).slice(0, 2).join(" ")
      const found = (Array.isArray(keys.body?.data) ? keys.body.data : []).find(
        (k: any) =>
          String(k.public_key ?? "")
            .trim()
            .split(/\s+/)
            .slice(0, 2)
            .join(" ") === blob
      )
      if (found !== undefined) return String(found.name)
      const name = `jobs-${Crypto.createHash("sha256").update(blob).digest("hex").slice(0, 12)}`
      const added = yield* call("POST", "/ssh-keys", { name, public_key: blob })
      if (added.status !== 200) return yield* Http.unexpected("lambda", "registering the SSH key", added)
      return name
    })

  return {
    name: "lambda",
    baseUrl: base,
    // a Lambda instance cannot delete itself without the account key: it powers off (billing may go on)
    selfEnd: "poweroff",
    offers: (q) =>
      Effect.flatMap(call("GET", "/instance-types"), (answer) =>
        answer.status === 200
          ? Effect.succeed(offersOf(q, answer.body))
          : Effect.fail(Http.unexpected("lambda", "the instance types", answer))
      ),
    create: (request) =>
      Effect.gen(function* () {
        const [type, region] = request.offer.id.split("@")
        const keyName = yield* sshKeyName(request.publicKey)
        const answer = yield* call("POST", "/instance-operations/launch", {
          region_name: region,
          instance_type_name: type,
          ssh_key_names: [keyName],
          file_system_names: [],
          quantity: 1,
          name: request.name
        })
        const id = answer.body?.data?.instance_ids?.[0]
        if (answer.status === 200 && id !== undefined) return { id: String(id), instanceKey: null }
        if (answer.status === 400 || answer.status === 404)
          return yield* new Provider.NoCapacity({
            provider: "lambda",
            offer: request.offer.id,
            why: Http.errorText(answer.body)
          })
        return yield* Http.unexpected("lambda", "launching an instance", answer)
      }),
    get: (id) =>
      Effect.flatMap(call("GET", `/instances/${encodeURIComponent(id)}`), (answer) =>
        answer.status === 404 || code(answer) === "global/object-does-not-exist"
          ? Effect.succeed(undefined)
          : answer.status === 200
            ? Effect.succeed(instanceOf(answer.body.data))
            : Effect.fail(Http.unexpected("lambda", `reading instance "${id}"`, answer))
      ),
    terminate: (id) =>
      Effect.flatMap(call("POST", "/instance-operations/terminate", { instance_ids: [id] }), (answer) =>
        answer.status === 200 || answer.status === 404 || code(answer) === "global/object-does-not-exist"
          ? Effect.void
          : Effect.fail(Http.unexpected("lambda", `terminating instance "${id}"`, answer))
      ),
    list: (prefix) =>
      Effect.flatMap(call("GET", "/instances"), (answer) =>
        answer.status === 200
          ? Effect.succeed(
              (Array.isArray(answer.body?.data) ? answer.body.data : [])
                .map(instanceOf)
                .filter((i: Provider.Instance) => i.name.startsWith(prefix))
            )
          : Effect.fail(Http.unexpected("lambda", "listing instances", answer))
      )
  }
}
