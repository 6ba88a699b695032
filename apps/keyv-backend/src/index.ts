// #region index
export { KeyvBackend } from './keyv-backend.js'
export type { KeyvBackendOptions } from './keyv-backend-options.js'
// #endregion index
