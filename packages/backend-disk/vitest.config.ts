import { defineProject } from 'vitest/config'

export default defineProject({
  test: { name: 'backend-disk', include: ['test/**/*.test.ts'] },
})
