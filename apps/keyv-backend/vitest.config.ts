import { defineProject } from 'vitest/config'

export default defineProject({
  test: { name: 'backend-keyv', include: ['test/**/*.test.ts'] },
})
