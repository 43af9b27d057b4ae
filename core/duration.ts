// Durations as people type them: 90s, 30m, 2h, 7d, 1h30m, or a bare number of seconds.

const UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400, w: 604800 }

/**
 * Seconds in a duration string, or undefined when it is not one.
 *
 * @example
 * Duration.parseSeconds("1h30m") // 5400
 */
export const parseSeconds = (text: string): number | undefined => {
  const s = text.trim()
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s)
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/gy
  let total = 0
  let matched = 0
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    total += Number(m[1]) * UNITS[m[2]!]!
    matched = re.lastIndex
  }
  return matched > 0 && matched === s.length ? total : undefined
}

const BYTES: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kb: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3
}

/**
 * Bytes in a size such as 100M, 512k, 2G or 1048576 (binary units), or undefined when it is not one.
 *
 * @example
 * Duration.parseBytes("100M") // 104857600
 */
export const parseBytes = (text: string): number | undefined => {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim())
  const unit = m === null ? undefined : BYTES[m[2]!.toLowerCase()]
  return m === null || unit === undefined ? undefined : Math.floor(Number(m[1]) * unit)
}

/** A compact human form: 45s, 3m12s, 2h05m, 3d4h. */
export const format = (secs: number): string => {
  const s = Math.max(0, Math.round(secs))
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`
}
