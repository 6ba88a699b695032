import { runBackendConformance } from '../src/index.js'
import { SyncBytesBackend } from './fixtures/sync-bytes-backend.js'

// Local coordination over bytes (like SQLite `:memory:`): checksums and stamps must still tell one
// argument's entry from another's. Written against contract version 1: the bridge keeps it working.
runBackendConformance({ name: 'sync bytes (contract v1)', create: () => new SyncBytesBackend() })
