import { runBackendConformance } from '../src/index.js'
import { SyncBytesBackend } from './fixtures/sync-bytes-backend.js'

// Local coordination over bytes (like SQLite `:memory:`): checksums and stamps must still tell one
// argument's entry from another's.
runBackendConformance({ name: 'sync bytes', create: () => new SyncBytesBackend() })
