// @mixedmap/bench — the mixedmap-bench command (bin/mixedmap-bench.js imports this).
import { main } from './cli.js';

export { main, parseArgs, HELP } from './cli.js';
export type * from './api.js';
export { defineBenchFile } from './api.js';
export type * from './results.js';

const isMain = process.argv[1] !== undefined && /mixedmap-bench(\.js)?$|apps\/bench\/dist\/index\.js$/.test(process.argv[1]);
if (isMain) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`mixedmap-bench: ${(e as Error).stack ?? e}\n`);
      process.exit(1);
    },
  );
}
