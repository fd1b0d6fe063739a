/**
 * CPU milliseconds of the fastest of `runs` calls. CPU time rather than wall time, and the best of
 * several, so a busy machine (other test workers, other processes) does not fail a test about
 * algorithmic cost; the first call also pays for JIT compilation.
 */
export function fastestCpuMs(fn: () => unknown, runs = 3): number {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const before = process.cpuUsage();
    fn();
    const used = process.cpuUsage(before);
    best = Math.min(best, (used.user + used.system) / 1000);
  }
  return best;
}
