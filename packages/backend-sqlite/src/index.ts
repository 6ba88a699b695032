export { defaultDatabasePath } from './default-path.js'
export type { SweepReport } from './housekeeping.js'
export { SCHEMA_VERSION } from './schema.js'
export { SqliteBackend, type SqliteBackendOptions } from './sqlite-backend.js'
