export { CliError, ExitCode } from './exit-codes.js'
export { createProgram, run } from './program.js'
export { colorsFor, processTerminal, type Terminal } from './terminal.js'
