export { estimateSize, hiddenBytes } from './estimate-size.js'
export { MemoryBackend, type MemoryBackendOptions } from './memory-backend.js'
