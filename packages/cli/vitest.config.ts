import { defineProject } from 'vitest/config'

export default defineProject({
  test: {
    name: 'cli',
    include: ['test/**/*.test.ts'],
    // The tests run the built command (dist/bin.js) as a person or a script would: build it first.
    globalSetup: ['test/support/build-cli.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
})
