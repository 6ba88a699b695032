/** Commands whose arguments carry a password: `AUTH [user] password`, `HELLO 3 AUTH user password`. */
const WITH_CREDENTIALS = new Set(['auth', 'hello'])

/**
 * Hides the arguments of a failed command that carried credentials. ioredis attaches the command to its
 * reply errors (`command: { name: 'auth', args: [user, password] }`), and such an error becomes the
 * `cause` of ours, which ends up in logs and in `error` events: a wrong password would be logged in
 * clear. Returns the same error, changed in place (it was made for this one failed command).
 *
 * @example
 * hideCommandCredentials(replyError).command // { name: 'auth', args: ['***', '***'] }
 */
export function hideCommandCredentials<E>(error: E): E {
  const command = (error as { command?: { name?: unknown; args?: unknown } } | null)?.command
  if (
    command !== null &&
    typeof command === 'object' &&
    typeof command.name === 'string' &&
    WITH_CREDENTIALS.has(command.name.toLowerCase()) &&
    Array.isArray(command.args)
  ) {
    Object.defineProperty(error, 'command', {
      value: { name: command.name, args: command.args.map(() => '***') },
      enumerable: true,
      configurable: true,
      writable: true,
    })
  }
  return error
}
