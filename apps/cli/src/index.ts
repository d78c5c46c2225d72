// mixedmap CLI entry: run main() and print its fully built output in one piece. Only the progress
// bar of a long matrix run is written while it runs, to stderr, and only when stderr is a terminal.
import { main, progressBar } from './cli.js';

const color = process.env.FORCE_COLOR !== undefined ? process.env.FORCE_COLOR !== '0' : !!process.stdout.isTTY && process.env.NO_COLOR === undefined;
const err = process.stderr;
const progress = err.isTTY
  ? (done: number, total: number): void => {
      err.write(`\r${progressBar(done, total)} combinations`);
      if (done >= total) err.write('\r\u001b[2K');
    }
  : undefined;

const exploreProgress = err.isTTY
  ? (states: number, frontier: number): void => {
      err.write(`\r\u001b[2Kexploring: ${states} states, ${frontier} to expand`);
    }
  : undefined;

// A plugin module whose top-level await never settles leaves nothing to run: Node would exit 13
// without a word. Say what happened, as bad input (the plugin).
let finished = false;
process.on('exit', (code) => {
  if (finished || (code !== 13 && process.exitCode !== 13)) return;
  process.stderr.write('mixedmap: a plugin module never finished loading (its top-level await never settles)\n');
  process.exitCode = 2;
});

// A reader that stops early (`mixedmap run … | head`) closes the pipe: that is not an error of
// the run, and must not end in Node's unhandled-'error' stack trace.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code !== 'EPIPE') throw e;
  finished = true;
  process.exit(process.exitCode ?? 0);
});

const out = await main(process.argv.slice(2), { color, ...(progress ? { progress } : {}), ...(exploreProgress ? { exploreProgress } : {}) });
if (exploreProgress) err.write('\r\u001b[2K');
if (out.stdout) process.stdout.write(out.stdout);
if (out.stderr) process.stderr.write(out.stderr);
process.exitCode = out.code;
finished = true;
