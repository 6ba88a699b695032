import { defineProject } from 'vitest/config'

export default defineProject({
  test: { name: 'backend-memory', include: ['test/**/*.test.ts'] },
})
