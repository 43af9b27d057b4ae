// The provider clients by name, and the offers of several providers at once, cheapest first.
import * as Effect from "effect/Effect"
import * as Provider from "../../core/provider.ts"
import * as Lambda from "./lambda.ts"
import * as RunPod from "./runpod.ts"
import * as Vast from "./vast.ts"

/** Base URLs and keys (each falls back to its environment variable). */
export interface Settings {
  readonly urls?: Partial<Record<Provider.ProviderName, string>>
  readonly keys?: Partial<Record<Provider.ProviderName, string>>
}

/** The client of a provider. */
export const make = (name: Provider.ProviderName, settings: Settings = {}): Provider.Provider => {
  const options = { baseUrl: settings.urls?.[name], key: settings.keys?.[name] }
  return name === "runpod" ? RunPod.make(options) : name === "lambda" ? Lambda.make(options) : Vast.make(options)
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
