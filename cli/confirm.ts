// Asking the person at the terminal a yes/no question (only when there is one: callers check `canAsk` first).
import * as Readline from "node:readline"
import * as Effect from "effect/Effect"

/** Whether a question can be asked: stdin and stderr are a terminal. */
export const canAsk = (): boolean => process.stdin.isTTY === true && process.stderr.isTTY === true

/** Asks `question [y/N]` on stderr; true only for an answer starting with y. */
export const ask = (question: string): Effect.Effect<boolean> =>
  Effect.async<boolean>((resume) => {
    const rl = Readline.createInterface({ input: process.stdin, output: process.stderr })
    rl.question(`${question} [y/N] `, (answer) => {
      rl.close()
      resume(Effect.succeed(/^\s*y/i.test(answer)))
    })
    return Effect.sync(() => rl.close())
  })
