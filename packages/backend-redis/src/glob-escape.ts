/**
 * Escapes text for a Redis `MATCH` pattern, so that characters from user data (`*`, `?`, `[`, `]`, `\`)
 * match themselves instead of acting as wildcards.
 */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&')
}
