// Text imports of non-code files (the supervisor script): vitest resolves `?raw`, the build inlines it.
declare module "*?raw" {
  const text: string
  export default text
}
