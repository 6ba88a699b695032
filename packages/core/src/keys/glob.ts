/**
 * Compiles a glob pattern (Redis `KEYS` syntax) into an anchored regular expression:
 * `*` any run, `?` one character, `[abc]`, `[^a]` / `[!a]`, `[a-z]` classes, `\x` a literal `x`.
 * Everything else is literal, including regular-expression syntax such as `.` or `(`.
 */
export function globToRegExp(pattern: string): RegExp {
  let source = '^'
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!
    if (c === '*') source += '[\\s\\S]*'
    else if (c === '?') source += '[\\s\\S]'
    else if (c === '\\' && i + 1 < pattern.length) source += escapeRegExp(pattern[++i]!)
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2)
      if (end < 0) {
        source += '\\['
        continue
      }
      let body = pattern.slice(i + 1, end)
      let negate = false
      if (body[0] === '^' || body[0] === '!') {
        negate = true
        body = body.slice(1)
      }
      const escaped = body.replace(/[\\\]^]/g, (m) => `\\${m}`)
      source += `[${negate ? '^' : ''}${escaped}]`
      i = end
    } else source += escapeRegExp(c)
  }
  return new RegExp(`${source}$`)
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')
}
