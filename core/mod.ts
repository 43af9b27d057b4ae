// The domain of jobs: spec and state, the fold, ids and references, the JobStore and Jobs services, the
// Executor port.

/**
 * Where a job runs: a cwd settled once to the real path of an existing directory (a relative one only with a base).
 *
 * @example
 * const cwd = yield* Cwd.resolve("build", process.cwd())
 */
export * as Cwd from "./cwd.ts"
/** Durations such as 90s, 30m, 2h. */
export * as Duration from "./duration.ts"
/** The env file format. */
export * as EnvFile from "./env_file.ts"
/** The domain's errors. */
export * from "./errors.ts"
/** The Executor port and the Executors registry. */
export * as Executor from "./executor.ts"
/**
 * The all-jobs feed: every job's events with a cursor each, resumable, new jobs included (`Jobs.feed`).
 *
 * @example
 * const since = yield* Feed.parseSince(savedCursor)
 * yield* Stream.runForEach(jobs.feed({ follow: true, since }), (item) => save(item.cursor))
 */
export * as Feed from "./feed.ts"
/** The home's layout on disk. */
export * as Home from "./home.ts"
/** ULIDs and short ids. */
export * as Ids from "./ids.ts"
/** A job's state as a pure fold over its events, the statuses, and the job object. */
export * as JobState from "./job_state.ts"
/** The JobStore service: a home's folders and files. */
export * as JobStore from "./job_store.ts"
/**
 * The Jobs service: submit, get, list, stop, wait, retry, remove, clean, and Streams of events and output.
 *
 * @example
 * const { job } = yield* (yield* Jobs.Jobs).submit({ command: ["make"], cwd: process.cwd() })
 */
export * as Jobs from "./jobs.ts"
/** Project detection (git root, else cwd). */
export * as Project from "./project.ts"
/**
 * The GPU Provider port: the query (type, count, maxPrice per GPU per hour, ...), offers with per-GPU and total
 * prices, instances, and the typed errors (NoCapacity, AuthFailed, PaymentRequired, RateLimited, ProviderUnavailable).
 *
 * @example
 * const q = Provider.query({ type: "A100", count: 2, maxPrice: 3 })
 */
export * as Provider from "./provider.ts"
/** Resolving a reference (id, short id, name, prefix) to one job. */
export * as Reference from "./reference.ts"
/**
 * The umask a job's command runs under: the submitter's, recorded in the spec.
 *
 * @example
 * Umask.current() // "0022"
 */
export * as Umask from "./umask.ts"
