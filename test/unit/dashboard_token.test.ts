// The dashboard's secrets: which tokens are strong enough for a non-loopback address, and login codes that work once.

import * as Crypto from "node:crypto"
import { describe, expect, it } from "@effect/vitest"
import { isStrongToken, loginCodes } from "../../adapters/dashboard.ts"

describe("isStrongToken", () => {
  it("takes what the usual generators make, every time", () => {
    for (let i = 0; i < 2000; i++) {
      const bytes = Crypto.randomBytes(16)
      expect(isStrongToken(bytes.toString("hex"))).toBe(true) // openssl rand -hex 16
      expect(isStrongToken(bytes.toString("hex").toUpperCase())).toBe(true)
      expect(isStrongToken(bytes.toString("base64"))).toBe(true) // openssl rand -base64 16 (with ==)
      expect(isStrongToken(bytes.toString("base64url"))).toBe(true)
    }
  })

  it("refuses short, repeated and sequential tokens", () => {
    for (const weak of [
      "",
      "x",
      "hunter2",
      Crypto.randomBytes(15).toString("hex"), // 120 bits
      Crypto.randomBytes(15).toString("base64url").slice(0, 21),
      "a".repeat(64),
      "ab".repeat(16),
      "deadbeef".repeat(4),
      "0123456789abcdef0123456789abcdef",
      "abcdefghijklmnopqrstuvwxyz",
      "password1password1password1"
    ])
      expect(isStrongToken(weak), weak).toBe(false)
  })
})

describe("loginCodes", () => {
  it("swaps a code once, and never one it did not issue", () => {
    const codes = loginCodes()
    const code = codes.issue()
    expect(code).toMatch(/^[0-9a-f]{32}$/)
    expect(codes.redeem("0".repeat(32))).toBe(false)
    expect(codes.redeem(code)).toBe(true)
    expect(codes.redeem(code)).toBe(false)
  })

  it("forgets a code once its time is up", async () => {
    const codes = loginCodes(1)
    const code = codes.issue()
    await new Promise((r) => setTimeout(r, 20))
    expect(codes.redeem(code)).toBe(false)
  })
})
