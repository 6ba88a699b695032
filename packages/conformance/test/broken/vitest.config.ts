import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: { include: ['**/*.conformance.ts'], testTimeout: 60_000 },
})
