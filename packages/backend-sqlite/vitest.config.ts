import { defineProject } from 'vitest/config'

export default defineProject({
  test: { name: 'backend-sqlite', include: ['test/**/*.test.ts'] },
})
