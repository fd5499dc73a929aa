/** Jest `globalTeardown`: stops containers started by the global setup (nothing to stop for local servers). */
export default async function globalTeardown(): Promise<void> {
  await globalThis.__TEST_INFRASTRUCTURE__?.stop();
}
