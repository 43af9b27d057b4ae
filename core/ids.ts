// Job ids: ULIDs (time-sortable), and the short id people type.
import * as Crypto from "node:crypto"

const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

/**
 * A new ULID: 10 characters of millisecond time, then 16 random ones.
 *
 * @example
 * Ids.make() // "01JD7X4ZK3M0Q8V2N6R5T1W9YH"
 */
export const make = (now: number = Date.now()): string => {
  let time = ""
  let t = now
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time
    t = Math.floor(t / 32)
  }
  const random = Crypto.randomBytes(16)
  let rest = ""
  for (let i = 0; i < 16; i++) rest += ALPHABET[random[i]! & 31]
  return time + rest
}

/** The last 8 characters of an id, lowercased: the random part, so jobs of the same minute differ. */
export const shortId = (id: string): string => id.slice(-8).toLowerCase()

/** How messages name a job: `name (shortid)`, or the short id alone for a job without a name. */
export const label = (id: string, name: string | null | undefined): string =>
  name == null ? shortId(id) : `${name} (${shortId(id)})`

/** Whether a string has the shape of a ULID. */
export const isId = (s: string): boolean => /^[0-9A-HJKMNP-TV-Z]{26}$/.test(s)

/** The creation time encoded in a ULID, in milliseconds. */
export const time = (id: string): number => {
  let t = 0
  for (let i = 0; i < 10; i++) t = t * 32 + ALPHABET.indexOf(id[i]!)
  return t
}
