// A provider's API answers are untrusted: what a client hands on is decoded at the Provider port, and provider text
// reaches no message or event with its control characters.
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { errorText } from "../../adapters/gpu/_http.ts"
import { checked } from "../../adapters/gpu/providers.ts"
import { untrustedText } from "../../core/errors.ts"
import type * as Provider from "../../core/provider.ts"

const offer: Provider.Offer = {
  provider: "vast",
  id: "4242",
  gpuType: "A100",
  gpuCount: 1,
  vramGb: 80,
  cuda: "12.4",
  cloudType: "community",
  pricePerGpu: 1.2,
  priceTotal: 1.2,
  region: null
}
const instance: Provider.Instance = {
  provider: "vast",
  id: "777",
  name: "jobs-01JAAAAAAAAAAAAAAAAAAAAAAA",
  state: "running",
  providerState: "running",
  ssh: { host: "10.0.0.7", port: 22022, user: "root" },
  pricePerHour: 1.2
}

/** A client that answers what a hostile or broken API could make it answer. */
const answering = (answers: { offers?: Array<unknown>; instance?: unknown; created?: unknown }): Provider.Provider =>
  ({
    name: "vast",
    baseUrl: "http://127.0.0.1:1",
    selfEnd: "vast-api",
    offers: () => Effect.succeed(answers.offers ?? []),
    create: () => Effect.succeed(answers.created),
    get: () => Effect.succeed(answers.instance),
    terminate: () => Effect.void,
    list: () => Effect.succeed(answers.instance === undefined ? [] : [answers.instance])
  }) as unknown as Provider.Provider

describe("Providers.checked", () => {
  it.effect("keeps good answers as they are", () =>
    Effect.gen(function* () {
      const client = checked(answering({ offers: [offer], instance, created: { id: "777", instanceKey: "k3y" } }))
      expect(yield* client.offers({} as Provider.GpuQuery)).toEqual([offer])
      expect(yield* client.get("777")).toEqual(instance)
      expect(yield* client.list("jobs-")).toEqual([instance])
    })
  )

  it.effect("leaves out offers that do not decode, and fails on an instance or creation that does not", () =>
    Effect.gen(function* () {
      const bad = [
        { ...offer, pricePerGpu: -1 },
        { ...offer, priceTotal: Number.POSITIVE_INFINITY },
        { ...offer, id: "a\nb" },
        { ...offer, gpuCount: 0.5 }
      ]
      expect(yield* checked(answering({ offers: [...bad, offer] })).offers({} as Provider.GpuQuery)).toEqual([offer])
      for (const hostile of [
        { ...instance, id: "777; rm -rf ~" },
        { ...instance, ssh: { host: "-oProxyCommand=sh", port: 22, user: "root" } },
        { ...instance, ssh: { host: "10.0.0.7", port: 70000, user: "root" } },
        { ...instance, ssh: { host: "10.0.0.7", port: 22, user: "root$(id)" } },
        { ...instance, name: "\x1b]0;x\x07" }
      ]) {
        const error = yield* Effect.flip(checked(answering({ instance: hostile })).get("777"))
        expect(error._tag).toBe("ProviderUnavailable")
        // the message names the field, never the provider's value
        expect(error.message).not.toMatch(/rm -rf|ProxyCommand|\$\(id\)|\x1b/)
      }
      const created = yield* Effect.flip(
        checked(answering({ created: { id: "../../x", instanceKey: null } })).create({} as Provider.CreateRequest)
      )
      expect(created._tag).toBe("ProviderUnavailable")
    })
  )
})

describe("untrusted text", () => {
  it("loses its control characters and its length", () => {
    expect(untrustedText("\x1b]0;pwned\x07disk full")).toBe("?]0;pwned?disk full")
    expect(untrustedText("x".repeat(1000), 10)).toHaveLength(10)
    expect(errorText({ detail: "\x1b[2Jno capacity" })).toBe("?[2Jno capacity")
  })
})
