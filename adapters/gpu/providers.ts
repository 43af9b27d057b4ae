// The provider clients by name, and the offers of several providers at once, cheapest first.
import * as Effect from "effect/Effect"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Provider from "../../core/provider.ts"
import * as Lambda from "./lambda.ts"
import * as RunPod from "./runpod.ts"
import * as Vast from "./vast.ts"

/** Base URLs and keys (each falls back to its environment variable). */
export interface Settings {
  readonly urls?: Partial<Record<Provider.ProviderName, string>>
  readonly keys?: Partial<Record<Provider.ProviderName, string>>
}

/** The client of a provider, whose answers are decoded (Provider.OfferAnswer, InstanceAnswer, CreatedAnswer). */
export const make = (name: Provider.ProviderName, settings: Settings = {}): Provider.Provider => {
  const options = { baseUrl: settings.urls?.[name], key: settings.keys?.[name] }
  return checked(
    name === "runpod" ? RunPod.make(options) : name === "lambda" ? Lambda.make(options) : Vast.make(options)
  )
}

const decodeOffer = Schema.decodeUnknownEither(Provider.OfferAnswer)
const decodeInstance = Schema.decodeUnknownEither(Provider.InstanceAnswer)
const decodeCreated = Schema.decodeUnknownEither(Provider.CreatedAnswer)

/**
 * A client whose answers pass the provider boundary's schemas: an offer that does not decode is left out, an
 * instance or a creation that does not is a failure of the provider (never a value used further).
 */
export const checked = (client: Provider.Provider): Provider.Provider => {
  const unreadable = (what: string, error: ParseResult.ParseError) =>
    new Provider.ProviderUnavailable({
      provider: client.name,
      status: null,
      // the field that did not fit, never the provider's value itself
      why: `${what} could not be read (at ${ParseResult.ArrayFormatter.formatErrorSync(error)[0]?.path.join(".") || "the top"})`
    })
  const instance = (what: string, value: Provider.Instance) => {
    const decoded = decodeInstance(value)
    return decoded._tag === "Right" ? Effect.succeed(decoded.right) : Effect.fail(unreadable(what, decoded.left))
  }
  return {
    ...client,
    offers: (q) =>
      Effect.map(client.offers(q), (offers) =>
        offers.flatMap((o) => {
          const decoded = decodeOffer(o)
          return decoded._tag === "Right" ? [decoded.right] : []
        })
      ),
    create: (request) =>
      Effect.flatMap(client.create(request), (created) => {
        const decoded = decodeCreated(created)
        return decoded._tag === "Right"
          ? Effect.succeed(decoded.right)
          : Effect.fail(unreadable("the created instance", decoded.left))
      }),
    get: (id) =>
      Effect.flatMap(client.get(id), (found) =>
        found === undefined ? Effect.succeed(undefined) : instance(`instance "${id}"`, found)
      ),
    list: (prefix) =>
      Effect.flatMap(client.list(prefix), (all) => Effect.forEach(all, (i) => instance("the instance list", i)))
  }
}

/** Whether a key is known for a provider (given, or in its environment variable). */
export const hasKey = (name: Provider.ProviderName, settings: Settings = {}): boolean =>
  (settings.keys?.[name] ?? process.env[Provider.keyVariable(name)] ?? "") !== ""

/** What the providers offer for a query, cheapest first, and the errors of those that failed. */
export const offers = (q: Provider.GpuQuery, settings: Settings = {}) =>
  Effect.gen(function* () {
    const asked = q.providers.filter((p) => hasKey(p, settings))
    const skipped = q.providers.filter((p) => !hasKey(p, settings))
    const results = yield* Effect.forEach(asked, (name) => Effect.either(make(name, settings).offers(q)), {
      concurrency: "unbounded"
    })
    const found: Array<Provider.Offer> = []
    const errors: Array<Provider.ProviderError> = []
    for (const r of results) {
      if (r._tag === "Right") found.push(...r.right)
      else errors.push(r.left)
    }
    return { offers: Provider.sortOffers(found, q.providers), errors, skipped }
  })
