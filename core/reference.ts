// Resolving what a user typed to one job id (DESIGN §4a): exact id, exact short id, exact name (the newest job of
// that name; `name~N` the Nth before it), unique prefix.
import * as Ids from "./ids.ts"

/** A job as far as resolution needs to know it. */
export interface Candidate {
  readonly id: string
  readonly name: string | null
}

/** The outcome of a resolution. */
export type Resolution =
  | { readonly _tag: "Found"; readonly id: string }
  | { readonly _tag: "NotFound" }
  | { readonly _tag: "Ambiguous"; readonly candidates: ReadonlyArray<string> }

/** The ids of the jobs of a name, newest first (ids are time-sortable). */
const newestFirst = (candidates: ReadonlyArray<Candidate>, name: string): Array<string> =>
  candidates
    .filter((c) => c.name === name)
    .map((c) => c.id)
    .sort()
    .reverse()

/** The shortest prefix length accepted. */
export const MIN_PREFIX = 4

/**
 * Resolves a reference against ids (cheap) and, only when needed, names (`names` is called lazily, as reading
 * them costs a read per job). Several jobs of one name are no ambiguity: the name is the newest of them.
 *
 * @example
 * Reference.resolve("3k9x", ids, () => candidates) // { _tag: "Found", id: "01J...3K9X..." }
 */
export const resolve = (
  reference: string,
  ids: ReadonlyArray<string>,
  names: () => ReadonlyArray<Candidate>
): Resolution => {
  const upper = reference.toUpperCase()
  if (ids.includes(upper) && Ids.isId(upper)) return { _tag: "Found", id: upper }
  const lower = reference.toLowerCase()
  const byShort = ids.filter((id) => Ids.shortId(id) === lower)
  if (byShort.length === 1) return { _tag: "Found", id: byShort[0]! }
  if (byShort.length > 1) return { _tag: "Ambiguous", candidates: byShort }
  // a name is the newest job of that name (a retry or a second run of it makes a newer one); `name~N` the Nth before
  const all = names()
  const byName = newestFirst(all, reference)
  if (byName.length > 0) return { _tag: "Found", id: byName[0]! }
  const older = /^(.+)~(\d{1,6})$/.exec(reference)
  if (older !== null) {
    const nth = newestFirst(all, older[1]!)[Number(older[2])]
    if (nth !== undefined) return { _tag: "Found", id: nth }
    if (all.some((c) => c.name === older[1])) return { _tag: "NotFound" }
  }
  if (reference.length >= MIN_PREFIX) {
    const byPrefix = ids.filter((id) => Ids.shortId(id).startsWith(lower) || id.startsWith(upper))
    if (byPrefix.length === 1) return { _tag: "Found", id: byPrefix[0]! }
    if (byPrefix.length > 1) return { _tag: "Ambiguous", candidates: byPrefix }
  }
  return { _tag: "NotFound" }
}
