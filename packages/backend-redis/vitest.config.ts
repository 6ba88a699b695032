import { defineProject } from 'vitest/config'

export default defineProject({
  test: {
    name: 'backend-redis',
    include: ['test/**/*.test.ts'],
    // The servers (a standalone Redis and a 3-master cluster) are started once for every test file.
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 60_000,
  },
})
