// A kernel BUG_ON / BUG() in the model is not a crash: it unwinds (rarely, so an exception is
// fine — design notes §5) to the operation boundary, which turns it into an Oops outcome with the
// condition and the simulated call chain. print_bad_pte and friends are reports, not unwinds.

export class KernelBug extends Error {
  constructor(readonly condition: string, readonly chain: string[]) {
    super(`kernel BUG: ${condition}`);
  }
}

/** Bad input to the machine (config, plugin, arguments): names the field. */
export class ConfigError extends Error {
  constructor(message: string, readonly field: string) {
    super(message);
  }
}
