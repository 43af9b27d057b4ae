// The GPU query from command-line flags, shared by `jobs gpu offers` and `jobs run --gpu` (no HTTP here: `run`
// loads this without the provider clients).
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { InvalidInput } from "../core/errors.ts"
import * as Provider from "../core/provider.ts"

/** The flags that make a query; each optional. */
export interface QueryFlags {
  readonly type: Option.Option<string>
  readonly count: Option.Option<string>
  readonly maxPrice: Option.Option<string>
  readonly minVram: Option.Option<string>
  readonly cloud: Option.Option<string>
  readonly minCuda: Option.Option<string>
  readonly provider: Option.Option<string>
  readonly containerDisk?: Option.Option<string>
  readonly volumeDisk?: Option.Option<string>
}

const number = (flag: string, value: Option.Option<string>, check: (n: number) => boolean, hint: string) =>
  Option.match(value, {
    onNone: () => Effect.succeed(undefined),
    onSome: (text) => {
      const n = Number(text)
      return text.trim() !== "" && Number.isFinite(n) && check(n)
        ? Effect.succeed(n)
        : Effect.fail(new InvalidInput({ message: `Cannot parse --${flag} "${text}": ${hint}` }))
    }
  })

/** The providers of `--provider a,b` (in that order of preference), or every provider. */
export const providersFlag = (value: Option.Option<string>) =>
  Option.match(value, {
    onNone: () => Effect.succeed([...Provider.PROVIDERS]),
    onSome: (text) => {
      const names = text
        .split(",")
        .map((s) => s.trim().toLowerCase())
        .filter((s) => s !== "")
      const bad = names.find((n) => !Provider.isProviderName(n))
      return bad !== undefined || names.length === 0
        ? Effect.fail(
            new InvalidInput({
              message: `Cannot use provider "${bad ?? text}": use one or more of ${Provider.PROVIDERS.join(", ")}`
            })
          )
        : Effect.succeed([...new Set(names)] as Array<Provider.ProviderName>)
    }
  })

/** The query the flags describe, with the seed's defaults for the rest. */
export const toQuery = Effect.fn("jobs.gpu.query")(function* (flags: QueryFlags) {
  const count = yield* number("count", flags.count, (n) => Number.isInteger(n) && n >= 1 && n <= 64, "use 1 to 64")
  const maxPrice = yield* number("max-price", flags.maxPrice, (n) => n > 0, "use dollars per GPU per hour, such as 2.5")
  const minVramGb = yield* number("min-vram", flags.minVram, (n) => n > 0, "use gigabytes per GPU, such as 40")
  const containerDiskGb = yield* number(
    "container-disk",
    flags.containerDisk ?? Option.none(),
    (n) => Number.isInteger(n) && n >= 1,
    "use whole gigabytes"
  )
  const volumeDiskGb = yield* number(
    "volume-disk",
    flags.volumeDisk ?? Option.none(),
    (n) => Number.isInteger(n) && n >= 0,
    "use whole gigabytes"
  )
  const cloud = Option.getOrElse(flags.cloud, () => "secure").toLowerCase()
  if (cloud !== "secure" && cloud !== "community") {
    return yield* new InvalidInput({ message: `Cannot use cloud "${cloud}": use secure or community` })
  }
  const minCuda = Option.getOrElse(flags.minCuda, () => "12.0")
  if (!/^\d+\.\d+$/.test(minCuda)) {
    return yield* new InvalidInput({ message: `Cannot parse --min-cuda "${minCuda}": use major.minor, such as 12.0` })
  }
  return Provider.query({
    type: Option.getOrUndefined(flags.type),
    ...(count === undefined ? {} : { count }),
    maxPrice,
    minVramGb,
    cloudType: cloud,
    minCuda,
    ...(containerDiskGb === undefined ? {} : { containerDiskGb }),
    ...(volumeDiskGb === undefined ? {} : { volumeDiskGb }),
    providers: yield* providersFlag(flags.provider)
  })
})
