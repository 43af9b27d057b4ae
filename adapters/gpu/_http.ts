// The HTTP call every provider client makes: Bearer auth, JSON both ways, a deadline, and the retry policy of
// PROVIDERS.md — 429 honours Retry-After (exponential back-off when there is none, as with Vast), 5xx and network
// failures are retried, everything else is classified once and handed to the client.
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import { untrustedText } from "../../core/errors.ts"
import * as Provider from "../../core/provider.ts"

/** An answer that is not a failure of the transport: the client decides what its status means. */
export interface Answer {
  readonly status: number
  readonly body: any
  readonly headers: Headers
}

/** How hard to retry; tests shorten the back-off with JOBS_GPU_RETRY_BASE_MS. */
export interface RetryPolicy {
  readonly baseMs: number
  readonly times: number
  readonly maxDelayMs: number
}

export const defaultPolicy = (): RetryPolicy => ({
  baseMs: Number(process.env.JOBS_GPU_RETRY_BASE_MS ?? 1000) || 1000,
  times: 6,
  maxDelayMs: 60_000
})

/** Milliseconds in a Retry-After header (seconds or an HTTP date), or null. */
export const retryAfterMs = (value: string | null, now = Date.now()): number | null => {
  if (value === null || value.trim() === "") return null
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value) * 1000)
  const at = Date.parse(value)
  return Number.isNaN(at) ? null : Math.max(0, at - now)
}

const retryable = (e: Provider.ProviderError) =>
  e._tag === "RateLimited" || (e._tag === "ProviderUnavailable" && (e.status === null || e.status >= 500))

/** The retry schedule: only for 429 and 5xx/network; Retry-After when given, else exponential. */
export const schedule = (policy: RetryPolicy) =>
  Schedule.recurWhile<Provider.ProviderError>(retryable).pipe(
    Schedule.intersect(Schedule.exponential(Duration.millis(policy.baseMs))),
    Schedule.intersect(Schedule.recurs(policy.times)),
    Schedule.modifyDelay(([[error]], delay) => {
      const wanted =
        error._tag === "RateLimited" && error.retryAfterMs !== null ? Duration.millis(error.retryAfterMs) : delay
      return Duration.min(wanted, Duration.millis(policy.maxDelayMs))
    })
  )

/**
 * The text of a provider's error body: RFC 9457 (RunPod), `{error:{code,message}}` (Lambda), `{error,msg}` (Vast).
 * It is the provider's text: no control characters, bounded, before it goes into a message or an event.
 */
export const errorText = (body: any): string => untrustedText(rawErrorText(body), 300)

const rawErrorText = (body: any): string => {
  if (body === null || body === undefined) return "no details"
  if (typeof body === "string") return body.slice(0, 200) || "no details"
  if (typeof body !== "object") return String(body)
  if (typeof body.detail === "string") return body.detail
  if (typeof body.error === "object" && body.error !== null)
    return [body.error.code, body.error.message].filter(Boolean).join(": ")
  if (typeof body.msg === "string") return body.error === undefined ? body.msg : `${body.error}: ${body.msg}`
  if (typeof body.error === "string") return body.error
  if (typeof body.title === "string") return body.title
  return JSON.stringify(body).slice(0, 200)
}

/** One request, retried per the policy. 401/403 → AuthFailed, 402 → PaymentRequired; other statuses are answers. */
export const request = (options: {
  readonly provider: Provider.ProviderName
  readonly method: string
  readonly url: string
  readonly key: string
  readonly body?: unknown
  readonly policy?: RetryPolicy
  readonly timeoutMs?: number
}): Effect.Effect<Answer, Provider.ProviderError> => {
  const { provider } = options
  const once: Effect.Effect<Answer, Provider.ProviderError> = Effect.tryPromise({
    try: async (signal) => {
      const response = await fetch(options.url, {
        method: options.method,
        headers: {
          authorization: `Bearer ${options.key}`,
          accept: "application/json",
          ...(options.body === undefined ? {} : { "content-type": "application/json" })
        },
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
        signal: AbortSignal.any([signal, AbortSignal.timeout(options.timeoutMs ?? 30_000)])
      })
      const text = await response.text()
      let body: unknown = text
      try {
        body = text === "" ? null : JSON.parse(text)
      } catch {
        body = text
      }
      return { status: response.status, body, headers: response.headers }
    },
    catch: (e) =>
      new Provider.ProviderUnavailable({
        provider,
        status: null,
        why: `${options.method} ${new URL(options.url).pathname} failed: ${e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e)}`
      })
  }).pipe(
    Effect.flatMap((answer): Effect.Effect<Answer, Provider.ProviderError> => {
      const { status } = answer
      if (status === 401 || status === 403)
        return Effect.fail(new Provider.AuthFailed({ provider, status, why: errorText(answer.body) }))
      if (status === 402) return Effect.fail(new Provider.PaymentRequired({ provider, why: errorText(answer.body) }))
      if (status === 429)
        return Effect.fail(
          new Provider.RateLimited({ provider, retryAfterMs: retryAfterMs(answer.headers.get("retry-after")) })
        )
      if (status >= 500)
        return Effect.fail(new Provider.ProviderUnavailable({ provider, status, why: errorText(answer.body) }))
      return Effect.succeed(answer)
    })
  )
  return Effect.retry(once, schedule(options.policy ?? defaultPolicy()))
}

/** A status the client did not expect, as an error. */
export const unexpected = (provider: Provider.ProviderName, what: string, answer: Answer) =>
  new Provider.ProviderUnavailable({ provider, status: answer.status, why: `${what}: ${errorText(answer.body)}` })

/** The API key of a provider from the environment, or an AuthFailed that names the variable. */
export const keyFrom = (
  provider: Provider.ProviderName,
  env: Readonly<Record<string, string | undefined>> = process.env
): Effect.Effect<string, Provider.AuthFailed> => {
  const key = env[Provider.keyVariable(provider)]
  return key === undefined || key === ""
    ? Effect.fail(new Provider.AuthFailed({ provider, status: 0, why: `${Provider.keyVariable(provider)} is not set` }))
    : Effect.succeed(key)
}

/** A base URL without its trailing slash. */
export const trimUrl = (url: string) => url.replace(/\/+$/, "")
