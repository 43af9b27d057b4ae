// The GPU Provider port (DESIGN §6): a query for GPUs, the offers that match it with their prices, and the
// lifecycle of one instance (create, get, terminate, list). Real clients and the emulator live in adapters/gpu/.
import * as Data from "effect/Data"
import type * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import type { Event } from "../events/mod.ts"

/** The providers this build knows, in the default order of preference. */
export const PROVIDERS = ["runpod", "lambda", "vast"] as const
export type ProviderName = (typeof PROVIDERS)[number]

/** Whether a word names a provider. */
export const isProviderName = (name: string): name is ProviderName =>
  (PROVIDERS as ReadonlyArray<string>).includes(name)

/**
 * GPU types to offer for `--gpu TYPE` (shell completion): common ones every provider rents, as short names that
 * `typeMatches` finds in each provider's own naming ("RTX4090" matches "NVIDIA GeForce RTX 4090" and "RTX_4090").
 * Any other part of a GPU's name works too; this list is only what is suggested.
 */
export const GPU_TYPES = ["A100", "H100", "H200", "L40S", "L4", "A10", "A40", "A6000", "RTX4090", "RTX3090", "V100"]

/** Secure (a provider's own data centres) or community (hosted by others) hardware. */
export type CloudType = "secure" | "community"

/** What GPUs to look for. `maxPrice` is dollars per GPU per hour (PROVIDERS.md, "Mapping the GPU query"). */
export interface GpuQuery {
  /** A part of the GPU's name, matched without case ("A100"); undefined for any. */
  readonly type: string | undefined
  readonly count: number
  readonly maxPrice: number | undefined
  readonly minVramGb: number | undefined
  readonly cloudType: CloudType
  /** The lowest CUDA version, "major.minor", compared numerically (12.11 is above 12.2). */
  readonly minCuda: string
  readonly containerDiskGb: number
  readonly volumeDiskGb: number
  /** Which providers to ask, in order of preference (ties in price go to the earlier one). */
  readonly providers: ReadonlyArray<ProviderName>
}

/** The query with the seed's defaults for what is not given. */
export const query = (given: Partial<GpuQuery> = {}): GpuQuery => ({
  type: given.type,
  count: given.count ?? 1,
  maxPrice: given.maxPrice,
  minVramGb: given.minVramGb,
  cloudType: given.cloudType ?? "secure",
  minCuda: given.minCuda ?? "12.0",
  containerDiskGb: given.containerDiskGb ?? 100,
  volumeDiskGb: given.volumeDiskGb ?? 0,
  providers: given.providers ?? PROVIDERS
})

/** The query as a job's spec records it (what is not set is null). */
export const recorded = (q: GpuQuery): Event.GpuSpec["query"] => ({
  type: q.type ?? null,
  count: q.count,
  maxPrice: q.maxPrice ?? null,
  minVramGb: q.minVramGb ?? null,
  cloudType: q.cloudType,
  minCuda: q.minCuda,
  containerDiskGb: q.containerDiskGb,
  volumeDiskGb: q.volumeDiskGb,
  providers: [...q.providers]
})

/** Where a volume is mounted on an instance (and HF_HOME under it when there is one). */
export const VOLUME_PATH = "/workspace"

/**
 * Parses `TYPE[:N]` as given to `--gpu` ("A100:2", "h100", ":4" for any four GPUs).
 *
 * @example
 * Provider.parseGpuFlag("A100:2") // { type: "A100", count: 2 }
 */
export const parseGpuFlag = (text: string): { type: string | undefined; count: number } | undefined => {
  const m = /^([^:]*)(?::(\d+))?$/.exec(text.trim())
  if (m === null) return undefined
  const count = m[2] === undefined ? 1 : Number(m[2])
  if (!(count >= 1 && count <= 64)) return undefined
  const type = m[1]!.trim()
  return { type: type === "" ? undefined : type, count }
}

/** Compares CUDA versions numerically ("12.11" > "12.2"); negative when a < b. */
export const compareCuda = (a: string, b: string): number => {
  const [am = 0, an = 0] = a.split(".").map(Number)
  const [bm = 0, bn = 0] = b.split(".").map(Number)
  return am !== bm ? am - bm : an - bn
}

/** Whether a GPU name matches the query's type: a part of it, ignoring case, spaces, "-" and "_". */
export const typeMatches = (type: string | undefined, name: string): boolean => {
  if (type === undefined) return true
  const squash = (s: string) => s.toLowerCase().replace(/[\s_-]+/g, "")
  return squash(name).includes(squash(type))
}

/** One way to get the GPUs asked for, with its prices. */
export interface Offer {
  readonly provider: ProviderName
  /** What `create` needs: RunPod's GPU type id, Lambda's `type@region`, Vast's ask id. */
  readonly id: string
  readonly gpuType: string
  readonly gpuCount: number
  readonly vramGb: number
  /** The highest CUDA version the offer reports, or null when the provider does not say (Lambda). */
  readonly cuda: string | null
  readonly cloudType: CloudType
  /** Dollars per GPU per hour: what `maxPrice` is compared with and what offers are sorted by. */
  readonly pricePerGpu: number
  /** Dollars per hour for the whole instance. */
  readonly priceTotal: number
  readonly region: string | null
}

/**
 * Offers cheapest first by price per GPU (the one comparison that is fair across providers that quote per GPU and
 * per instance), ties going to the provider earlier in the preference order, then the cheaper instance.
 */
export const sortOffers = (offers: ReadonlyArray<Offer>, preference: ReadonlyArray<ProviderName> = PROVIDERS) =>
  [...offers].sort(
    (a, b) =>
      a.pricePerGpu - b.pricePerGpu ||
      preference.indexOf(a.provider) - preference.indexOf(b.provider) ||
      a.priceTotal - b.priceTotal
  )

/** Whether an offer meets the parts of a query that every provider leaves to the client. */
export const offerMatches = (q: GpuQuery, offer: Offer): boolean =>
  typeMatches(q.type, offer.gpuType) &&
  offer.gpuCount === q.count &&
  (q.maxPrice === undefined || offer.pricePerGpu <= q.maxPrice + 1e-9) &&
  (q.minVramGb === undefined || offer.vramGb >= q.minVramGb) &&
  (offer.cuda === null || compareCuda(offer.cuda, q.minCuda) >= 0) &&
  offer.cloudType === q.cloudType

/** An instance's state, the same words for every provider. */
export type InstanceState = "provisioning" | "running" | "stopped" | "failed" | "terminated"

/** An SSH endpoint. */
export interface Endpoint {
  readonly host: string
  readonly port: number
  readonly user: string
}

/** An instance as the provider reports it. */
export interface Instance {
  readonly provider: ProviderName
  readonly id: string
  readonly name: string
  readonly state: InstanceState
  /** The provider's own word for it (RUNNING, active, loading…). */
  readonly providerState: string
  /** The direct SSH endpoint, once there is one. */
  readonly ssh: Endpoint | null
  /** Dollars per hour, when the provider says. */
  readonly pricePerHour: number | null
}

/** What `create` needs besides the offer. */
export interface CreateRequest {
  readonly offer: Offer
  /** The instance's name (ours are `jobs-<job id>`, so that a sweep can find them). */
  readonly name: string
  /** The OpenSSH public key line to authorize on the instance. */
  readonly publicKey: string
  readonly query: GpuQuery
  /** The container image (RunPod, Vast); ignored by Lambda. */
  readonly image: string
}

/** A created instance: its id, and the key it may use to end itself (Vast's `instance_api_key`). */
export interface Created {
  readonly id: string
  readonly instanceKey: string | null
}

/** How an instance can end itself from the inside (the instance-side guard). */
export type SelfEnd = "runpod-api" | "vast-api" | "poweroff"

/** One GPU provider. Every operation fails with a ProviderError; terminate of a gone instance succeeds. */
export interface Provider {
  readonly name: ProviderName
  /** The API base URL in use (the emulator's, in tests). */
  readonly baseUrl: string
  readonly offers: (q: GpuQuery) => Effect.Effect<ReadonlyArray<Offer>, ProviderError>
  readonly create: (request: CreateRequest) => Effect.Effect<Created, ProviderError>
  /** The instance, or undefined when the provider no longer knows it (gone). */
  readonly get: (id: string) => Effect.Effect<Instance | undefined, ProviderError>
  readonly terminate: (id: string) => Effect.Effect<void, ProviderError>
  /** Instances whose name starts with `prefix`. */
  readonly list: (prefix: string) => Effect.Effect<ReadonlyArray<Instance>, ProviderError>
  readonly selfEnd: SelfEnd
}

/** The offer has no capacity now: try the next one. */
export class NoCapacity extends Data.TaggedError("NoCapacity")<{
  readonly provider: ProviderName
  readonly offer: string
  readonly why: string
}> {
  override get message() {
    return `Cannot create an instance of "${this.offer}" on ${this.provider}: no capacity (${this.why})`
  }
}

/** The key is missing, wrong, or not allowed to do this (401, 403). */
export class AuthFailed extends Data.TaggedError("AuthFailed")<{
  readonly provider: ProviderName
  readonly status: number
  readonly why: string
}> {
  override get message() {
    return `Cannot use ${this.provider}: the API key was refused (${this.status}: ${this.why}; check ${keyVariable(this.provider)})`
  }
}

/** The account cannot pay (402). */
export class PaymentRequired extends Data.TaggedError("PaymentRequired")<{
  readonly provider: ProviderName
  readonly why: string
}> {
  override get message() {
    return `Cannot use ${this.provider}: payment required (${this.why}; add credit to the account)`
  }
}

/** Too many requests (429), after the retries. */
export class RateLimited extends Data.TaggedError("RateLimited")<{
  readonly provider: ProviderName
  /** The Retry-After the provider sent, in milliseconds, or null (Vast sends none). */
  readonly retryAfterMs: number | null
}> {
  override get message() {
    return `Cannot reach ${this.provider}: rate limited (429) after several retries`
  }
}

/** The provider failed (5xx, the network, an answer we cannot read, a request it rejected). */
export class ProviderUnavailable extends Data.TaggedError("ProviderUnavailable")<{
  readonly provider: ProviderName
  readonly status: number | null
  readonly why: string
}> {
  override get message() {
    return `Cannot use ${this.provider}: ${this.status === null ? "" : `${this.status} `}${this.why}`
  }
}

/** Every error of a provider. */
export type ProviderError = NoCapacity | AuthFailed | PaymentRequired | RateLimited | ProviderUnavailable

/** Errors after which no other offer is tried: the account itself is the problem. */
export const isFatal = (e: ProviderError): boolean => e._tag === "AuthFailed" || e._tag === "PaymentRequired"

/** The environment variable that holds a provider's API key. */
export const keyVariable = (provider: ProviderName): string =>
  provider === "runpod" ? "RUNPOD_API_KEY" : provider === "lambda" ? "LAMBDA_API_KEY" : "VAST_API_KEY"

/** The environment variable that overrides a provider's API base URL (the emulator's, in tests). */
export const urlVariable = (provider: ProviderName): string =>
  provider === "runpod" ? "RUNPOD_API_URL" : provider === "lambda" ? "LAMBDA_API_URL" : "VAST_API_URL"

/** The name of the instance of a job: a sweep maps it back to the job. */
export const instanceName = (jobId: string): string => `jobs-${jobId}`

/** The job id in one of our instance names, or undefined for someone else's instance. */
export const jobOfInstance = (name: string): string | undefined => /^jobs-([0-9A-HJKMNP-TV-Z]{26})$/.exec(name)?.[1]

// What a provider's API answers is untrusted: the clients' normalised values are decoded here, bounded, before
// anything uses them (an instance id goes into URLs, events and the guard's settings; an endpoint is connected to).
const Printable = (max: number) => Schema.String.pipe(Schema.pattern(new RegExp(`^[^\\x00-\\x1f\\x7f]{0,${max}}$`)))
const InstanceId = Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/))
const Dollars = Schema.Number.pipe(Schema.between(0, 1e6))

/** An offer as a client may hand it on (ids and names printable, counts and prices bounded). */
export const OfferAnswer = Schema.Struct({
  provider: Schema.Literal(...PROVIDERS),
  id: Schema.String.pipe(Schema.pattern(/^[\x20-\x7e]{1,128}$/)),
  gpuType: Printable(128),
  gpuCount: Schema.Int.pipe(Schema.between(1, 1024)),
  vramGb: Schema.Number.pipe(Schema.between(0, 1e6)),
  cuda: Schema.NullOr(Schema.String.pipe(Schema.pattern(/^\d{1,3}(\.\d{1,3}){0,2}$/))),
  cloudType: Schema.Literal("secure", "community"),
  pricePerGpu: Dollars,
  priceTotal: Dollars,
  region: Schema.NullOr(Printable(64))
})

/** An instance as a client may hand it on: the SSH endpoint a host name or address, a port, a user name. */
export const InstanceAnswer = Schema.Struct({
  provider: Schema.Literal(...PROVIDERS),
  id: InstanceId,
  name: Printable(256),
  state: Schema.Literal("provisioning", "running", "stopped", "failed", "terminated"),
  providerState: Printable(64),
  ssh: Schema.NullOr(
    Schema.Struct({
      host: Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9.:-]{0,252}$/)),
      port: Schema.Int.pipe(Schema.between(1, 65535)),
      user: Schema.String.pipe(Schema.pattern(/^[A-Za-z_][A-Za-z0-9._-]{0,31}$/))
    })
  ),
  pricePerHour: Schema.NullOr(Dollars)
})

/** A created instance as a client may hand it on (Vast's instance key is a token of printable characters). */
export const CreatedAnswer = Schema.Struct({
  id: InstanceId,
  instanceKey: Schema.NullOr(Schema.String.pipe(Schema.pattern(/^[\x21-\x7e]{1,512}$/)))
})
