/**
 * Two transactions editing the same rows in different orders (a syndicated story shared by two
 * feeds, a host pause crossing a batch of feed updates) can deadlock or hit a serialization
 * failure; PostgreSQL aborts one of them, which is safe to run again.
 */
export async function retryOnConflict<T>(fn: () => Promise<T>, attempts = 3): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (i >= attempts || (code !== '40P01' && code !== '40001')) throw err;
      await new Promise((r) => setTimeout(r, 20 * i + Math.random() * 50));
    }
  }
}
