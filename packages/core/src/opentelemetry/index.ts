/**
 * `@rapide/core/opentelemetry`: OpenTelemetry spans and metrics for rapide caches. A separate entry
 * point so that `@opentelemetry/api` (an optional peer dependency) is loaded only by those who use it.
 */
export { errorType } from './error-type.js'
export * from './names.js'
export { INSTRUMENTATION_SCOPE, type OpenTelemetryOptions, openTelemetry } from './open-telemetry.js'
