// mixedmap CLI entry: run main() and print its fully built output in one piece.
import { main } from './cli.js';

const out = await main(process.argv.slice(2));
if (out.stdout) process.stdout.write(out.stdout);
if (out.stderr) process.stderr.write(out.stderr);
process.exitCode = out.code;
