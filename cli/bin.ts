// The `jobs` executable: runs one invocation and exits with its code.
import pkg from "../package.json" with { type: "json" }
import { main } from "./main.ts"

main(process.argv.slice(2), pkg.version).then((code) => {
  process.exit(code)
})
